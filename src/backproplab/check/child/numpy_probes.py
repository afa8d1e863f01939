"""Child-side probes for ``purdue-numpy-ann``: call the student's ``NumpyANN`` and return what came back.

Runs inside the student's process (see ``main.py``), so it holds no expected value: each probe takes
the module and the inputs the parent wrote, and returns a dict of arrays, numbers and strings.
"""

from __future__ import annotations

import numpy as np

PARAMS = ("W1", "b1", "W2", "b2")


def setup() -> None:
    """Nothing beyond NumPy, imported above."""


def load_inputs(path: str) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _make(mod, inp, cfg="small"):
    size = [int(v) for v in inp[f"{cfg}.sizes"]]
    return mod.NumpyANN(size[0], size[1], size[2], float(inp[f"{cfg}.lr"]), int(inp[f"{cfg}.seed"]))


def _with_weights(mod, inp):
    """A student network of the small configuration holding the parent's known weights."""
    net = _make(mod, inp)
    for name in PARAMS:
        setattr(net, name, inp[f"known.{name}"].copy())
    return net


def _params(net, prefix: str = "") -> dict:
    return {f"{prefix}{name}": np.array(getattr(net, name), dtype=float) for name in PARAMS if hasattr(net, name)}


def _attempt(out: dict, key: str, fn) -> None:
    """``out[key] = fn()``, or the error's text under ``key + '!'`` (for optional calls)."""
    try:
        with np.errstate(all="ignore"):
            out[key] = fn()
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        out[key + "!"] = f"{type(err).__name__}: {err}"[:300]


def probe_init(mod, inp):
    out = {}
    for cfg in ("init0", "init1"):
        net = _make(mod, inp, cfg)
        for attr in ("input_size", "hidden_size", "output_size", "lr"):
            value = getattr(net, attr, None)
            out[f"{cfg}.{attr}"] = value if isinstance(value, int | float) else repr(value)
            out[f"{cfg}.{attr}.type"] = type(value).__name__
        for name in PARAMS:
            value = getattr(net, name, None)
            if value is None:
                out[f"{cfg}.{name}.missing"] = True
            else:
                out[f"{cfg}.{name}"] = np.asarray(value)
    return out


def probe_relu(mod, inp):
    net = _make(mod, inp)
    x = inp["relu.x"].copy()
    out = {"relu": np.array(net._relu(x))}
    out["changed_input"] = not np.array_equal(x, inp["relu.x"])
    return out


def probe_relu_grad(mod, inp):
    net = _make(mod, inp)
    return {"grad": np.asarray(net._relu_grad(inp["relu_grad.x"].copy()))}


def probe_cross_entropy(mod, inp):
    net = _make(mod, inp)
    out = {}
    for i in range(int(inp["ce.rows"])):
        yt, yp = inp[f"ce.true{i}"].copy(), inp[f"ce.pred{i}"].copy()
        out[f"row{i}"] = float(np.asarray(net._cross_entropy(yt, yp)))
        _attempt(out, f"swap{i}", lambda yt=yt, yp=yp: float(np.asarray(net._cross_entropy(yp, yt))))
    _attempt(out, "batch", lambda: float(np.asarray(net._cross_entropy(inp["ce.batch_true"].copy(),
                                                                        inp["ce.batch_pred"].copy()))))
    return out


def probe_forward(mod, inp):
    net = _with_weights(mod, inp)
    out = {"ret": np.asarray(net._forward(inp["X"].copy(), True), dtype=float)}
    for name in ("z1", "a1", "z2", "a2"):
        if getattr(net, name, None) is not None:
            out[f"self.{name}"] = np.asarray(getattr(net, name), dtype=float)
    net2 = _with_weights(mod, inp)
    out["ret_eval"] = np.asarray(net2._forward(inp["X"].copy(), False), dtype=float)
    return out


CACHE = ("z1", "a1", "z2", "a2")
"""What ``_forward(x, True)`` stores on ``self``, under the contract's names (A1 1.5)."""


def probe_backward(mod, inp):
    """The parameters after ``_backward`` on values stored by the student's own ``_forward`` and then
    replaced by the reference's (sent by the parent), so that only ``_backward`` is graded."""
    net = _with_weights(mod, inp)
    net._forward(inp["bwd.X"].copy(), True)
    for name in CACHE:
        setattr(net, name, inp[f"bwd.{name}"].copy())
    ret = net._backward(inp["bwd.X"].copy(), inp["bwd.Y"].copy())
    out = _params(net)
    if ret is not None:
        out["returned"] = type(ret).__name__
    return out


def _history_shape(hist, epochs: int) -> dict:
    """How the returned history is laid out, as data: type, and which entries have one value per epoch.

    Accepted layouts: a dict of per-epoch sequences, a list/tuple holding per-epoch sequences, or one
    entry per epoch (a list of dicts or tuples, an array with one row per epoch)."""
    info = {"type": type(hist).__name__, "per_epoch": []}
    if isinstance(hist, dict):
        info["per_epoch"] = [str(k) for k, v in hist.items() if hasattr(v, "__len__") and len(v) == epochs]
    elif isinstance(hist, list | tuple | np.ndarray) and np.ndim(hist) > 0:
        info["length"] = len(hist)
        info["per_epoch"] = [str(i) for i, v in enumerate(hist) if hasattr(v, "__len__") and len(v) == epochs]
        if info["length"] == epochs and epochs and all(isinstance(v, dict | list | tuple | np.ndarray) for v in hist):
            info["per_epoch"].append("one entry per epoch")
    return info


def _history_ends(hist, epochs: int, limit: int = 50) -> list[float]:
    """The last value of every per-epoch series of numbers in ``hist`` (any layout :func:`_history_shape`
    accepts): what the history says about the model after the last epoch."""
    series: list = []
    if isinstance(hist, dict):
        series = [v for v in hist.values() if hasattr(v, "__len__") and len(v) == epochs]
    elif isinstance(hist, list | tuple | np.ndarray) and np.ndim(hist) > 0:
        series = [v for v in hist if hasattr(v, "__len__") and len(v) == epochs]
        if len(hist) == epochs and epochs and isinstance(hist[-1], dict | list | tuple | np.ndarray):
            last = hist[-1].values() if isinstance(hist[-1], dict) else hist[-1]
            series += [[v] for v in last]
    ends = []
    for values in series[:limit]:
        try:
            value = float(values[-1])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if np.isfinite(value):
            ends.append(value)
    return ends


def _validation_losses(net, X, Y) -> list[float]:
    """The trained ``net``'s validation loss, in the forms a history may hold it: the contract's (the
    mean over rows of ``-sum(y log p) / classes``), without the division by the classes, and as the
    student's own ``_cross_entropy`` gives it (which ``train`` calls for that loss)."""
    losses: list[float] = []
    try:
        p = np.asarray(net._forward(X.copy(), False), dtype=float)
        per_row = -np.sum(Y * np.log(np.clip(p, 1e-12, 1.0)), axis=1)
        losses += [float(np.mean(per_row) / Y.shape[1]), float(np.mean(per_row))]
        losses.append(float(net._cross_entropy(Y.copy(), p)))
    except Exception:  # noqa: BLE001 - what raised is graded by its own item
        pass
    return losses


def probe_train(mod, inp):
    net = _with_weights(mod, inp)
    n = inp["train.X"].shape[0]
    pairs = _first_backward(net)
    net.train(inp["train.X"].copy(), inp["train.Y"].copy(), inp["X"].copy(), inp["Y"].copy(), 1, n)
    out = dict(_params(net), **pairs)
    net2 = _with_weights(mod, inp)
    epochs = int(inp["train.epochs"])
    hist = net2.train(inp["train.X3"].copy(), inp["train.Y3"].copy(), inp["X"].copy(), inp["Y"].copy(),
                      epochs, int(inp["train.batch"]))
    out["history"] = dict(_history_shape(hist, epochs), ends=_history_ends(hist, epochs),
                          val_losses=_validation_losses(net2, inp["X"], inp["Y"]))
    net3 = _with_weights(mod, inp)
    rows = _backward_rows(net3)
    try:  # graded as a check of its own: an error here does not cost the step above
        with np.errstate(all="ignore"):
            net3.train(inp["batches.X"].copy(), inp["batches.Y"].copy(), inp["X"].copy(), inp["Y"].copy(), 1,
                       int(inp["batches.batch"]))
    except Exception as err:  # noqa: BLE001 - the student's train may raise anything
        out["batches!"] = f"{type(err).__name__}: {err}"[:300]
        return out
    out.update(_params(net3, "batches."))
    out["batches.rows"] = rows
    return out


def _first_backward(net) -> dict:
    """The rows and labels ``train`` hands to ``net._backward`` first, as ``pairs.X`` and ``pairs.Y`` (filled
    in by that call; nothing when train does not call it with two arrays of numbers): which label went
    with which row."""
    seen: dict = {}
    backward = getattr(net, "_backward", None)
    if not callable(backward):
        return seen

    def recording(*args, **kwargs):
        if not seen and len(args) >= 2:
            try:
                if max(np.size(args[0]), np.size(args[1])) <= 10**6:
                    seen["pairs.X"], seen["pairs.Y"] = np.array(args[0], dtype=float), np.array(args[1], dtype=float)
            except (TypeError, ValueError):
                seen.clear()
        return backward(*args, **kwargs)

    net._backward = recording
    return seen


def _backward_rows(net) -> list[int]:
    """The row counts of the batches of alike rows (the training set of ``batches.``) that ``train``
    hands to ``net._backward``, recorded from now on (nothing when the student's train does not call it)."""
    rows: list[int] = []
    backward = getattr(net, "_backward", None)
    if not callable(backward):
        return rows

    def recording(X, *args, **kwargs):
        try:
            x = np.asarray(X, dtype=float)
            flat = x.reshape(x.shape[0], -1)
            if flat.shape[0] and (flat == flat[:1]).all():
                rows.append(int(flat.shape[0]))
        except (TypeError, ValueError, IndexError):
            pass
        return backward(X, *args, **kwargs)

    net._backward = recording
    return rows


def probe_predict(mod, inp):
    net = _with_weights(mod, inp)
    out = {}
    _attempt(out, "forward", lambda: net._forward(inp["X"].copy(), True))
    before = getattr(net, "a2", None)
    before = None if before is None else np.array(before, dtype=float)
    out["pred"] = np.asarray(net.predict(inp["X2"].copy()))
    after = getattr(net, "a2", None)
    if before is not None:
        out["a2_changed"] = after is None or np.shape(after) != before.shape or \
            not np.array_equal(np.asarray(after, dtype=float), before)
    return out


def probe_accuracy(mod, inp):
    net = _with_weights(mod, inp)
    return {"acc": np.asarray(net.accuracy(inp["X2"].copy(), inp["Y2"].copy()), dtype=float),
            "acc_b": np.asarray(net.accuracy(inp["X2"].copy(), inp["Y2b"].copy()), dtype=float)}


def _onehot(labels, k=10):
    out = np.zeros((labels.shape[0], k))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def probe_fashion(mod, inp):
    def flat(name):
        return np.load(f"{name}.npy", allow_pickle=False).reshape(-1, 784).astype(np.float64) / 255.0

    ytr = np.load("fm_train_y.npy", allow_pickle=False)
    yval = np.load("fm_val_y.npy", allow_pickle=False)
    run = [int(v) for v in inp["fm.run"]]  # hidden, epochs, batch_size, seed
    net = mod.NumpyANN(784, run[0], 10, float(inp["fm.lr"]), run[3])
    net.train(flat("fm_train_x"), _onehot(ytr), flat("fm_val_x"), _onehot(yval), run[1], run[2])
    pred = np.asarray(net.predict(flat("fm_test_x")))
    return {"test_pred": pred.argmax(axis=1) if pred.ndim == 2 else pred.reshape(-1)}


PROBES = {"1.1": probe_init, "1.2": probe_relu, "1.3": probe_relu_grad, "1.4": probe_cross_entropy,
          "1.5": probe_forward, "1.6": probe_backward, "1.7": probe_train, "1.8": probe_predict,
          "1.9": probe_accuracy, "1.10": probe_fashion}
