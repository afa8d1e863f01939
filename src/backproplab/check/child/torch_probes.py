"""Child-side probes for ``purdue-pytorch-ann`` and ``purdue-pytorch-cnn``.

They run inside the student's process (see ``main.py``) and hold no expected value: each takes the
student's module and the parent's inputs and returns arrays, numbers and strings. The helpers that
describe a model (:func:`layout`) are also imported by the parent, to describe the reference the
same way.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import traceback

import numpy as np
import torch
from torch import nn

STATE: dict = {}
MEAN, STD = 0.1307, 0.3081


def setup() -> None:
    torch.set_num_threads(1)
    # torch's optimizers import torch._dynamo on their first construction (1.5 s): once here, before
    # the fork, not once in every graded child.
    importlib.import_module("torch._dynamo")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401 - imported before the guard goes up


def load_inputs(path: str) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _padding(conv: nn.Conv2d) -> list[int] | str:
    """A Conv2d's padding as numbers; ``'same'`` with stride 1 and odd kernels is (k - 1) / 2 a side."""
    if not isinstance(conv.padding, str):
        return [int(p) for p in conv.padding]
    if conv.padding == "same" and all(k % 2 == 1 for k in conv.kernel_size):
        return [(k - 1) // 2 * d for k, d in zip(conv.kernel_size, conv.dilation, strict=True)]
    return conv.padding


def _pair(value) -> list:
    """A pooling size as [height, width], whether it was given as one int or a pair."""
    return list(value) if isinstance(value, tuple | list) else [value, value]


def layout(module: nn.Module) -> list[dict]:
    """The leaf modules in registration order, with the settings the contract names (a loss module
    kept as an attribute, such as ``self.loss_fn = nn.CrossEntropyLoss()``, is not a layer)."""
    rows = []
    for m in module.modules():
        if any(True for _ in m.children()) or isinstance(m, nn.modules.loss._Loss):
            continue
        row = {"type": type(m).__name__}
        if isinstance(m, nn.Linear):
            row.update(in_features=m.in_features, out_features=m.out_features, bias=m.bias is not None)
        elif isinstance(m, nn.Conv2d):
            row.update(in_channels=m.in_channels, out_channels=m.out_channels, kernel_size=list(m.kernel_size),
                       stride=list(m.stride), padding=_padding(m))
        elif isinstance(m, nn.MaxPool2d):  # MaxPool2d(2) and MaxPool2d((2, 2)) are one layer
            row.update(kernel_size=_pair(m.kernel_size), stride=_pair(m.stride))
        elif isinstance(m, nn.BatchNorm2d):
            row.update(num_features=m.num_features)
        elif isinstance(m, nn.Dropout):
            row.update(p=m.p)
        rows.append(row)
    return rows


def params(net: nn.Module, prefix: str) -> dict:
    return {f"{prefix}p{i}": to_numpy(p).copy() for i, p in enumerate(net.parameters())}


def set_params(net: nn.Module, inp: dict, prefix: str = "known.") -> None:
    """Copy the parent's known weights into the student's parameters, in registration order."""
    plist = list(net.parameters())
    n = int(inp[f"{prefix}count"])
    if len(plist) != n:
        raise ValueError(f"the model has {len(plist)} parameter tensors; the contract's layout has {n}, so the "
                         "checker cannot load its known weights")
    with torch.no_grad():
        for i, p in enumerate(plist):
            w = inp[f"{prefix}p{i}"]
            if tuple(p.shape) != w.shape:
                raise ValueError(f"parameter {i} has shape {tuple(p.shape)}; the contract's layout has {w.shape}")
            p.copy_(_t(w))


def _make(mod, inp, cls: str, cfg: str = "small"):
    args = [int(v) for v in inp[f"{cfg}.args"]]
    return getattr(mod, cls)(*args)


def probe_init(mod, inp, cls: str):
    net = _make(mod, inp, cls, "init")
    out = {"is_module": isinstance(net, nn.Module), "n_params": sum(p.numel() for p in net.parameters())
           if isinstance(net, nn.Module) else 0}
    for attr in inp["init.attrs"].tolist():
        value = getattr(net, str(attr), None)
        out[f"attr.{attr}"] = value if isinstance(value, int | float) else repr(value)
    model = getattr(net, "model", None)
    out["model_type"] = type(model).__name__ if model is not None else None
    out["sequentials"] = [name for name, child in net.named_children() if isinstance(child, nn.Sequential)] \
        if isinstance(net, nn.Module) else []
    out["layout"] = layout(net)
    out.update(params(net, "init."))
    return out


def _eval(net: nn.Module) -> None:
    nn.Module.train(net, False)  # the course's train() hides nn.Module.train; call the original


def probe_forward(mod, inp, cls: str):
    net = _make(mod, inp, cls)
    set_params(net, inp)
    _eval(net)
    with torch.no_grad():
        return {"logits": to_numpy(net.forward(_t(inp["X"]))).astype(np.float64)}


def _train(net, inp, key: str, epochs: int, batch: int):
    X, y = _t(inp[f"{key}.X"]), _t(inp[f"{key}.y"])
    Xv, yv = _t(inp["val.X"]), _t(inp["val.y"])
    return net.train(X, y, Xv, yv, epochs, batch, float(inp["train.lr"]))


def without_dropout(net: nn.Module) -> nn.Module:
    """``net`` with every dropout layer's p set to 0 (the identity), so a training step has no random
    part and can be compared with the reference's exactly; returns ``net``."""
    for module in net.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.p = 0.0
    return net


def _known_net(mod, inp, cls: str, dropout: bool):
    """The student's model with the known weights (``dropout=False``: its dropout layers switched off)."""
    net = _make(mod, inp, cls)
    set_params(net, inp)
    return net if dropout else without_dropout(net)


def probe_train(mod, inp, cls: str, *, dropout: bool = True):
    """The parameters after ``train`` for 1 and 2 epochs of one batch each, and for one epoch of several
    batches (``batches.``; its error's text under ``batches!``), from known weights (``dropout=False``:
    with the dropout layers switched off first)."""
    out = {}
    n = inp["one.X"].shape[0]
    for tag, epochs in (("one.", 1), ("two.", 2)):
        net = _known_net(mod, inp, cls, dropout)
        with _pairs_seen(net, mod) as pairs:
            _train(net, inp, "one", epochs, n)
        out.update(params(net, tag))
        out.update({tag + key: value for key, value in pairs.items()})
        out[tag + "recorded"] = curves_from_attributes(net, epochs)
    net = _known_net(mod, inp, cls, dropout)
    try:  # graded as a check of its own: an error here does not cost the steps above
        with _rows_seen(net) as rows:
            _train(net, inp, "batches", 1, int(inp["batches.batch"]))
    except Exception as err:  # noqa: BLE001 - the student's train may raise anything
        out["batches!"] = f"{type(err).__name__}: {err}"[:300]
        return out
    out["batches.rows"] = rows
    out.update(params(net, "batches."))
    return out


def _first_layer(net: nn.Module) -> nn.Module | None:
    """The first leaf module that holds parameters: every row a step trains on passes through it."""
    return next((m for m in net.modules() if not any(True for _ in m.children())
                 and any(True for _ in m.parameters(recurse=False))), None)


@contextlib.contextmanager
def _pairs_seen(net: nn.Module, mod=None):
    """The rows and labels of the first training step, as ``pairs.X`` and ``pairs.y`` in the dict yielded
    (filled in by that step): the rows of the one batch that reached the model's first layer with
    gradients on since the last loss, and the labels handed with the output to the cross-entropy
    (``nn.CrossEntropyLoss`` and ``F.cross_entropy`` both call ``nn.functional.cross_entropy``, and a
    name in the student's module ``mod`` bound to it, ``from torch.nn.functional import cross_entropy``,
    is rebound for the step): which label went with which row. Nothing when several batches of that size
    went in before the loss (a second forward, e.g. for a training accuracy): which one the loss's
    output came from is not known."""
    seen: dict = {}
    since_loss: list[torch.Tensor] = []
    first, real = _first_layer(net), nn.functional.cross_entropy

    def rows(module, args) -> None:
        if not seen and args and isinstance(args[0], torch.Tensor) and args[0].dim() >= 1 and torch.is_grad_enabled():
            since_loss.append(args[0])

    def cross_entropy(input, target, *args, **kwargs):
        fed = [x for x in since_loss if isinstance(target, torch.Tensor) and x.shape[:1] == target.shape]
        if (not seen and len(fed) == 1 and torch.is_grad_enabled() and isinstance(input, torch.Tensor)
                and target.dim() == 1 and input.shape[:1] == target.shape):
            seen["pairs.X"] = to_numpy(fed[0]).reshape(target.shape[0], -1).astype(np.float64)
            seen["pairs.y"] = to_numpy(target).copy()
        since_loss.clear()
        return real(input, target, *args, **kwargs)

    handle = first.register_forward_pre_hook(rows) if first is not None else None
    aliases = [name for name, value in vars(mod).items() if value is real] if mod is not None else []
    nn.functional.cross_entropy = cross_entropy
    for name in aliases:
        setattr(mod, name, cross_entropy)
    try:
        yield seen
    finally:
        nn.functional.cross_entropy = real
        for name in aliases:
            setattr(mod, name, real)
        if handle is not None:
            handle.remove()


@contextlib.contextmanager
def _rows_seen(net: nn.Module):
    """The row counts of the batches of alike rows (the training set of ``batches.``) that reached the
    model's first layer with gradients on: what each step trained on, whichever way train called it."""
    rows: list[int] = []
    first = _first_layer(net)

    def seen(module, args) -> None:
        x = args[0] if args else None
        if isinstance(x, torch.Tensor) and torch.is_grad_enabled() and x.dim() >= 1 and x.shape[0] > 0:
            flat = x.detach().reshape(x.shape[0], -1)
            if bool((flat == flat[:1]).all()):
                rows.append(int(x.shape[0]))

    handle = first.register_forward_pre_hook(seen) if first is not None else None
    try:
        yield rows
    finally:
        if handle is not None:
            handle.remove()


def probe_predict(mod, inp, cls: str):
    net = _make(mod, inp, cls)
    set_params(net, inp)
    _eval(net)
    with torch.no_grad():
        return {"pred": to_numpy(net.predict(_t(inp["X"])))}


def describe_figures(figures: list | None = None) -> list[dict]:
    """Every open Matplotlib figure (or those given): its axes (position, labels, title) and their lines' data."""
    import matplotlib.pyplot as plt

    figs = []
    for fig in figures if figures is not None else [plt.figure(num) for num in plt.get_fignums()]:
        axes = []
        for ax in fig.get_axes():
            box = ax.get_position()
            lines = [{"label": str(line.get_label()), "y": [float(v) for v in np.asarray(line.get_ydata(), float)]}
                     for line in ax.get_lines()]
            axes.append({"box": [box.x0, box.y0, box.x1, box.y1], "title": ax.get_title(),
                         "ylabel": ax.get_ylabel(), "xlabel": ax.get_xlabel(), "lines": lines})
        figs.append({"axes": axes})
    return figs


def probe_plot(mod, inp, cls: str):
    import matplotlib.pyplot as plt

    net = _make(mod, inp, cls)
    set_params(net, inp)
    _train(net, inp, "plot", int(inp["plot.epochs"]), int(inp["plot.batch"]))
    recorded = curves_from_attributes(net, int(inp["plot.epochs"]))
    plt.close("all")
    with _remembering_closed_figures() as closed:
        net.plot_train_val_metrics()
    pngs = sorted(f for f in os.listdir(".") if f.endswith(".png"))
    figs = describe_figures() or describe_figures(closed)  # a plot closed after saving it is still the plot
    plt.close("all")
    return {"figures": figs, "pngs": pngs, "recorded": recorded}


@contextlib.contextmanager
def _remembering_closed_figures():
    """While in the block, ``plt.close`` still closes, and the figures it closed are kept in the list yielded."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    closed: list = []
    real_close = plt.close

    def close(fig=None):
        if fig is None:
            targets = [plt.gcf()] if plt.get_fignums() else []
        elif isinstance(fig, str) and fig == "all":
            targets = [plt.figure(num) for num in plt.get_fignums()]
        elif isinstance(fig, Figure):
            targets = [fig]
        elif isinstance(fig, int) and fig in plt.get_fignums():
            targets = [plt.figure(fig)]
        else:
            targets = []
        closed.extend(f for f in targets if f not in closed)
        return real_close(fig)

    plt.close = close
    try:
        yield closed
    finally:
        plt.close = real_close


def _fashion(cls: str):
    def load(name):
        x = torch.from_numpy(np.load(f"{name}.npy", allow_pickle=False)).to(torch.float32)
        x = (x / 255.0 - MEAN) / STD
        return x.reshape(-1, 1, 28, 28) if cls == "PyTorchCNN" else x.reshape(-1, 784)

    ytr = torch.from_numpy(np.load("fm_train_y.npy", allow_pickle=False))
    yval = torch.from_numpy(np.load("fm_val_y.npy", allow_pickle=False))
    return load("fm_train_x"), ytr, load("fm_val_x"), yval, load("fm_test_x")


def _trained(mod, inp, cls: str):
    """The student's model trained on Fashion-MNIST with the run's settings (once per child: a run
    that raised raises the same error again for the next item instead of training again)."""
    if "train_error" in STATE:
        raise STATE["train_error"]
    if "trained" not in STATE:
        hidden, epochs, batch, seed = [int(v) for v in inp["fm.run"]]
        try:
            net = mod.PyTorchANN(784, hidden, 10, seed) if cls == "PyTorchANN" else mod.PyTorchCNN(10, seed)
            Xtr, ytr, Xv, yv, Xte = _fashion(cls)
            net.train(Xtr, ytr, Xv, yv, epochs, batch, float(inp["fm.lr"]))
        except Exception as err:
            STATE["train_error"] = err
            raise
        STATE["trained"], STATE["epochs"], STATE["X_test"], STATE["X_val"] = net, epochs, Xte, Xv
    return STATE["trained"]


def probe_fashion(mod, inp, cls: str):
    net = _trained(mod, inp, cls)
    _eval(net)
    with torch.no_grad():
        pred = to_numpy(net.predict(STATE["X_test"]))
    return {"test_pred": pred.argmax(axis=1) if pred.ndim == 2 else pred.reshape(-1)}


def _series(value, epochs: int):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().tolist()
    if isinstance(value, list | tuple | np.ndarray) and len(value) == epochs:
        try:
            return [float(v) for v in value]
        except (TypeError, ValueError):
            return None
    return None


VALIDATION_WORDS = {"val", "va", "valid", "validation", "test", "dev"}
"""Words in a history key that mark validation curves (``val_loss``, ``va_loss``, ``test_acc``)."""


def _per_epoch_records(value, epochs: int) -> dict | None:
    """A list of one dict per epoch (``[{"train_loss": ..., "val_acc": ...}, ...]``) as one dict of lists."""
    if not (isinstance(value, list | tuple) and len(value) == epochs and epochs
            and all(isinstance(v, dict) for v in value)):
        return None
    return {key: [record.get(key) for record in value] for key in value[0]}


def curves_from_attributes(net, epochs: int) -> dict:
    """train/val loss/accuracy per epoch found among the model's attributes (a history dict or lists,
    or a list of one dict per epoch)."""
    found: dict = {}

    def consider(name: str, value) -> None:
        seq, lname = _series(value, epochs), name.lower()
        kind = "loss" if "loss" in lname else "acc" if "acc" in lname else None
        if seq is not None and kind:
            words = set(filter(None, re.split(r"[^a-z]+", lname)))
            split = "val" if ("val" in lname or words & VALIDATION_WORDS) else "train"
            found.setdefault(f"{split}_{kind}", seq)

    for name, value in vars(net).items():
        if hasattr(value, "to_dict") and callable(value.to_dict):
            try:
                value = value.to_dict()
            except Exception:  # noqa: BLE001
                continue
        value = _per_epoch_records(value, epochs) or value
        if isinstance(value, dict):
            for key, sub in value.items():
                consider(f"{key}", sub)
        else:
            consider(name, value)
    return found


def curves_from_figure(figs: list[dict], epochs: int) -> dict:
    """The same curves read off the plot: the 'loss' panel and the 'acc' panel, 'val' lines."""
    found: dict = {}
    for fig in figs:
        for k, ax in enumerate(fig["axes"]):
            text = f"{ax['title']} {ax['ylabel']}".lower()
            kind = "loss" if "loss" in text else "acc" if "acc" in text else ("loss", "acc")[k] if k < 2 else None
            for j, line in enumerate(ax["lines"]):
                if kind and len(line["y"]) == epochs:
                    split = "val" if ("val" in line["label"].lower() or j == 1) else "train"
                    found.setdefault(f"{split}_{kind}", line["y"])
    return found


def probe_judgement(mod, inp, cls: str):
    import matplotlib.pyplot as plt

    net = _trained(mod, inp, cls)
    epochs = STATE["epochs"]
    answer = net.report_my_judgement()
    curves, source = curves_from_attributes(net, epochs), "attributes"
    if len(curves) < 4 and callable(getattr(net, "plot_train_val_metrics", None)):  # A3 has no plot method
        plt.close("all")
        try:
            net.plot_train_val_metrics()
            curves, source = curves_from_figure(describe_figures(), epochs), "plot"
        finally:
            plt.close("all")
    out = {"answer": answer if isinstance(answer, str) else repr(answer), "answer_type": type(answer).__name__,
           "curves": curves, "source": source}
    try:  # the trained model's own labels for the validation images: are the curves this training's?
        _eval(net)
        with torch.no_grad():
            out["val_pred"] = to_numpy(net(STATE["X_val"])).argmax(axis=1)
    except Exception as err:  # noqa: BLE001 - the student's forward may raise anything
        out["val_pred!"] = f"{type(err).__name__}: {err}"[:300]
    return out


def _for(cls: str, fn):
    return lambda mod, inp: fn(mod, inp, cls)


PROBES = {
    "2.1": _for("PyTorchANN", probe_init), "2.2": _for("PyTorchANN", probe_forward),
    "2.3": lambda mod, inp: probe_train(mod, inp, "PyTorchANN", dropout=False), "2.4": _for("PyTorchANN", probe_predict),
    "2.5": _for("PyTorchANN", probe_plot), "2.6": _for("PyTorchANN", probe_fashion),
    "2.7": _for("PyTorchANN", probe_judgement),
    "3.2": _for("PyTorchCNN", probe_fashion), "3.3": _for("PyTorchCNN", probe_judgement),
}


def probe_cnn(mod, inp):
    """3.1: layout, parameter count, initial weights; eval-mode logits with known weights; the
    weights after one and two SGD steps from known weights, dropout off ("training as in 2.3")."""
    out = probe_init(mod, inp, "PyTorchCNN")
    try:  # a model that cannot take the known weights, or whose forward raises, keeps its layout checks
        out.update(probe_forward(mod, inp, "PyTorchCNN"))
        out.update(probe_train(mod, inp, "PyTorchCNN", dropout=False))
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        where = [f" at pytorch_cnn.py:{f.lineno} in {f.name}: {(f.line or '').strip()}"
                 for f in traceback.extract_tb(err.__traceback__) if os.path.basename(f.filename) == "pytorch_cnn.py"]
        out["known!"] = f"{type(err).__name__}: {str(err)[:300]}{(where or [''])[-1]}"
    return out


PROBES["3.1"] = probe_cnn
