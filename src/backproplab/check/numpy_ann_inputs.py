"""The inputs of ``purdue-numpy-ann``'s probes (:mod:`backproplab.check.numpy_ann`): known weights,
batches and special values, seeded, and those drawn anew for each submission; no expected values."""

from __future__ import annotations

import numpy as np

from backproplab.check.child.numpy_probes import CACHE
from backproplab.scratch import functional as F

PARAMS = ("W1", "b1", "W2", "b2")
SMALL = (30, 16, 10)  # input, hidden, output of the known-weights network
#: The probes' learning rate: not a round value, so a rate written into _backward (0.1, the course's run's,
#: or 0.01 ...) instead of self.lr shows up in 1.6 and 1.7, not only as a weak Fashion-MNIST run.
LR = 0.07
INIT = {"init0": ((784, 32, 10), 0.1, 0), "init1": ((5, 4, 3), 0.05, 7)}
#: Batches in the epoch of 1.7's batches check (their rows alike, so shuffling stays accepted).
BATCHES = 3


def reference_class():
    """The course's reference ``NumpyANN`` (contract-exact)."""
    from backproplab.check.references import numpy_ann

    return numpy_ann()


def _onehot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def make_inputs() -> dict[str, np.ndarray]:
    """The probes' inputs: known weights, batches, special values (seeded; no expected values)."""
    rng = np.random.default_rng(20240611)
    i, h, o = SMALL
    inp = {"small.sizes": np.array(SMALL), "small.lr": np.array(LR), "small.seed": np.array(3)}
    for cfg, (sizes, lr, seed) in INIT.items():
        inp.update({f"{cfg}.sizes": np.array(sizes), f"{cfg}.lr": np.array(lr), f"{cfg}.seed": np.array(seed)})
    inp.update({"known.W1": 0.3 * rng.standard_normal((i, h)), "known.b1": 0.1 * rng.standard_normal((1, h)),
                "known.W2": 0.3 * rng.standard_normal((h, o)), "known.b2": 0.1 * rng.standard_normal((1, o))})
    inp["X"], inp["Y"] = rng.standard_normal((64, i)), _onehot(rng.integers(0, o, 64), o)
    inp["X2"] = rng.standard_normal((40, i))
    relu_x = rng.standard_normal((5, 8))
    relu_x[0, :4] = [0.0, -0.0, 1e-300, -1e-300]
    inp["relu.x"] = relu_x
    tiny = np.finfo(float).tiny
    special = [0.0, -0.0, tiny, -tiny, 5e-324, -5e-324, 1e-300, -1e-300, 1.0, -1.0, 1e-8, -1e-8]
    inp["relu_grad.x"] = np.concatenate([special, rng.standard_normal(28)]).reshape(5, 8)
    inp["ce.rows"] = np.array(3)
    for r in range(3):
        inp[f"ce.true{r}"] = _onehot(rng.integers(0, o, 1), o)
        inp[f"ce.pred{r}"] = F.softmax(rng.standard_normal((1, o)))
    inp["ce.batch_true"] = _onehot(rng.integers(0, o, 4), o)
    inp["ce.batch_pred"] = F.softmax(rng.standard_normal((4, o)))
    inp["train.X"], inp["train.Y"] = rng.standard_normal((16, i)), _onehot(rng.integers(0, o, 16), o)
    inp["train.X3"], inp["train.Y3"] = rng.standard_normal((48, i)), _onehot(rng.integers(0, o, 48), o)
    inp["train.epochs"], inp["train.batch"] = np.array(2), np.array(16)
    # one epoch of BATCHES batches of one row repeated: any row order makes the same batches
    inp["batches.X"] = np.repeat(inp["train.X"][:1], BATCHES * 4, axis=0)
    inp["batches.Y"], inp["batches.batch"] = np.repeat(inp["train.Y"][:1], BATCHES * 4, axis=0), np.array(4)
    # accuracy labels: the reference's own argmax for 25 rows, random for the rest (a value near 0.6)
    ref = _known(inp)
    labels = ref._forward(inp["X2"], False).argmax(axis=1)
    labels[25:] = rng.integers(0, o, 15)
    inp["Y2"] = _onehot(labels, o)
    # 1.6 grades _backward alone: its own batch, whose stored forward values the probe sets to the
    # reference's (the names are the contract's), so a wrong _forward (1.5) does not cost 1.6 as well
    inp["bwd.X"], inp["bwd.Y"] = rng.standard_normal((64, i)), _onehot(rng.integers(0, o, 64), o)
    ref._forward(inp["bwd.X"].copy(), True)
    inp.update({f"bwd.{name}": np.asarray(getattr(ref, name), dtype=float).copy() for name in CACHE})
    inp.update(fresh_inputs(np.random.default_rng(20240614), inp))  # a submission gets its own draws
    return inp


def _accuracy_labels(ref, X: np.ndarray, rng: np.random.Generator, matching: int) -> np.ndarray:
    """One-hot labels for ``X``: ``matching`` rows (drawn) get the reference's argmax, the others another
    class, so that the accuracy is exactly ``matching / len(X)``."""
    k = SMALL[2]
    pred = ref._forward(X.copy(), False).argmax(axis=1)
    labels = (pred + rng.integers(1, k, len(X))) % k
    rows = rng.choice(len(X), matching, replace=False)
    labels[rows] = pred[rows]
    return _onehot(labels, k)


def fresh_inputs(rng: np.random.Generator, inp: dict) -> dict[str, np.ndarray]:
    """The inputs drawn anew for each submission: those of the items whose whole expected value the
    feedback shows (1.4's three losses; 1.9's accuracies, and 1.8's rows with them). On fixed inputs
    ``return 0.7``, read off one run's feedback, scored 1.9 in the next; 1.9 asks for two accuracies
    that differ (under 1/2 and over 1/2), so no constant can pass."""
    i, _, o = SMALL
    out: dict[str, np.ndarray] = {}
    for r in range(int(inp["ce.rows"])):
        out[f"ce.true{r}"] = _onehot(rng.integers(0, o, 1), o)
        out[f"ce.pred{r}"] = F.softmax(rng.standard_normal((1, o)))
    n = 40
    out["X2"] = X = rng.standard_normal((n, i))
    ref = _known(inp)
    out["Y2"] = _accuracy_labels(ref, X, rng, int(rng.integers(n // 5, n // 2)))
    out["Y2b"] = _accuracy_labels(ref, X, rng, int(rng.integers(n // 2 + 1, n - n // 10)))
    return out


def _known(inp: dict):
    """A reference network of the small configuration holding the known weights."""
    ref = reference_class()(*SMALL, LR, 3)
    for name in PARAMS:
        setattr(ref, name, inp[f"known.{name}"].copy())
    return ref
