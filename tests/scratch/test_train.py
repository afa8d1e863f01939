"""The trainer: the course's digits task (64-32-1, ReLU, sigmoid output, BCE) over five seeds,
History access, determinism, non-finite training, and bad input naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.data import load_digits_binary
from backproplab.errors import NonFiniteError
from backproplab.scratch import SGD, History, Network, evaluate, fit

pytestmark = pytest.mark.scratch


def digits_run(seed: int) -> tuple[Network, History]:
    X_train, y_train, X_val, y_val = load_digits_binary(seed)
    net = Network.from_sizes([64, 32, 1], ["relu", "sigmoid"], init="he", seed=seed)
    history = fit(
        net, X_train, y_train, epochs=15, batch_size=32, optimizer=SGD(0.05, momentum=0.9),
        loss="bce", X_val=X_val, y_val=y_val, seed=seed, progress=False, blas_threads=1,
    )  # fmt: skip
    return net, history


def test_digits_64_32_1_reaches_095_for_every_seed_and_median_0965() -> None:
    accs = []
    for seed in range(5):
        net, history = digits_run(seed)
        accs.append(history["val_acc"][-1])
        _, _, X_val, y_val = load_digits_binary(seed)
        assert history["val_acc"][-1] == pytest.approx(np.mean(net.predict_classes(X_val) == y_val))
    assert min(accs) >= 0.95, accs
    assert np.median(accs) >= 0.965, accs


def test_history_is_dict_like_and_training_lowers_the_loss() -> None:
    _, h = digits_run(0)
    assert len(h) == 15 and set(h.keys()) == {
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "lr",
        "epoch_time",
    }
    assert h["val_acc"] is h.val_acc and "val_loss" in h
    assert h["train_loss"][-1] < 0.5 * h["train_loss"][0]
    d = h.to_dict()
    assert isinstance(d["val_acc"][0], float) and len(d["lr"]) == 15
    with pytest.raises(KeyError):
        h["accuracy"]


def test_same_seed_same_history_and_weights() -> None:
    (n1, h1), (n2, h2) = digits_run(1), digits_run(1)
    assert h1.train_loss == h2.train_loss and h1.val_acc == h2.val_acc
    for a, b in zip(n1.parameters(), n2.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_softmax_classifier_with_onehot_or_labels_float32_and_evaluate() -> None:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, 300)
    X = (centers[y] + rng.standard_normal((300, 4))).astype(np.float32)
    for targets in (y, np.eye(3)[y]):
        net = Network.from_sizes([4, 16, 3], "relu", seed=0, dtype=np.float32)
        h = fit(net, X, targets, epochs=20, batch_size=16, optimizer=SGD(0.1), progress=False)
        assert h["train_acc"][-1] > 0.9
        loss, acc = evaluate(net, X, y)
        assert acc > 0.9 and loss < 0.4
        assert net.parameters()[0].dtype == np.float32


def test_progress_bar_can_be_shown(capsys) -> None:
    from backproplab.progress import progress_mode

    X = np.random.default_rng(0).standard_normal((20, 2))
    with progress_mode("bar", delay=0):  # loops shorter than 2 s show nothing otherwise
        fit(Network.from_sizes([2, 3, 2], "tanh"), X, np.arange(20) % 2, 2, 8, SGD(0.1), progress=True)
    err = capsys.readouterr().err
    assert "Network epoch 1/2 batch" in err and "/3" in err and "loss " in err
    assert "Network epoch 2/2: loss " in err  # and the epoch's line, outside reproduce


def test_progress_off_and_short_loops_are_quiet(capsys) -> None:
    from backproplab.progress import progress_mode

    X = np.random.default_rng(0).standard_normal((20, 2))
    fit(Network.from_sizes([2, 3, 2], "tanh"), X, np.arange(20) % 2, 2, 8, SGD(0.1), progress=True)
    with progress_mode("lines", delay=0):
        fit(Network.from_sizes([2, 3, 2], "tanh"), X, np.arange(20) % 2, 2, 8, SGD(0.1), progress=False)
    assert capsys.readouterr().err == ""  # a 2-epoch run is under the 2 s delay; False is always off


def test_non_finite_loss_stops_with_epoch_batch_and_layer() -> None:
    X = np.random.default_rng(0).standard_normal((64, 4)) * 1e3
    net = Network.from_sizes([4, 8, 1], ["relu", "identity"], seed=0)
    before = [p.copy() for p in net.parameters()]
    with pytest.raises(NonFiniteError, match=r"at epoch 1, batch \d+ of 8; first non-finite: ") as info:
        fit(
            net,
            X,
            X[:, :1] * 1e3,
            epochs=3,
            batch_size=8,
            optimizer=SGD(10.0),
            loss="half_mse",
            progress=False,
        )
    assert info.value.epoch == 1 and info.value.n_batches == 8 and len(info.value.history) == 0
    for got, want in zip(net.parameters(), before, strict=True):  # back at the start of epoch 1
        np.testing.assert_array_equal(got, want)


X4 = np.zeros((10, 4))
Y4 = np.arange(10) % 3


def net4() -> Network:
    return Network.from_sizes([4, 5, 3], "relu", seed=0)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"X": np.zeros((10, 5))}, "X"),
        ({"X": np.zeros(10)}, "X"),
        ({"X": np.full((10, 4), np.nan)}, "X"),
        ({"y": np.arange(10) % 4}, "y"),
        ({"y": -np.ones(10, dtype=int)}, "y"),
        ({"y": np.zeros((10, 4))}, "y"),
        ({"y": np.zeros(9, dtype=int)}, "y"),
        ({"y": np.full(10, 0.5)}, "y"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"loss": "hinge"}, "loss"),
        ({"X_val": np.zeros((3, 4))}, "X_val"),
        ({"X_val": np.zeros((3, 2)), "y_val": np.zeros(3, dtype=int)}, "X_val"),
        ({"X_val": np.zeros((3, 4)), "y_val": np.array([0, 1, 7])}, "y_val"),
        ({"seed": "zero"}, "seed"),
        ({"blas_threads": 0}, "blas_threads"),
        ({"network": "net"}, "network"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, argument: str) -> None:
    args = {"network": net4(), "X": X4, "y": Y4, "epochs": 1, "batch_size": 4, "optimizer": SGD(0.1),
            "progress": False}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        fit(**args)


def test_bce_targets_must_be_in_unit_interval_and_the_right_width() -> None:
    net = Network.from_sizes([4, 3, 1], ["relu", "sigmoid"], seed=0)
    with pytest.raises(ValueError, match=r"^y must hold targets in \[0, 1\]"):
        fit(net, X4, np.full(10, 2.0), 1, 4, SGD(0.1), loss="bce", progress=False)
    with pytest.raises(ValueError, match=r"^y must have shape"):
        fit(net, X4, np.zeros((10, 2)), 1, 4, SGD(0.1), loss="bce", progress=False)


def test_blas_threads_limits_the_pool_inside_the_block_only():
    from threadpoolctl import threadpool_info

    from backproplab.scratch.threads import blas_threads

    def counts():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = counts()
    with blas_threads(1):
        assert all(n == 1 for n in counts())
    assert counts() == before


def test_bce_on_a_network_without_a_sigmoid_output_is_refused_not_clipped() -> None:
    """fit(loss="bce") on an identity output layer clipped its outputs (−0.58 … 1.55) into (0, 1) and
    reported an epoch's loss of 16.6 without a word; bce_with_logits on the same outputs gives 0.74."""
    from backproplab.errors import InputError

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), np.arange(20) % 2
    net = Network.from_sizes([4, 5, 1], ["relu", "identity"], seed=0)
    for call in (lambda: fit(net, X, y, 1, 4, SGD(0.1), loss="bce", progress=False),
                 lambda: evaluate(net, X, y, loss="bce")):
        with pytest.raises(InputError, match="loss 'bce' takes probabilities from a sigmoid last layer, but this "
                                             "network's last activation is 'identity': use loss='bce_with_logits'"):
            call()
    hist = fit(net, X, y, 1, 4, SGD(0.1), loss="bce_with_logits", progress=False)
    assert hist.train_loss[0] == pytest.approx(0.7436, abs=1e-4)
    sig = Network.from_sizes([4, 5, 1], ["relu", "sigmoid"], seed=0)
    assert np.isfinite(fit(sig, X, y, 1, 4, SGD(0.1), loss="bce", progress=False).train_loss[0])
