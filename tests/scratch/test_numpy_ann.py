"""NumpyANN against the course's contract (CONTRACTS.md A1), row by row, with the numbers a checker
uses: the seeded init, the loss's scale, the backward pass against finite differences and torch
autograd, the in-order training loop, and what happens on bad input or a diverging run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backproplab.errors import InputError, NonFiniteError
from backproplab.history import History
from backproplab.scratch import NumpyANN, functional

pytestmark = pytest.mark.scratch


def _small(seed: int = 1, lr: float = 0.5):
    rng = np.random.default_rng(0)
    m = NumpyANN(6, 5, 3, lr=lr, seed=seed)
    X = rng.standard_normal((7, 6))
    y = rng.integers(0, 3, 7)
    return m, X, y, np.eye(3)[y]


# 1.1 ------------------------------------------------------------------------------------------
def test_1_1_init_is_np_random_seed_then_W1_then_W2() -> None:
    m = NumpyANN(784, 128, 10, 0.1, 0)
    assert (m.input_size, m.hidden_size, m.output_size, m.lr) == (784, 128, 10, 0.1)
    assert m.W1[0, 0] == pytest.approx(0.017640523, abs=1e-9)  # 0.01 x the first N(0,1) of seed 0
    np.random.seed(0)
    W1 = 0.01 * np.random.randn(784, 128)
    W2 = 0.01 * np.random.randn(128, 10)
    np.testing.assert_array_equal(m.W1, W1)
    np.testing.assert_array_equal(m.W2, W2)
    assert m.W1.dtype == np.float64 and m.b1.shape == (1, 128) and m.b2.shape == (1, 10)
    assert not m.b1.any() and not m.b2.any()


def test_1_1_a_generator_is_an_opt_in_that_leaves_the_global_state_alone() -> None:
    np.random.seed(3)
    expected = np.random.rand()
    np.random.seed(3)
    m = NumpyANN(4, 3, 2, seed=np.random.default_rng(5))
    assert np.random.rand() == expected
    np.testing.assert_array_equal(m.W1, 0.01 * np.random.default_rng(5).standard_normal((4, 3)))


# 1.2, 1.3 -------------------------------------------------------------------------------------
def test_1_2_1_3_relu_and_its_gradient_are_the_functional_ones() -> None:
    m = NumpyANN(4, 3, 2)
    x = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(m._relu(x), [[0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(m._relu_grad(x), [[0.0, 0.0, 1.0]])  # 0 at x = 0
    assert NumpyANN._relu is functional.relu and NumpyANN._relu_grad is functional.relu_grad
    assert NumpyANN._softmax is functional.softmax


# 1.4 ------------------------------------------------------------------------------------------
def test_1_4_cross_entropy_one_row_is_minus_sum_y_log_p_over_classes() -> None:
    m = NumpyANN(4, 3, 10)
    p = functional.softmax(np.linspace(-1, 2, 10))
    y = np.eye(10)[3]
    expected = -np.sum(y * np.log(p)) / 10
    assert m._cross_entropy(y, p) == pytest.approx(expected, rel=1e-14)            # (K,) rows
    assert m._cross_entropy(y[None], p[None]) == pytest.approx(expected, rel=1e-14)  # (1, K)
    assert m._cross_entropy(np.array([3]), p[None]) == pytest.approx(expected, rel=1e-14)  # a label


def test_1_4_batch_is_the_mean_of_the_row_values() -> None:
    m = NumpyANN(4, 3, 10)
    rng = np.random.default_rng(0)
    P = functional.softmax(rng.standard_normal((32, 10)) * 0.01)
    Y = np.eye(10)[rng.integers(0, 10, 32)]
    rows = [m._cross_entropy(Y[i], P[i]) for i in range(32)]
    assert m._cross_entropy(Y, P) == pytest.approx(np.mean(rows), rel=1e-14)
    # near-uniform predictions: mean CE ~ log 10 = 2.30, the contract's value a tenth of it
    assert m._cross_entropy(Y, P) == pytest.approx(np.log(10) / 10, rel=1e-2)


def test_1_4_swapped_arguments_raise_instead_of_a_silent_number() -> None:
    m = NumpyANN(4, 3, 10)
    P = functional.softmax(np.random.default_rng(0).standard_normal((32, 10)))
    Y = np.eye(10)[np.arange(32) % 10]
    with pytest.raises(InputError, match="swapped.*truth first"):
        m._cross_entropy(P, Y)
    with pytest.raises(InputError, match="y_true"):
        m._cross_entropy(P, np.arange(32) % 10)  # probabilities where the truth goes
    with pytest.raises(InputError, match="^y_pred must hold probabilities"):
        m._cross_entropy(Y, P * 3)


# 1.5 ------------------------------------------------------------------------------------------
def test_1_5_forward_stores_z1_a1_z2_a2_only_when_training() -> None:
    m, X, _, _ = _small()
    a2 = m._forward(X, False)
    assert m.z1 is None and m.a2 is None
    assert m._forward(X, True) is m.a2
    np.testing.assert_allclose(m.z1, X @ m.W1 + m.b1, rtol=1e-15)
    np.testing.assert_array_equal(m.a1, np.maximum(m.z1, 0))
    np.testing.assert_allclose(m.z2, m.a1 @ m.W2 + m.b2, rtol=1e-15)
    np.testing.assert_allclose(a2, functional.softmax(m.z2), rtol=1e-15)
    np.testing.assert_allclose(a2.sum(axis=1), 1.0, rtol=1e-15)


# 1.6 ------------------------------------------------------------------------------------------
def _numeric_grads(m: NumpyANN, loss, eps: float = 1e-6) -> list[np.ndarray]:
    grads = []
    for name in ("W1", "b1", "W2", "b2"):
        theta = getattr(m, name)
        g = np.zeros_like(theta)
        for i in np.ndindex(theta.shape):
            old = theta[i]
            theta[i] = old + eps
            up = loss()
            theta[i] = old - eps
            down = loss()
            theta[i] = old
            g[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def test_1_6_backward_equals_finite_differences_of_the_losses() -> None:
    """``_backward``'s gradients are those of the mean softmax cross-entropy L (no 1/K); the
    contract's ``_cross_entropy`` is L / K, so they are also K times its finite differences."""
    m, X, y, Y = _small()
    K = m.output_size
    # log(a2) as logits: softmax(log a2) = a2, so this is -(1/m) sum log a2[n, y_n], the mean CE
    mean_ce = lambda: functional.softmax_cross_entropy(np.log(m._forward(X, False)), y)  # noqa: E731
    course = lambda: m._cross_entropy(Y, m._forward(X, False))  # noqa: E731
    num_L = _numeric_grads(m, mean_ce)
    num_course = _numeric_grads(m, course)
    m._forward(X, True)
    m._backward(X, Y)
    for ours, a, b in zip((m.dW1, m.db1, m.dW2, m.db2), num_L, num_course, strict=True):
        np.testing.assert_allclose(ours, a, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(ours, K * b, rtol=1e-6, atol=1e-9)


def test_1_6_backward_gradients_and_in_place_step_equal_torch() -> None:
    m, X, y, Y = _small()
    params = [torch.tensor(p.copy(), requires_grad=True) for p in (m.W1, m.b1, m.W2, m.b2)]
    W1, b1, W2, b2 = params
    logits = torch.relu(torch.tensor(X) @ W1 + b1) @ W2 + b2
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    before = [m.W1, m.b1, m.W2, m.b2]
    old = [p.copy() for p in before]
    m._forward(X, True)
    assert m._backward(X, Y) is None
    for ours, p in zip((m.dW1, m.db1, m.dW2, m.db2), params, strict=True):
        np.testing.assert_allclose(ours, p.grad.numpy(), rtol=1e-10, atol=1e-15)
    for arr, new, o, p in zip(before, (m.W1, m.b1, m.W2, m.b2), old, params, strict=True):
        assert arr is new  # updated in place
        np.testing.assert_allclose(new, o - 0.5 * p.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_1_6_float32_model_takes_float64_one_hot_and_labels() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    a, b = NumpyANN(6, 5, 3, seed=1, dtype=np.float32), NumpyANN(6, 5, 3, seed=1, dtype=np.float32)
    a._forward(X, True)
    a._backward(X, np.eye(3)[y])
    b._forward(X, True)
    b._backward(X, y)
    assert a.W1.dtype == np.float32
    np.testing.assert_array_equal(a.W1, b.W1)


# 1.7 - 1.9 ------------------------------------------------------------------------------------
def test_1_7_train_takes_batches_in_order_and_records_validation() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 6)), rng.integers(0, 3, 50)
    Xv, yv = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    m = NumpyANN(6, 5, 3, lr=0.3, seed=2)
    hand = NumpyANN(6, 5, 3, lr=0.3, seed=2)
    h = m.train(X, np.eye(3)[y], Xv, np.eye(3)[yv], epochs=2, batch_size=16)
    for _ in range(2):
        for s in range(0, 50, 16):
            hand._forward(X[s:s + 16], True)
            hand._backward(X[s:s + 16], np.eye(3)[y[s:s + 16]])
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(getattr(m, name), getattr(hand, name))
    assert set(h) == {"train_loss", "train_acc", "val_loss", "val_acc"} and len(h["val_loss"]) == 2
    assert h["val_loss"][-1] == pytest.approx(m._cross_entropy(np.eye(3)[yv], m.predict(Xv)), rel=1e-12)
    assert h["val_acc"][-1] == pytest.approx(m.accuracy(Xv, np.eye(3)[yv]))
    assert m.history is h


def test_1_7_shuffle_is_an_opt_in() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 6)), rng.integers(0, 3, 50)
    a, b = NumpyANN(6, 5, 3, seed=2), NumpyANN(6, 5, 3, seed=2)
    a.train(X, y, epochs=1, batch_size=16)
    b.train(X, y, epochs=1, batch_size=16, shuffle=True)
    assert not np.array_equal(a.W1, b.W1)


def test_1_8_1_9_predict_gives_probabilities_and_accuracy_takes_one_hot_or_labels() -> None:
    m, X, y, Y = _small()
    p = m.predict(X)
    assert p.shape == (7, 3) and np.allclose(p.sum(axis=1), 1.0) and m.a2 is None
    assert m.accuracy(X, Y) == m.accuracy(X, y) == pytest.approx(np.mean(p.argmax(1) == y))


def test_1_10_fashion_subset_learns(needs_fashion) -> None:
    from backproplab.data import fashion_mnist_flat

    X, y = fashion_mnist_flat("train", limit=8000)
    Xt, yt = fashion_mnist_flat("test", limit=1000)
    m = NumpyANN(784, 128, 10, lr=0.1, seed=0, dtype=np.float32)
    history = m.train(X, np.eye(10)[y], Xt, np.eye(10)[yt], epochs=5, batch_size=64, blas_threads=1)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert m.accuracy(Xt, yt) >= 0.75
    assert m.accuracy(Xt, np.eye(10)[yt]) == pytest.approx(history["val_acc"][-1])


def test_train_on_toy_blobs_with_label_vectors() -> None:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 8)) * 4
    y = rng.integers(0, 3, 400)
    X = centers[y] + rng.standard_normal((400, 8))
    m = NumpyANN(8, 16, 3, lr=0.1, seed=0)
    h = m.train(X, y, epochs=15, batch_size=32)
    assert h["val_acc"] == [] and h["train_acc"][-1] > 0.95 and m.accuracy(X, y) > 0.95


# divergence -----------------------------------------------------------------------------------
def _epoch_start_by_hand(X, Y, lr, batch_size, epochs):
    """The weights after ``epochs`` whole epochs of a plain loop (the start of the next epoch)."""
    m = NumpyANN(X.shape[1], 8, 3, lr=lr, seed=0)
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            for s in range(0, len(X), batch_size):
                m._forward(X[s:s + batch_size], True)
                m._backward(X[s:s + batch_size], Y[s:s + batch_size])
    return m.W1, m.b1, m.W2, m.b2


@pytest.mark.parametrize(("lr", "scale"), [(1e6, 1.0), (0.1, 1e200)])
def test_diverging_training_stops_at_the_start_of_the_failing_epoch(lr: float, scale: float) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 6)) * scale
    Y = np.eye(3)[rng.integers(0, 3, 64)]
    m = NumpyANN(6, 8, 3, lr=lr, seed=0)
    with pytest.raises(NonFiniteError, match=r"epoch \d+, batch \d+ of 4") as info:
        m.train(X, Y, epochs=50, batch_size=16)
    err = info.value
    assert err.epoch >= 1 and 1 <= err.batch <= 4 and err.layer
    assert len(err.history["train_loss"]) == err.epoch - 1
    assert isinstance(err.history, History) and err.history.lr == [lr] * (err.epoch - 1)  # as both fits' errors
    assert all(np.isfinite(p).all() for p in (m.W1, m.b1, m.W2, m.b2))
    for ours, expected in zip((m.W1, m.b1, m.W2, m.b2), _epoch_start_by_hand(X, Y, lr, 16, err.epoch - 1),
                              strict=True):
        np.testing.assert_array_equal(ours, expected)


# bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: NumpyANN(4, 3, 2, lr=0), "lr"),
        (lambda: NumpyANN(4, 3, 2, lr=-1.0), "lr"),
        (lambda: NumpyANN(0, 3, 2), "input_size"),
        (lambda: NumpyANN(4, 3, 1), "output_size"),
        (lambda: NumpyANN(4, 3, 2, seed=-1), "seed"),
        (lambda: NumpyANN(4, 3, 2, seed=2**32), "seed"),
        (lambda: NumpyANN(10**6, 10**6, 10), "input_size, hidden_size, output_size"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 3)), np.zeros(5, int)), "X_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.full((5, 4), np.nan), np.zeros(5, int)), "X_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.full(5, 2)), "y_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros((5, 3))), "y_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((3, 4)), [0, [0, 1], 1]), "y_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((3, 4)), [[1, 0], 1, [0, 1]]), "y_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((2, 4)), [[1, 0], [0, 1, 0]]), "y_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros(5, int), batch_size=0), "batch_size"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros(5, int), epochs=0), "epochs"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros(5, int), np.zeros((2, 4))), "X_val"),
        (lambda: NumpyANN(4, 3, 2).predict(np.zeros((2, 5))), "X"),
        (lambda: NumpyANN(4, 3, 2).accuracy(np.zeros((2, 4)), np.array([0, 5])), "y_true"),
        (lambda: NumpyANN(4, 3, 2)._backward(np.zeros((2, 4)), np.zeros(2, int)), "X"),
        (lambda: NumpyANN(4, 3, 2).predict(np.zeros((2, 4)), batch_size=0), "batch_size"),
        (lambda: NumpyANN(4, 3, 2).predict(np.zeros((2, 4)), batch_size=-1), "batch_size"),
        (lambda: NumpyANN(4, 3, 2).predict(np.zeros((2, 4)), batch_size=2.5), "batch_size"),
        (lambda: NumpyANN(4, 3, 2)._forward(np.zeros((2, 3))), "x"),
        (lambda: NumpyANN(4, 3, 2)._forward(np.zeros((2, 4, 4)), training=True), "x"),
    ],
)
def test_bad_input(call, argument: str) -> None:
    with pytest.raises(InputError, match=rf"^{argument}\b"):
        call()


def test_predict_batch_size_only_bounds_memory_and_forward_names_a_wrong_width() -> None:
    # predict(X, batch_size=0) raised "range() arg 3 must not be zero", -1 "need at least one array to
    # concatenate" and 2.5 a TypeError; _forward on a wrong width gave matmul's gufunc traceback
    m, X, _, _ = _small()
    whole = m.predict(X)
    for size in (1, 3, 7, 100):
        np.testing.assert_array_equal(m.predict(X, batch_size=size), whole)
    np.testing.assert_array_equal(m._forward(X[0]), whole[:1])  # one sample (input_size,) still works
    with pytest.raises(InputError, match=r"^x must have shape \(N, 6\).*got \(7, 5\)"):
        m._forward(X[:, :5], training=True)
    assert m.a2 is None  # nothing stored from the refused call
