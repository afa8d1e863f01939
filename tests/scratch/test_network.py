"""Dense layers and Network: forward against the course's functional form and torch, every backprop
gradient of a 4-layer mixed-activation network against central differences and against autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backproplab.errors import InputError
from backproplab.scratch import (
    Dense,
    Network,
    bce,
    bce_grad,
    check_gradients,
    compare_with_torch,
    evaluate,
    forward,
    numerical_gradients,
    relative_error,
)
from backproplab.scratch.gradcheck import analytic_gradients, torch_gradients

pytestmark = pytest.mark.scratch

ACTS = ["tanh", "elu", "sigmoid", "identity"]


def four_layer(seed: int, acts=ACTS, d_out: int = 3, dtype=np.float64) -> Network:
    return Network.from_sizes([5, 7, 6, 4, d_out], list(acts), init="xavier", seed=seed, dtype=dtype)


def batch(seed: int, n: int = 8, classes: int = 3):
    rng = np.random.default_rng(100 + seed)
    return rng.standard_normal((n, 5)), rng.integers(0, classes, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_four_layer_mixed_network_passes_finite_differences_below_1e_6(seed: int) -> None:
    net = four_layer(seed)
    X, y = batch(seed)
    report = check_gradients(net, X, y, "softmax_cross_entropy")
    assert report.passed, str(report)
    assert report.n_checked == sum(p.size for p in net.parameters())
    for name, err in report.per_parameter().items():
        assert err < 1e-6, name
    assert "passed" in str(report) and f"{report.n_checked} derivatives checked" in str(report)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_four_layer_mixed_network_agrees_with_torch_below_1e_8(seed: int) -> None:
    net = four_layer(seed)
    X, y = batch(seed)
    report = compare_with_torch(net, X, y, "softmax_cross_entropy")
    assert report.passed, str(report)
    assert max(report.per_parameter().values()) < 1e-8


@pytest.mark.parametrize(
    ("acts", "loss"),
    [
        (["leaky_relu", "relu", "tanh", "sigmoid"], "bce"),
        (["relu", "leaky_relu", "elu", "identity"], "bce_with_logits"),
        (["sigmoid", "tanh", "relu", "identity"], "half_mse"),
    ],
)
def test_every_loss_through_a_four_layer_network(acts, loss: str) -> None:
    net = Network.from_sizes([5, 7, 6, 4, 1], acts, init="he", seed=3)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((10, 5))
    y = rng.integers(0, 2, 10).astype(float) if loss != "half_mse" else rng.standard_normal(10)
    fd = check_gradients(net, X, y, loss)
    assert fd.passed, str(fd)
    assert compare_with_torch(net, X, y, loss).passed


def test_two_point_central_differences_agree_to_their_own_precision() -> None:
    net = four_layer(0)
    X, y = batch(0)
    numeric = numerical_gradients(net, X, y, "softmax_cross_entropy", eps=1e-6)
    analytic = analytic_gradients(net, X, y, "softmax_cross_entropy")
    for a, n in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-9)


def test_a_wrong_derivative_is_caught_and_named() -> None:
    net = four_layer(0)
    X, y = batch(0)
    net.layers[1].f_grad = lambda z: np.ones_like(z)  # pretend ELU's derivative were 1 everywhere
    report = check_gradients(net, X, y)
    assert not report.passed
    failed = {c.name for c in report.failures()}
    # the broken layer and everything below it are wrong; the layers above it are still right
    assert {"layers[1].W", "layers[0].W"} <= failed
    assert "layers[3].W" not in failed and "layers[2].W" not in failed


def test_failing_report_names_parameter_index_values_and_error(monkeypatch) -> None:
    import backproplab.scratch.gradcheck as gc

    net = four_layer(0)
    X, y = batch(0)
    real = gc._analytic

    def broken(net64, X, t, loss):
        grads = real(net64, X, t, loss)
        grads[2][3, 4] += 0.01  # corrupt one entry of layers[1].W
        return grads

    monkeypatch.setattr(gc, "_analytic", broken)
    report = gc.check_gradients(net, X, y)
    assert not report.passed
    (failure,) = report.failures()
    assert failure.name == "layers[1].W" and failure.index == (3, 4)
    text = str(report)
    assert "FAILED" in text and "layers[1].W" in text and "(3, 4)" in text and "analytic" in text
    with pytest.raises(AssertionError, match=r"layers\[1\]\.W"):
        report.raise_if_failed()


def test_network_forward_equals_functional_forward_and_torch() -> None:
    net = four_layer(5)
    X, _ = batch(5)
    out = net.forward(X)
    np.testing.assert_allclose(out, forward(X, net.as_params()), rtol=1e-14)
    a = torch.tensor(X)
    for W, b, act in net.as_params():
        z = a @ torch.tensor(W) + torch.tensor(b)
        a = {"tanh": torch.tanh, "elu": torch.nn.functional.elu, "sigmoid": torch.sigmoid}.get(
            act, lambda t: t
        )(z)
    np.testing.assert_allclose(out, a.numpy(), rtol=1e-12)
    # a single sample and a (1, d_out) bias, as in the course
    params = [(W, b.reshape(1, -1), act) for W, b, act in net.as_params()]
    np.testing.assert_allclose(forward(X[0], params), out[0], rtol=1e-14)


def test_dense_backward_returns_the_input_gradient_of_torch() -> None:
    rng = np.random.default_rng(0)
    layer = Dense(6, 4, activation="tanh", init="xavier", seed=0)
    x = rng.standard_normal((5, 6))
    g = rng.standard_normal((5, 4))
    layer.forward(x)
    gin = layer.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    tW = torch.tensor(layer.W, requires_grad=True)
    tb = torch.tensor(layer.b, requires_grad=True)
    torch.tanh(tx @ tW + tb).backward(torch.tensor(g))
    np.testing.assert_allclose(gin, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.dW, tW.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.db, tb.grad.numpy(), rtol=1e-12)
    assert layer.W.shape == (6, 4) and layer.b.shape == (4,)


def test_network_input_gradient_matches_torch() -> None:
    net = Network.from_sizes([5, 8, 3], ["relu", "identity"], seed=1)
    X, y = batch(1)
    out = net.forward(X)
    from backproplab.scratch.functional import softmax_cross_entropy_grad

    gx = net.backward(softmax_cross_entropy_grad(out, y), need_input_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    (W1, b1, _), (W2, b2, _) = net.as_params()
    logits = torch.relu(tx @ torch.tensor(W1) + torch.tensor(b1)) @ torch.tensor(W2) + torch.tensor(b2)
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_float32_network_matches_float64_gradients() -> None:
    net64 = four_layer(4, acts=["relu", "leaky_relu", "tanh", "identity"])
    net32 = net64.astype(np.float32)
    X, y = batch(4)
    _, g64 = torch_gradients(net64, X, y)
    out = net32.forward(X.astype(np.float32))
    assert out.dtype == np.float32
    from backproplab.scratch.functional import softmax_cross_entropy_grad

    net32.backward(softmax_cross_entropy_grad(out, y))
    for g32, ref in zip(net32.gradients(), g64, strict=True):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, ref, rtol=1e-3, atol=1e-5)


def test_buffers_are_reused_but_forward_returns_a_copy() -> None:
    net = Network.from_sizes([4, 3, 2], "relu", seed=0)
    a = net.forward(np.ones((2, 4)))
    b = net.forward(np.zeros((2, 4)))
    assert not np.shares_memory(a, b) and not np.array_equal(a, b)
    assert net.predict(np.ones((7, 4)), batch_size=3).shape == (7, 2)
    assert net.predict_classes(np.ones((7, 4))).shape == (7,)


def test_dead_units_counts_relu_units_that_never_fire() -> None:
    net = Network.from_sizes([3, 6, 4, 2], ["relu", "tanh", "identity"], seed=0)
    X = np.random.default_rng(0).standard_normal((50, 3))
    assert net.dead_units(X) == [0, None, None]
    net.layers[0].b[:2] = -100.0  # a large negative bias shift kills two units
    assert net.dead_units(X) == [2, None, None]


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: Network([]), "layers"),
        (lambda: Network([Dense(3, 4), Dense(5, 2)]), r"layers\[1\]"),
        (lambda: Network([Dense(3, 4), Dense(4, 2, dtype=np.float32)]), "layers"),
        (lambda: Network(["dense"]), r"layers\[0\]"),
        (lambda: Dense(3, 4, activation="swish"), "activation"),
        (lambda: Dense(3, 4, dtype="float16"), "dtype"),
        (lambda: Network.from_sizes([3]), "sizes"),
        (lambda: Network.from_sizes([3, 4, 2], ["relu"]), "activations"),
        (lambda: Network.from_sizes([3, 4, 2], None), "activations must be one name or a list of 2"),
        (lambda: Network.from_sizes([3, 4, 2], init=None), "init must be one name or a list of 2"),
        (lambda: Network.from_sizes([3, 4, 2]).forward(np.ones((2, 5))), "x"),
        (lambda: Network.from_sizes([3, 4, 2]).forward(np.ones(3)), "x"),
        (lambda: Network.from_sizes([3, 4, 2]).forward(np.full((2, 3), np.nan)), "x"),
        (lambda: Network.from_sizes([3, 4, 2]).predict(np.full((2, 3), np.inf)), "X"),
        (lambda: Dense(3, 2).backward(np.ones((1, 2))), "backward"),
        (lambda: forward(np.ones((2, 3)), [(np.ones((4, 2)), np.zeros(2), "relu")]), r"params\[0\]"),
        (lambda: relative_error(np.ones(2), np.ones(3)), "b"),
        (lambda: relative_error(np.ones(2), np.ones(2), floor=-1.0), "floor"),
        (lambda: relative_error(np.ones(2), np.ones(2), floor=float("nan")), "floor"),
        (lambda: check_gradients(*_net_and_data(), loss="bce", floor=-1e-8), "floor"),
        (lambda: compare_with_torch(*_net_and_data(), loss="bce", floor=float("nan")), "floor"),
    ],
)
def test_bad_input(call, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}"):
        call()


def _net_and_data():
    net = Network.from_sizes([2, 4, 1], ["relu", "sigmoid"], seed=0)
    X = np.random.default_rng(0).standard_normal((8, 2))
    return net, X, (X[:, 0] > 0).astype(float)


@pytest.mark.parametrize("call, words", [
    # range(0, N, -1) is empty: evaluate gave (0.0, 0.0) and dead_units called every ReLU unit dead
    (lambda net, X, y: evaluate(net, X, y, loss="bce", batch_size=-1), "batch_size must be >= 1, got -1"),
    (lambda net, X, y: net.dead_units(X, batch_size=0), "batch_size must be >= 1, got 0"),
    (lambda net, X, y: evaluate(net, X[:, :1], y, loss="bce"), r"X must have shape \(N, 2\) for this network"),
    (lambda net, X, y: bce_grad([1.5], [1.0]), r"p must hold probabilities in \[0, 1\]"),  # bce refused it
    # a (1,) b was broadcast over the three units without a word
    (lambda net, X, y: forward([[1.0, 1.0]], [(np.ones((2, 3)), [5.0], "identity")]),
     r"params\[0\] b must have shape \(3,\) or \(1, 3\) for a W of shape \(2, 3\), got \(1,\)"),
], ids=["evaluate batch_size", "dead_units batch_size", "evaluate X", "bce_grad p", "forward b"])
def test_bad_input_at_the_doors_is_named_not_answered(call, words) -> None:
    with pytest.raises(InputError, match=words):
        call(*_net_and_data())


def test_bce_in_float16_never_takes_log_0() -> None:
    """In float16, 1 - 1e-7 is 1: p = 1 with target 0 took log(0) (inf loss, divide-by-zero warnings)."""
    with np.errstate(all="raise"):
        loss, grad = bce(np.float16([1.0]), [0.0]), bce_grad(np.float16([1.0]), [0.0])
    assert np.isfinite(loss) and np.isfinite(grad).all() and loss > 6


def test_a_pure_relative_error_floor_0_passes_exact_zeros() -> None:
    # floor=0 (a pure relative error) made two exact zeros 0/0 = NaN: a dead ReLU unit's gradient,
    # 0 both ways, was reported "FAILED ... analytic 0, numeric 0, relative error nan", with a warning
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(relative_error(np.array([0.0, 2.0]), np.array([0.0, 2.0]), floor=0.0), 0.0)
        assert relative_error(np.array([0.0, 1.0]), np.array([0.0, 1.5]), floor=0.0) == pytest.approx(1 / 3)
    net = Network.from_sizes([4, 6, 3], "relu", seed=0)
    X = np.random.default_rng(0).standard_normal((10, 4)) - 5.0  # most hidden units dead: zero gradients
    y = np.arange(10) % 3
    assert (analytic_gradients(net, X, y)[0] == 0.0).sum() >= 4  # the dead units' exact zeros
    report = check_gradients(net, X, y, floor=0.0)
    assert report.passed, str(report)
    assert np.isnan(relative_error(np.array([np.nan]), np.array([1.0])))  # NaN stays a failure
