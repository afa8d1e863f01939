"""One divergence policy (backproplab.divergence) for both engines: the same setup, the same error, the
parameters and optimizer state back at the start of the failing epoch."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import backproplab.scratch as scratch
import backproplab.torchnn as torchnn
from backproplab.divergence import Diverged, EpochRollback, nonfinite_error
from backproplab.errors import NonFiniteError

#: both engines word it this way
MESSAGE = re.compile(r"training loss became non-finite.* at epoch (\d+), batch (\d+) of (\d+); first non-finite: "
                     r"(.+); the parameters and optimizer state are restored to the start of epoch \1, the last good "
                     r"state")


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32) * 10
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0).astype(np.int64)


def _scratch_run(epochs: int, lr: float):
    """(the error or None, the parameters before and after the call) of the NumPy engine on the shared setup."""
    X, y = _data()
    net = scratch.Network.from_sizes([4, 16, 3], ["relu", "identity"], seed=0, dtype=np.float32)
    before = [p.copy() for p in net.parameters()]
    try:
        scratch.fit(net, X, y, epochs, 16, scratch.SGD(lr, momentum=0.9), seed=0, progress=False)
        err = None
    except NonFiniteError as exc:
        err = exc
    return err, before, [p.copy() for p in net.parameters()]


def _torch_run(epochs: int, lr: float):
    X, y = _data()
    torch.manual_seed(0)
    model = torchnn.MLP([4, 16, 3])
    before = [p.detach().numpy().copy() for p in model.parameters()]
    try:
        torchnn.fit(model, (X, y), epochs=epochs, batch_size=16, lr=lr, momentum=0.9, seed=0, progress=False,
                    device="cpu")
        err = None
    except NonFiniteError as exc:
        err = exc
    return err, before, [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("run", [_scratch_run, _torch_run], ids=["scratch", "torchnn"])
@pytest.mark.parametrize("lr", [1e6, 1e3])
def test_the_same_diverging_setup_gives_the_same_error_and_the_epoch_start(run, lr) -> None:
    err, initial, params = run(20, lr)
    assert isinstance(err, NonFiniteError), "the setup must diverge"
    match = MESSAGE.search(str(err))
    assert match, str(err)
    assert (int(match[1]), int(match[2]), int(match[3]), match[4]) == (err.epoch, err.batch, err.n_batches, err.layer)
    assert err.n_batches == 4 and 1 <= err.batch <= 4 and err.layer
    assert len(err.history) == err.epoch - 1 and err.history.epochs == err.epoch - 1
    assert all(np.isfinite(p).all() for p in params)
    # the saved state: an uninterrupted run of the epochs before the failing one (none: the initial weights)
    expected = run(err.epoch - 1, lr)[2] if err.epoch > 1 else initial
    for got, want in zip(params, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_rollback_locates_before_it_restores_and_words_one_error() -> None:
    calls, state = [], {"w": 1.0}

    def save():
        calls.append("save")
        return dict(state)

    def restore(snapshot):
        calls.append("restore")
        state.update(snapshot)

    def locate(snapshot, div):
        calls.append(f"locate w={state['w']}")
        return "layers[0].W"

    rollback = EpochRollback(save, restore, locate, after_restore=lambda e, s, h: calls.append("after") or "; noted")
    rollback.start_epoch()
    state["w"] = float("inf")
    err = rollback.fail(Diverged(3, 5, float("nan")), 2, history=["row"])
    assert calls == ["save", "locate w=inf", "restore", "after"] and state == {"w": 1.0}
    assert str(err).startswith("training loss became non-finite (nan) at epoch 2, batch 3 of 5; first non-finite: "
                               "layers[0].W; the parameters and optimizer state are restored to the start of epoch 2, "
                               "the last good state; noted")
    assert (err.epoch, err.batch, err.n_batches, err.layer, err.history) == (2, 3, 5, "layers[0].W", ["row"])
    assert "(" not in str(nonfinite_error(Diverged(1, 1), 1, "x")).split("at epoch")[0]  # value unknown: not shown


def _rollback(state: dict, locate, after_restore=None) -> EpochRollback:
    return EpochRollback(lambda: dict(state), state.update, locate, after_restore=after_restore)


def test_a_raising_locate_still_restores_and_the_error_says_not_located() -> None:
    state = {"w": 1.0}

    def locate(snapshot, div):
        raise MemoryError("replay out of memory")

    rollback = _rollback(state, locate)
    rollback.start_epoch()
    state["w"] = float("inf")
    err = rollback.fail(Diverged(2, 4), 3, history=[])
    assert state == {"w": 1.0}
    assert isinstance(err, NonFiniteError) and err.layer == "not located (MemoryError: replay out of memory)"
    assert MESSAGE.search(str(err))[4] == "not located (MemoryError: replay out of memory)"


def test_a_raising_after_restore_is_a_sentence_of_the_error_not_the_error() -> None:
    state = {"w": 1.0}

    def after_restore(epoch, snapshot, history):
        raise OSError(28, "No space left on device")

    rollback = _rollback(state, lambda s, d: "fc1.weight", after_restore)
    rollback.start_epoch()
    state["w"] = float("nan")
    err = rollback.fail(Diverged(1, 4, float("inf")), 1)
    assert state == {"w": 1.0} and isinstance(err, NonFiniteError) and err.layer == "fc1.weight"
    assert "the last good state; writing that state failed (OSError: [Errno 28] No space left on device); try a " \
           "smaller learning rate" in str(err)


def test_torch_fit_whose_loss_raises_in_the_replay_still_restores_and_raises_nonfinite() -> None:
    """Epoch 2's second batch gives NaN; the loss raises when the replay calls it again (call 9 on):
    the error is the NonFiniteError, not located, and the model is back at the end of epoch 1."""
    X, y = _data()
    calls = [0]

    def loss(out, target):
        calls[0] += 1
        if calls[0] > 8:
            raise RuntimeError("loss broke in the replay")
        value = torch.nn.functional.cross_entropy(out, target)
        return value * float("nan") if calls[0] == 6 else value

    def model_after(epochs, loss_fn):
        torch.manual_seed(0)
        model = torchnn.MLP([4, 16, 3])
        try:
            torchnn.fit(model, (X, y), epochs=epochs, batch_size=16, loss=loss_fn, lr=0.1, seed=0, progress=False,
                        device="cpu")
        except NonFiniteError as exc:
            return model, exc
        return model, None

    model, err = model_after(3, loss)
    assert err is not None and (err.epoch, err.batch) == (2, 2)
    assert err.layer == "not located (RuntimeError: loss broke in the replay)" and calls[0] == 9
    one_epoch, _ = model_after(1, torch.nn.functional.cross_entropy)
    for got, want in zip(model.parameters(), one_epoch.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def _one_huge_step(engine: str, epochs: int):
    """A 2 → 2 identity network on inputs of 1e5 whose first step (the epoch's last) sends the weights to
    inf with finite losses: (the error or None, the initial weights, the weights after the call)."""
    X, y = np.full((4, 2), 1e5, dtype=np.float32), np.array([0, 1, 0, 1])
    if engine == "scratch":
        net = scratch.Network.from_sizes([2, 2], "identity", seed=0, dtype=np.float32)
        params = net.parameters
        call = lambda: scratch.fit(net, X, y, epochs, 4, scratch.SGD(1e37), progress=False)  # noqa: E731
    else:
        torch.manual_seed(0)
        model = torch.nn.Linear(2, 2)
        params = lambda: [p.detach().numpy() for p in model.parameters()]  # noqa: E731
        call = lambda: torchnn.fit(model, (X, y), epochs=epochs, batch_size=4, lr=1e37, progress=False,  # noqa: E731
                                   device="cpu")
    before = [p.copy() for p in params()]
    try:
        call()
        err = None
    except NonFiniteError as exc:
        err = exc
    return err, before, [p.copy() for p in params()]


@pytest.mark.parametrize("engine", ["scratch", "torchnn"])
@pytest.mark.parametrize("epochs", [1, 2])
def test_an_update_that_makes_the_weights_inf_after_the_last_batch_is_caught_in_its_epoch(engine, epochs) -> None:
    """Only each batch's loss was checked, before its step: the last batch's update sent the weights to inf
    unseen. One epoch returned them as the trained result; with two, epoch 1 was kept as good and the
    error of epoch 2 "restored" its inf weights. Both engines now check the parameters after an epoch."""
    err, before, after = _one_huge_step(engine, epochs)
    assert isinstance(err, NonFiniteError) and err.epoch == 1 and (err.batch, err.n_batches) == (1, 1)
    assert str(err).startswith("the parameters became non-finite in the update of epoch 1, batch 1 of 1; "
                               "first non-finite: ")
    assert err.layer in ("layers[0].W", "parameter weight") and len(err.history) == 0
    for got, want in zip(after, before, strict=True):
        np.testing.assert_array_equal(got, want)
