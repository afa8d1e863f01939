"""Child-side probes for the notebook assignments ``jku-a7`` and ``radboud-a1``.

They run inside the student's process (see ``main.py``) on the module made of the notebook's
definitions (:mod:`backproplab.check.notebook`), hold no expected value, and return arrays, numbers
and strings. Where the course hands the student's function helpers (JKU's ``train``, ``test`` and
loaders), the probe puts its own into the module first and records how they were called.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os

import numpy as np
import torch
from torch import nn

_HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("_backproplab_torch_probes", os.path.join(_HERE, "torch_probes.py"))
_torch_probes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_torch_probes)
layout, describe_figures = _torch_probes.layout, _torch_probes.describe_figures


def setup() -> None:
    _torch_probes.setup()


def load_inputs(path: str) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def missing(mod, name: str) -> str:
    """Why the notebook's module has no ``name``: the statement that assigns it was dropped by the keep
    rule (which part, from ``__backproplab_dropped__``), or raised (``__backproplab_failed__``); ''
    when the notebook does not assign it at all."""
    failed = (getattr(mod, "__backproplab_failed__", None) or {}).get(name)
    if failed:
        return f"{name} is not defined when grading: its definition raised in {failed}"
    dropped = (getattr(mod, "__backproplab_dropped__", None) or {}).get(name)
    if dropped and dropped.startswith(("`def ", "`async def ", "`class ")):
        return f"{name} is not defined when grading: the checker did not keep its definition {dropped}"
    if dropped:
        return (f"{name} is not defined when grading: the checker keeps only definitions at the top level of a "
                f"cell, and it did not keep {dropped}")
    return ""


def need(mod, name: str):
    """The notebook's object ``name``; a NameError naming it (and the rule that dropped it) when no kept
    statement defines it."""
    if not hasattr(mod, name):
        raise NameError(missing(mod, name) or f"the notebook defines no {name} (its cell is missing, or the "
                        "definition is not at the top level of a cell)")
    return getattr(mod, name)


def attempt(out: dict, key: str, fn) -> None:
    """Run one part of an item; its failure is recorded under ``error.<key>`` and the item goes on."""
    try:
        out.update(fn() or {})
    except NotImplementedError:
        out[f"error.{key}"] = "not implemented (it still raises NotImplementedError)"
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        out[f"error.{key}"] = f"raised {type(err).__name__}: {str(err)[:1000]}"  # a dropped definition's reason


def _np(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy().copy()
    return np.array(value, dtype=np.float64)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a))  # a copy; keeps a 0-d array 0-d


# -- JKU A7 ---------------------------------------------------------------------------------------
def probe_ann(mod, inp, cls: str) -> dict:
    """3.2a/b: the layers, a [2, 1, 28, 28] batch through the net, the seeded outputs, d_out honoured."""
    Net = need(mod, cls)
    out: dict = {}

    def seeded():
        torch.manual_seed(int(inp["jku.seed"]))
        net = Net(784, 10)
        out["is_module"] = isinstance(net, nn.Module)
        out["layout"] = layout(net) if isinstance(net, nn.Module) else []
        with torch.no_grad():
            return {"seeded": _np(net(_t(inp["jku.images"])))}

    def width():
        torch.manual_seed(0)
        with torch.no_grad():
            return {"d_out5": _np(Net(784, 5)(_t(inp["jku.images"])))}

    attempt(out, "seeded", seeded)
    attempt(out, "d_out5", width)
    return out


_KIND = type(inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _signature(spec: str) -> inspect.Signature:
    """The signature the parent sent (``jku.signature_spec``: ``[[name, kind, default], ...]``)."""
    empty = inspect.Parameter.empty
    return inspect.Signature([inspect.Parameter(name, _KIND(kind),
                                                default=empty if default == {"empty": True} else default)
                              for name, kind, default in json.loads(str(spec))])


def standin(name: str, spec: str, impl):
    """A function ``name`` taking exactly the course's arguments (signature ``spec``): a call binds them as
    the course's function would (the same TypeError for any other), then ``impl`` gets them all by name."""
    sig = _signature(spec)

    def call(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{name}() {err}") from None
        bound.apply_defaults()
        return impl(**bound.arguments)

    call.__name__ = call.__qualname__ = name
    call.__signature__ = sig
    return call


class GradientLists(list):
    """What the course's ``train`` returns: three lists (per batch, mean |grad| of the first three
    Linear/Conv layers' weights), with ``layers`` (their names), ``loss`` and ``accuracy`` (the epoch's)."""

    def __init__(self, lists, layers, loss: float, accuracy: float):
        super().__init__(list(v) for v in lists)
        self.layers, self.loss, self.accuracy = list(layers), float(loss), float(accuracy)


_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class _Recorder:
    """The course's ``train`` and ``test`` as the probe gives them (:meth:`helpers`), recording every call;
    they compute what the course's compute (one epoch of SGD steps; mean loss and accuracy)."""

    def __init__(self):
        self.train_calls, self.test_calls = [], []

    def helpers(self, inp) -> tuple:
        """``train`` and ``test`` with the course's signatures (sent by the parent as ``jku.*_signature``)."""
        return (standin("train", inp["jku.train_signature"], self.train),
                standin("test", inp["jku.test_signature"], self.test))

    def train(self, model, train_loader, optimizer, epoch, verbose=False, **_):
        # train(model, optimizer, train_loader, epoch): 'SGD' object is not iterable cost the whole item; the
        # call is recorded as swapped (it costs its own check) and trained in the contract's order
        swapped = isinstance(train_loader, torch.optim.Optimizer) and not isinstance(optimizer, torch.optim.Optimizer)
        if swapped:
            train_loader, optimizer = optimizer, train_loader
        self.train_calls.append({"model": model, "loader": train_loader, "optimizer": optimizer, "epoch": epoch,
                                 "swapped": swapped})
        named = [(n, m) for n, m in model.named_modules() if n and isinstance(m, _WEIGHTED)][:3]
        grads, loss_sum, correct, seen = [[] for _ in named], 0.0, 0, 0
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            output = model(data)
            loss = nn.functional.cross_entropy(output, target)
            loss.backward()
            optimizer.step()
            for k, (_, layer) in enumerate(named):
                grads[k].append(float(layer.weight.grad.abs().mean()))
            loss_sum += float(loss) * len(target)
            correct += int((output.detach().argmax(1) == target).sum())
            seen += len(target)
        self.train_calls[-1]["grads"] = [list(g) for g in grads]
        out = GradientLists(grads, [n for n, _ in named], loss_sum / max(seen, 1), correct / max(seen, 1))
        if verbose:
            print(f"Train epoch {epoch}: loss {out.loss:.4f}, accuracy {out.accuracy:.4f} ({seen} samples)")
        return out

    def test(self, model, test_loader, verbose=False, **_):
        self.test_calls.append({"model": model, "loader": test_loader})
        was_training, loss_sum, correct, seen = model.training, 0.0, 0, 0
        model.eval()
        with torch.no_grad():
            for x, y in test_loader:
                output = model(x)
                loss_sum += float(nn.functional.cross_entropy(output, y, reduction="sum"))
                correct += int((output.argmax(1) == y).sum())
                seen += len(y)
        model.train(was_training)
        loss, acc = loss_sum / max(seen, 1), correct / max(seen, 1)
        if verbose:
            print(f"Test set: average loss {loss:.4f}, accuracy {correct}/{seen} ({acc:.2%})")
        return loss, acc


def probe_train_and_test(mod, inp) -> dict:
    """3.2c: the student's train_and_test on a small model and small loaders, with our train/test."""
    import matplotlib.pyplot as plt
    from torch.utils.data import DataLoader, TensorDataset

    fn = need(mod, "train_and_test")
    rec = _Recorder()
    x = _t(inp["jku.small_x"]).reshape(-1, 1, 28, 28)
    y = _t(inp["jku.small_y"])
    mod.train_loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    mod.test_loader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=64)
    mod.train, mod.test = rec.helpers(inp)
    if not hasattr(mod, "device"):
        mod.device = torch.device("cpu")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                          nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))
    lr, momentum, epochs = (float(v) for v in inp["jku.hyper"])
    plt.close("all")
    fn(model, {"lr": lr, "momentum": momentum, "epochs": int(epochs)})
    opts = [c["optimizer"] for c in rec.train_calls]
    group = opts[0].param_groups[0] if opts and getattr(opts[0], "param_groups", None) else {}
    own = {id(p) for p in model.parameters()}
    figs = describe_figures()
    plt.close("all")
    return {"optimizer": type(opts[0]).__name__ if opts else "",
            "lr": float(group.get("lr", -1)), "momentum": float(group.get("momentum", -1)),
            "same_optimizer": len({id(o) for o in opts}) <= 1,
            "optimizes_model": bool(group) and {id(p) for p in group.get("params", [])} == own,
            "train_epochs": [repr(c["epoch"]) for c in rec.train_calls],
            "train_args_ok": all(c["model"] is model and c["loader"] is mod.train_loader and not c["swapped"]
                                 for c in rec.train_calls),
            "train_swapped": any(c["swapped"] for c in rec.train_calls),
            "test_calls": sum(c["loader"] is mod.test_loader for c in rec.test_calls),  # other loaders may be tested too
            "other_test_calls": sum(c["loader"] is not mod.test_loader for c in rec.test_calls),
            "test_args_ok": all(c["model"] is model for c in rec.test_calls),
            "n_batches": len(mod.train_loader),
            "line_counts": [[len(ax["lines"]) for ax in f["axes"]] for f in figs],
            "line_lengths": [[len(line["y"]) for ax in f["axes"] for line in ax["lines"]] for f in figs],
            # what train returned each epoch, and every line drawn (a few hundred numbers at most)
            "epoch_grads": [c.get("grads", []) for c in rec.train_calls][:MAX_EPOCHS_RECORDED],
            "drawn": [line["y"][:MAX_POINTS_RECORDED] for f in figs for ax in f["axes"] for line in ax["lines"]][:30]}


#: 3.2c's bounds on what the probe sends back of the plot (the run has 2 epochs of 4 batches).
MAX_EPOCHS_RECORDED, MAX_POINTS_RECORDED = 10, 1000


def probe_answers(mod, inp) -> dict:
    """3.3: the values and types of a_ … e_."""
    out = {}
    for name in ("a_", "b_", "c_", "d_", "e_"):
        value = getattr(mod, name, None)
        why = "" if hasattr(mod, name) else missing(mod, name)
        kind = type(value)  # numpy's bool is named "bool" too (numpy 2): name its module, so it is not taken for one
        out[f"{name}.type"] = (("dropped" if why else "undefined") if not hasattr(mod, name) else kind.__name__
                               if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}")
        out[f"{name}.value"] = why[:400] or repr(value)[:100]
    return out


PROBES = {
    "3.2a": lambda mod, inp: probe_ann(mod, inp, "ANN_sigmoid"),
    "3.2b": lambda mod, inp: probe_ann(mod, inp, "ANN_relu"),
    "3.2c": probe_train_and_test,
    "3.3": probe_answers,
}


# -- Radboud A1 -----------------------------------------------------------------------------------
def probe_optimize_f(mod, inp) -> dict:
    """1.1a: optimize_f from two starts; the end point, f there, and both histories."""
    fn, out = need(mod, "optimize_f"), {}
    for k, (x, y, step, steps) in enumerate(inp["rad.opt_calls"].tolist()):
        res = fn(x, y, step, int(steps))
        out[f"opt{k}.n"] = len(res) if isinstance(res, tuple | list) else -1
        if isinstance(res, tuple | list) and len(res) == 5:
            for name, value in zip(("x", "y", "f", "x_hist", "y_hist"), res, strict=True):
                out[f"opt{k}.{name}"] = _np(value)
    return out


def probe_sigmoid(mod, inp) -> dict:
    """1.3a: sigmoid on random values, at 0, at ±100 (float32) and at ±1000."""
    import warnings

    fn, out = need(mod, "sigmoid"), {}
    x = _t(inp["rad.x34"])
    y = fn(x)
    out.update(is_tensor=isinstance(y, torch.Tensor), values=_np(y))
    out["at0"] = _np(fn(torch.zeros(1)))
    out["at100"] = _np(fn(torch.tensor([-100.0, 100.0], dtype=torch.float32)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out["at1000"] = _np(fn(torch.tensor([-1000.0, 1000.0], dtype=torch.float32)))
    out["warnings"] = [str(w.message)[:200] for w in caught]
    return out


def probe_relu(mod, inp) -> dict:
    fn = need(mod, "relu")
    y = fn(_t(inp["rad.x34"]))
    return {"is_tensor": isinstance(y, torch.Tensor), "values": _np(y), "at0": _np(fn(torch.zeros(3)))}


def probe_bce(mod, inp) -> dict:
    """1.3e: the loss's value, rank and symmetry."""
    fn = need(mod, "bce_loss")
    y, y_hat = _t(inp["rad.bce_y"]), _t(inp["rad.bce_yhat"])
    loss = fn(y, y_hat)
    return {"is_tensor": isinstance(loss, torch.Tensor), "ndim": int(getattr(loss, "ndim", -1)),
            "value": _np(loss), "mirrored": _np(fn(1 - y, 1 - y_hat))}


def probe_bce_perfect(mod, inp) -> dict:
    """1.3f,g: perfect predictions (y = ŷ ∈ {0, 1}) and confidently wrong ones."""
    fn = need(mod, "bce_loss")
    y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    return {"perfect": _np(fn(y, y.clone())), "perfect32": _np(fn(y.float(), y.float().clone())),
            "wrong": _np(fn(y, 1 - y))}


def probe_model1(mod, inp) -> dict:
    """1.4: model1(x) with the notebook's globals w and b set to the probe's values."""
    fn = need(mod, "model1")
    mod.w, mod.b = _t(inp["rad.m1_w"]), _t(inp["rad.m1_b"])
    y = fn(_t(inp["rad.m1_x"]))
    return {"value": _np(y), "ndim": int(getattr(y, "ndim", -1))}


def _layers(inp, prefix: str, acts) -> list:
    return [(_t(inp[f"{prefix}w{i}"]).clone(), _t(inp[f"{prefix}b{i}"]).clone(), act) for i, act in enumerate(acts)]


def probe_network(mod, inp) -> dict:
    """1.5a: a two-output and a one-output network (torch's own activations) on x [5, 4]."""
    fn = need(mod, "network")
    x = _t(inp["rad.net_x"])
    two = fn(x, _layers(inp, "rad.net2_", (torch.relu, torch.sigmoid)))
    one = fn(x, _layers(inp, "rad.net1_", (torch.relu, torch.sigmoid)))
    return {"two": _np(two), "one": _np(one)}


def probe_make_layer(mod, inp) -> dict:
    """1.5b: shapes, the std of w for (100000, 2) and (400, 50), zero biases, the activation kept."""
    fn, out = need(mod, "make_layer"), {}
    for d0, d1 in inp["rad.layer_dims"].tolist():
        torch.manual_seed(1)
        w, b, act = fn(int(d0), int(d1), torch.relu)
        out[f"{d0}x{d1}"] = {"w_shape": list(w.shape), "b_shape": list(b.shape), "std": float(w.double().std()),
                             "mean": float(w.double().mean()), "b_abs": float(b.double().abs().max()),
                             "activation_kept": act is torch.relu}
    return out


def _digits(inp, dtype=None) -> tuple[dict, dict]:
    x = {k: _t(inp[f"rad.dig_x{k}"]) for k in ("train", "val")}
    y = {k: _t(inp[f"rad.dig_y{k}"]) for k in ("train", "val")}
    if dtype is not None:
        x, y = {k: v.to(dtype) for k, v in x.items()}, {k: v.to(dtype) for k, v in y.items()}
    return x, y


def _gradient_helpers(mod, inp, out: dict) -> None:
    def enable():
        params = _layers(inp, "rad.tr_", (torch.relu, torch.sigmoid))
        need(mod, "enable_gradients")(params)
        return {"enabled": all(t.requires_grad for layer in params for t in layer[:2])}

    def add():
        params = [(w.requires_grad_(), b.requires_grad_(), h) for w, b, h in _layers(inp, "rad.tr_", (torch.relu,) * 2)]
        for i, (w, b, _) in enumerate(params):
            w.grad, b.grad = _t(inp[f"rad.g_w{i}"]).clone(), _t(inp[f"rad.g_b{i}"]).clone()
        need(mod, "add_gradients")(params, float(inp["rad.add_step"]))
        return {f"added{i}.{n}": _np(t) for i, layer in enumerate(params) for n, t in zip("wb", layer[:2], strict=False)}

    def clear():
        params = [(w.requires_grad_(), b.requires_grad_(), h) for w, b, h in _layers(inp, "rad.tr_", (torch.relu,) * 2)]
        for w, b, _ in params:
            w.grad, b.grad = torch.ones_like(w), torch.ones_like(b)
        need(mod, "clear_gradients")(params)
        return {"cleared": all(t.grad is None or not bool(t.grad.any()) for layer in params for t in layer[:2])}

    for key, fn in (("enable", enable), ("add", add), ("clear", clear)):
        attempt(out, key, fn)


def _course_network(x, params):
    """The course's network (1.5a), given to the student's 1.6 functions in place of their own."""
    for w, b, h in params:
        x = h(x @ w + b)
    return x.squeeze(-1) if x.shape[-1] == 1 else x


def _course_bce(y, y_hat):
    """The course's bce_loss (1.3e-g): 0·log 0 taken as 0, the logarithm's argument clamped."""
    tiny = torch.finfo(y_hat.dtype).tiny
    y = y.to(y_hat.dtype)
    return -(torch.xlogy(y, y_hat.clamp(min=tiny)) + torch.xlogy(1 - y, (1 - y_hat).clamp(min=tiny))).mean() + 0.0


class _Pairs:
    """The rows the student's train_epoch hands the network and the labels it hands bce_loss, batch by
    batch, in the seeded epoch (while ``on``): the checker tells x and y shuffled apart from them. As
    Purdue's probe does (``torch_probes._pairs_seen``): a loss is paired with the one batch that went
    through the network with gradients on since the loss before; several (an accuracy computed with
    gradients on) or none (a second bce_loss, for a log) pair nothing. At most ``rows`` rows are kept."""

    def __init__(self, rows: int):
        self.rows, self.on, self.x, self.y, self._since = rows, False, [], [], []

    def network(self, x, params):
        if self.on and torch.is_grad_enabled() and torch.is_tensor(x) and x.ndim:
            self._since.append(x)
        return _course_network(x, params)

    def bce(self, y, y_hat):
        if self.on and torch.is_tensor(y) and y.ndim:
            fed = [x for x in self._since if x.shape[:1] == y.shape[:1]]
            if len(fed) == 1 and torch.is_grad_enabled() and sum(len(a) for a in self.x) < self.rows:
                self.x.append(_np(fed[0].detach()))
                self.y.append(_np(y.detach()))
            self._since.clear()
        return _course_bce(y, y_hat)

    def arrays(self) -> dict:
        """``pairs.X`` [n, ...] and ``pairs.y`` [n] as the batches came, or {} when none was paired."""
        if not self.x:
            return {}
        try:
            return {"pairs.X": np.concatenate(self.x), "pairs.y": np.concatenate([a.reshape(-1) for a in self.y])}
        except ValueError:  # batches of other shapes: nothing to pair
            return {}


def probe_training(mod, inp) -> dict:
    """1.6: the gradient helpers, evaluate, train_epoch (one seeded epoch; the loss over five), fit on digits.

    The student's evaluate, train_epoch and fit run with the course's network and bce_loss in place of
    the student's own (graded in 1.3 and 1.5), so that a mistake there costs its own item only.
    """
    out: dict = {}
    _gradient_helpers(mod, inp, out)
    x, y = _digits(inp, torch.float64)
    xs, ys = x["train"][:64], y["train"][:64]
    pairs = _Pairs(len(xs))
    mod.network, mod.bce_loss = pairs.network, pairs.bce  # the course's: 1.3 and 1.5 are graded on their own

    def evaluate():
        loss, acc = need(mod, "evaluate")(_layers(inp, "rad.tr_", (torch.relu, torch.sigmoid)), xs, ys)
        return {"eval": _np([float(loss), float(acc)])}

    def epoch():
        params = [(w.requires_grad_(), b.requires_grad_(), h)
                  for w, b, h in _layers(inp, "rad.tr_", (torch.relu, torch.sigmoid))]
        torch.manual_seed(int(inp["rad.epoch_seed"]))
        pairs.on = True
        try:
            loss, acc = need(mod, "train_epoch")(params, xs, ys, float(inp["rad.lr"]), 16)
        finally:
            pairs.on = False
        res = {"epoch_returns": _np([float(loss), float(acc)]), **pairs.arrays()}
        res.update({f"epoch{i}.{n}": _np(t) for i, layer in enumerate(params) for n, t in zip("wb", layer[:2],
                                                                                               strict=False)})
        losses = [float(loss)]
        for _ in range(4):
            losses.append(float(need(mod, "train_epoch")(params, xs, ys, float(inp["rad.lr"]), 16)[0]))
        res["epoch_losses"] = np.array(losses)
        return res

    def fit():
        xf, yf = _digits(inp, torch.float32)
        torch.manual_seed(int(inp["rad.fit_seed"]))
        dims = [64, 32, 1]
        params = [((torch.randn(a, b) * (2.0 / b) ** 0.5).requires_grad_(), torch.zeros(b, requires_grad=True), h)
                  for a, b, h in zip(dims[:-1], dims[1:], (torch.relu, torch.sigmoid), strict=True)]
        z = xf["val"].clone()  # fit gets x and y whole: what it does to them must not change the grading
        need(mod, "fit")(params, xf, yf, float(inp["rad.fit_lr"]), 16, int(inp["rad.fit_epochs"]))
        with torch.no_grad():
            for w, b, h in params:
                z = h(z @ w + b)
        return {"fit_val_pred": _np(z.reshape(-1) > 0.5)}  # the checker holds the labels

    for key, fn in (("evaluate", evaluate), ("epoch", epoch), ("fit", fit)):
        attempt(out, key, fn)
    return out


PROBES.update({"1.1a": probe_optimize_f, "1.3a": probe_sigmoid, "1.3b": probe_relu, "1.3e": probe_bce,
               "1.3f,g": probe_bce_perfect, "1.4": probe_model1, "1.5a": probe_network,
               "1.5b": probe_make_layer, "1.6": probe_training})
