"""Initialisers: the course's He check, fan-in vs fan-out, Xavier, reproducibility, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backproplab.scratch import init

pytestmark = pytest.mark.scratch


def test_course_he_check_holds_for_fan_out() -> None:
    # the course: a He weight from make_layer(100000, 2, ...) has std ~ 1, so fan = 2 = d_out
    W, b = init.make_layer(100000, 2, "he_fan_out", rng=0)
    assert W.shape == (100000, 2) and b.shape == (2,)
    assert W.std() == pytest.approx(1.0, abs=0.01)
    assert np.all(b == 0)


def test_fan_in_he_on_the_same_layer_has_std_sqrt_2_over_d_in() -> None:
    W, _ = init.make_layer(100000, 2, "he", rng=0)
    assert W.std() == pytest.approx(np.sqrt(2 / 100000), rel=0.01)  # 0.00447, not 1


def test_torch_kaiming_normal_on_a_d_in_by_d_out_array_gives_the_course_number() -> None:
    # PyTorch reads fan_in from size(1): for a (d_in, d_out) array that is d_out
    w = torch.empty(100000, 2)
    torch.nn.init.kaiming_normal_(w, generator=torch.Generator().manual_seed(0))
    assert float(w.std()) == pytest.approx(1.0, abs=0.01)
    # and on nn.Linear's own (d_out, d_in) layout it is the fan-in: std sqrt(2 / d_in)
    w = torch.empty(2, 100000)
    torch.nn.init.kaiming_normal_(w, generator=torch.Generator().manual_seed(0))
    assert float(w.std()) == pytest.approx(np.sqrt(2 / 100000), rel=0.01)


@pytest.mark.parametrize(
    ("func", "kwargs", "std"),
    [
        (init.he, {"mode": "fan_in"}, np.sqrt(2 / 400)),
        (init.he, {"mode": "fan_out"}, np.sqrt(2 / 300)),
        (init.he, {"mode": "fan_in", "distribution": "uniform"}, np.sqrt(2 / 400)),
        (init.xavier, {}, np.sqrt(2 / 700)),
        (init.xavier, {"distribution": "uniform"}, np.sqrt(2 / 700)),
        (init.small_normal, {}, 0.01),
    ],
)
def test_standard_deviations(func, kwargs, std) -> None:
    W = func(400, 300, rng=np.random.default_rng(1), **kwargs)
    assert W.shape == (400, 300)
    assert W.std() == pytest.approx(std, rel=0.02)
    assert abs(W.mean()) < 0.05 * std


def test_uniform_bounds() -> None:
    W = init.he(50, 20, distribution="uniform", rng=3)
    assert np.abs(W).max() <= np.sqrt(6 / 50)
    W = init.xavier(50, 20, distribution="uniform", rng=3)
    assert np.abs(W).max() <= np.sqrt(6 / 70)


def test_seed_and_generator_reproduce_and_dtype() -> None:
    a, _ = init.make_layer(5, 3, "he", rng=7)
    b, _ = init.make_layer(5, 3, "he", rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    w32, b32 = init.make_layer(5, 3, "xavier", rng=7, dtype=np.float32)
    assert w32.dtype == np.float32 and b32.dtype == np.float32
    assert np.all(init.zeros(4, 2) == 0)


def test_callable_init() -> None:
    W, _ = init.make_layer(3, 2, lambda i, o, rng, dtype: np.full((i, o), 0.5, dtype), rng=0)
    assert np.all(W == 0.5)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: init.make_layer(0, 2), "d_in"),
        (lambda: init.make_layer(3, -1), "d_out"),
        (lambda: init.make_layer(3, 2.5), "d_out"),
        (lambda: init.make_layer(3, 2, "lecun"), "init"),
        (lambda: init.he(3, 2, mode="fan_avg"), "mode"),
        (lambda: init.he(3, 2, distribution="cauchy"), "distribution"),
        (lambda: init.make_layer(3, 2, rng="seed"), "rng"),
        (lambda: init.make_layer(3, 2, dtype=np.int32), "dtype"),
        (lambda: init.make_layer(3, 2, lambda i, o, r, d: np.zeros((o, i))), "init"),
        (lambda: init.small_normal(3, 2, std=0), "std"),
    ],
)
def test_bad_arguments(call, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        call()
