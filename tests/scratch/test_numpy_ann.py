"""NumpyANN: the course's contract (shapes, names, init), its hand-written backward against torch
autograd, training on a Fashion-MNIST subset, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backproplab.scratch import NumpyANN

pytestmark = pytest.mark.scratch


def test_contract_shapes_and_initialisation() -> None:
    m = NumpyANN(784, 128, 10, lr=0.1, seed=0)
    assert m.W1.shape == (784, 128) and m.b1.shape == (1, 128)
    assert m.W2.shape == (128, 10) and m.b2.shape == (1, 10)
    assert np.all(m.b1 == 0) and np.all(m.b2 == 0)
    assert m.W1.std() == pytest.approx(0.01, rel=0.02)
    np.testing.assert_array_equal(NumpyANN(784, 128, 10, lr=0.1, seed=0).W1, m.W1)
    x = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(m._relu(x), [[0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(m._relu_grad(x), [[0.0, 0.0, 1.0]])
    s = m._softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.isfinite(s).all() and s.sum() == pytest.approx(1.0)
    p = np.array([[0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0]])
    assert m._cross_entropy(p, np.array([0])) == pytest.approx(np.log(2))
    assert m._cross_entropy(p, np.eye(10)[[1]]) == pytest.approx(np.log(2))


def test_backward_gradients_and_step_equal_torch() -> None:
    rng = np.random.default_rng(0)
    m = NumpyANN(6, 5, 3, lr=0.5, seed=1)
    X = rng.standard_normal((7, 6))
    y = rng.integers(0, 3, 7)
    params = [torch.tensor(p.copy(), requires_grad=True) for p in (m.W1, m.b1, m.W2, m.b2)]
    W1, b1, W2, b2 = params
    logits = torch.relu(torch.tensor(X) @ W1 + b1) @ W2 + b2
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
    loss.backward()
    probs = m._forward(X, training=True)
    np.testing.assert_allclose(probs, torch.softmax(logits, 1).detach().numpy(), rtol=1e-12)
    assert m._cross_entropy(probs, y) == pytest.approx(loss.item(), rel=1e-12)
    before = [p.detach().numpy().copy() for p in params]
    m._backward(X, np.eye(3)[y])
    for ours, p in zip((m.dW1, m.db1, m.dW2, m.db2), params, strict=True):
        np.testing.assert_allclose(ours, p.grad.numpy(), rtol=1e-10, atol=1e-15)
    for new, p, old in zip((m.W1, m.b1, m.W2, m.b2), params, before, strict=True):
        np.testing.assert_allclose(new, old - 0.5 * p.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_fashion_subset_learns(needs_fashion) -> None:
    from backproplab.data import fashion_mnist_flat

    X, y = fashion_mnist_flat("train", limit=8000)
    Xt, yt = fashion_mnist_flat("test", limit=1000)
    m = NumpyANN(784, 128, 10, lr=0.1, seed=0, dtype=np.float32)
    history = m.train(X, y, Xt, yt, epochs=5, batch_size=64, blas_threads=1)
    assert set(history) == {"train_loss", "train_acc", "val_loss", "val_acc"} and len(history["val_acc"]) == 5
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert m.accuracy(Xt, yt) >= 0.75
    assert m.accuracy(Xt, np.eye(10)[yt]) == m.accuracy(Xt, yt) == pytest.approx(history["val_acc"][-1])
    probs = m.predict(Xt[:5])
    assert probs.shape == (5, 10) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_train_on_toy_blobs_with_onehot_labels() -> None:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 8)) * 4
    y = rng.integers(0, 3, 400)
    X = centers[y] + rng.standard_normal((400, 8))
    m = NumpyANN(8, 16, 3, lr=0.1, seed=0)
    h = m.train(X, np.eye(3)[y], epochs=15, batch_size=32)
    assert h["val_acc"] == [] and h["train_acc"][-1] > 0.95 and m.accuracy(X, y) > 0.95


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: NumpyANN(4, 3, 2, lr=0), "lr"),
        (lambda: NumpyANN(4, 3, 2, lr=-1.0), "lr"),
        (lambda: NumpyANN(0, 3, 2), "input_size"),
        (lambda: NumpyANN(4, 3, 1), "output_size"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 3)), np.zeros(5, int)), "X_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.full((5, 4), np.nan), np.zeros(5, int)), "X_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.full(5, 2)), "y_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros((5, 3))), "y_train"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros(5, int), batch_size=0), "batch_size"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros(5, int), epochs=0), "epochs"),
        (lambda: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros(5, int), np.zeros((2, 4))), "X_val"),
        (lambda: NumpyANN(4, 3, 2).predict(np.zeros((2, 5))), "X"),
        (lambda: NumpyANN(4, 3, 2).accuracy(np.zeros((2, 4)), np.array([0, 5])), "y"),
    ],
)
def test_bad_input(call, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        call()
