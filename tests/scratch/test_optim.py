"""SGD (plain, momentum, Nesterov) against torch.optim.SGD, and the step-size schedules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backproplab.errors import InputError
from backproplab.scratch import SGD, constant, exponential, inverse_time, step_decay

pytestmark = pytest.mark.scratch


def test_exponential_schedule_is_computed_from_t_not_compounded() -> None:
    eta0, d = 0.1, 0.9
    schedule = exponential(eta0, d)
    assert schedule(10) == eta0 * d**10  # exactly, bit for bit
    assert schedule(0) == eta0
    compounded = eta0
    for _ in range(10):
        compounded *= d
    # the two differ in the last bits for these numbers, so a compounding schedule fails the test above
    assert compounded != eta0 * d**10


def test_other_schedules() -> None:
    assert constant(0.1)(0) == constant(0.1)(1000) == 0.1
    s = step_decay(1.0, 0.5, every=3)
    assert [s(t) for t in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    inv = inverse_time(0.2, 0.5)
    assert inv(0) == 0.2 and inv(4) == pytest.approx(0.2 / 3)


def test_sgd_uses_the_schedule_per_step() -> None:
    opt = SGD(lr=1.0, schedule=exponential(0.5, 0.5))
    p = np.array([0.0])
    for _ in range(3):
        opt.step([p], [np.array([1.0])])
    assert p[0] == pytest.approx(-(0.5 + 0.25 + 0.125))
    assert opt.t == 3 and opt.lr == 0.5 * 0.5**3


def test_sgd_per_epoch_schedule_advances_only_on_end_epoch() -> None:
    opt = SGD(lr=1.0, schedule=exponential(1.0, 0.5), per="epoch")
    p = np.array([0.0])
    opt.step([p], [np.array([1.0])])
    opt.step([p], [np.array([1.0])])
    assert opt.t == 0 and p[0] == -2.0
    opt.end_epoch()
    assert opt.lr == 0.5


@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True), (0.5, True)])
def test_sgd_trajectory_equals_torch(momentum: float, nesterov: bool) -> None:
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours = SGD(lr=0.05, momentum=momentum, nesterov=nesterov)
    theirs = torch.optim.SGD(tparams, lr=0.05, momentum=momentum, nesterov=nesterov)
    for _ in range(6):
        grads = [rng.standard_normal(p.shape) for p in params]
        ours.step(params, grads)
        for t, g in zip(tparams, grads, strict=True):
            t.grad = torch.tensor(g)
        theirs.step()
    for p, t in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_sgd_keeps_float32() -> None:
    p = np.ones(3, dtype=np.float32)
    SGD(0.1, momentum=0.9).step([p], [np.ones(3, dtype=np.float32)])
    assert p.dtype == np.float32 and np.allclose(p, 0.9)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: SGD(0.0), "lr"),
        (lambda: SGD(-0.1), "lr"),
        (lambda: SGD(float("nan")), "lr"),
        (lambda: SGD(0.1, momentum=1.0), "momentum"),
        (lambda: SGD(0.1, momentum=-0.1), "momentum"),
        (lambda: SGD(0.1, nesterov=True), "nesterov"),
        (lambda: SGD(0.1, schedule=0.5), "schedule"),
        (lambda: SGD(0.1, per="batch"), "per"),
        (lambda: exponential(0.1, 1.5), "d"),
        (lambda: exponential(0.0, 0.5), "eta0"),
        (lambda: step_decay(0.1, 0.5, every=0), "every"),
        (lambda: inverse_time(0.1, -1.0), "k"),
        (lambda: exponential(0.1, 0.5)(-1), "t"),
        (lambda: SGD(0.1).step([np.zeros(2)], []), "grads"),
        (lambda: SGD(0.1).step([np.zeros(2)], [np.zeros(3)]), r"grads\[0\] must"),
    ],
)
def test_bad_arguments(call, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        call()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_gradient_of_another_shape_is_refused_not_broadcast(momentum: float) -> None:
    # a (4,) or (1, 4) gradient for a (3, 4) weight was broadcast by NumPy: every row took the same
    # step, no error; a (1, 4) gradient for a (4,) bias gave "non-broadcastable output operand"
    W, b = np.zeros((3, 4)), np.zeros(4)
    opt = SGD(0.1, momentum=momentum)
    for grads, i, got in (([np.ones(4), np.ones(4)], 0, r"\(4,\)"), ([np.ones((3, 4)), np.ones((1, 4))], 1, r"\(1, 4\)")):
        with pytest.raises(InputError, match=rf"^grads\[{i}\] must have the shape of params\[{i}\] .*got {got}"):
            opt.step([W, b], grads)
    np.testing.assert_array_equal(W, 0.0)  # nothing was updated by the refused steps
    np.testing.assert_array_equal(b, 0.0)
    opt.step([W, b], [np.ones((3, 4)), [1.0, 2.0, 3.0, 4.0]])  # a list of the right shape is fine
    np.testing.assert_allclose(b, [-0.1, -0.2, -0.3, -0.4])
    np.testing.assert_allclose(W, -0.1)
    one = np.array([1.0])
    opt.step([one], [0.5])  # one value for a one-value parameter: the same update (a review found it refused)
    np.testing.assert_allclose(one, [0.95])
