"""One History for both engines: the same keys, the dict face, plain-data round trips, old checkpoints."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import backproplab.scratch as scratch
import backproplab.torchnn as torchnn
from backproplab.errors import InputError
from backproplab.history import METRICS, History, plot_history


def _data(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0).astype(np.int64)


def _scratch_history(epochs: int = 3) -> History:
    X, y = _data()
    net = scratch.Network.from_sizes([4, 8, 3], ["relu", "identity"], seed=0, dtype=np.float32)
    return scratch.fit(net, X, y, epochs, 16, scratch.SGD(0.1), X_val=X[:32], y_val=y[:32], progress=False)


def _torch_history(epochs: int = 3, **kw) -> History:
    X, y = _data()
    torch.manual_seed(0)
    return torchnn.fit(torchnn.MLP([4, 8, 3]), (X, y), (X[:32], y[:32]), epochs=epochs, batch_size=16, lr=0.1,
                       progress=False, device="cpu", **kw)


def test_both_engines_export_the_one_class() -> None:
    assert scratch.History is torchnn.History is History
    assert torchnn.plot_history is plot_history


@pytest.mark.parametrize("make", [_scratch_history, _torch_history], ids=["scratch", "torchnn"])
def test_both_engines_fill_the_same_keys_one_value_per_epoch(make) -> None:
    h = make(epochs=3)
    assert isinstance(h, History) and h.keys() == list(METRICS) == list(h) == list(dict(h))
    assert len(h) == h.epochs == 3
    assert all(len(h[k]) == 3 for k in METRICS)
    assert h["lr"] == [pytest.approx(0.1)] * 3  # both record the rate each epoch trained with
    assert "val_acc" in h and "probes" not in h and h.get("probes") is None and h.get("x", 7) == 7
    assert dict(h.items()) == {k: getattr(h, k) for k in METRICS} and h.values() == [h[k] for k in METRICS]
    with pytest.raises(KeyError, match="'loss' is not a History metric"):
        h["loss"]


def test_torch_records_the_scheduled_rate_per_epoch() -> None:
    h = _torch_history(epochs=4, lr_schedule=lambda e: 0.2 if e >= 2 else 1.0)
    assert h.lr == pytest.approx([0.1, 0.1, 0.02, 0.02])


def test_to_dict_is_json_and_from_dict_inverts_it() -> None:
    h = _torch_history(epochs=2, probes=[torchnn.GradientMagnitudes()])
    data = json.loads(json.dumps(h.to_dict()))
    assert set(data) == {*METRICS, "probes", "params"} and data["params"]["optimizer"] == "SGD"
    assert History.from_dict(data) == h
    assert len(h.probes["grad_magnitudes"]["layers.0"]) == 2 * 6  # one record per batch


def test_a_history_written_before_lr_was_recorded_still_reads() -> None:
    old = {"train_loss": [1.0, 0.5], "train_acc": [0.2, 0.6], "val_loss": [], "val_acc": [],
           "epoch_time": [1.0, 1.0], "probes": {}, "params": {"lr": 0.1}}  # the torch checkpoints' format before
    h = History.from_dict(old)
    assert h.epochs == 2 and len(h.lr) == 2 and all(math.isnan(v) for v in h.lr)  # not known: NaN, not 0.1


@pytest.mark.parametrize(("data", "words"), [
    ({"train_loss": [1.0, 0.9], "train_acc": [0.1], "epoch_time": [1, 1]}, ["disagree", "train_acc 1"]),
    ({"train_loss": [1.0], "train_acc": [0.1], "epoch_time": [1], "val_loss": [1.0], "val_acc": []},
     ["disagree", "val_acc 0"]),
    ({"train_loss": "low"}, ["history['train_loss'] must be a list of numbers", "str"]),
    ({"train_loss": [True]}, ["history['train_loss'] must be a list of numbers"]),
    ({"params": [1]}, ["history['params'] must be a dict", "list"]),
    ({"probes": {"p": [1.0]}}, ["history['probes'] must map each probe name"]),
    ([1.0], ["history must be a dict", "list"]),
])
def test_from_dict_names_what_is_wrong(data, words) -> None:
    with pytest.raises(InputError) as info:
        History.from_dict(data)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_plot_reads_either_engine_and_the_plain_dict() -> None:
    for h in (_scratch_history(2), _torch_history(2).to_dict()):
        fig = plot_history(h, title="t")
        ax_loss, ax_acc = fig.axes
        assert len(ax_loss.lines) == 2 and list(ax_acc.lines[0].get_xdata()) == [1, 2]
        ticks = [t for t in ax_loss.get_xticks() if 1 <= t <= 2]  # whole epochs only (1.25 was a tick)
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
