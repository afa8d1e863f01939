"""The Radboud contract (CONTRACTS.md part C), function by function, against its numbers and asserts."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from backproplab.courses import radboud as r
from backproplab.lessons.gradient_descent import COURSE_EXPR, gradient_descent

pytestmark = pytest.mark.torchnn


def test_optimize_f_course_numbers():
    x, y, fxy, x_hist, y_hist = r.optimize_f(3, 2, 0.1, 10)
    assert float(fxy) == pytest.approx(1.2967616, abs=1e-6)
    assert len(x_hist) == len(y_hist) == 11
    assert (float(x_hist[0]), float(y_hist[0])) == (3.0, 2.0)
    assert (float(x_hist[-1]), float(y_hist[-1])) == (float(x), float(y))
    # the lesson's gradient descent walks the same path
    path = gradient_descent(COURSE_EXPR, (3, 2), 0.1, 1.0, 10)
    torch.testing.assert_close(torch.stack([x_hist, y_hist], 1), torch.from_numpy(path), rtol=0, atol=1e-12)


def test_optimize_f_decay_example():
    *_, x_hist, _ = r.optimize_f(3, 2, 0.2, 10, decay=0.9)
    assert float(r.optimize_f(3, 2, 0.2, 10, decay=0.9)[2]) == pytest.approx(-2.266296, abs=1e-6)
    assert len(x_hist) == 11
    # by hand: the step at t is 0.2 * 0.9**t
    x, y = 3.0, 2.0
    for t in range(10):
        gx, gy = 2 * x - 3 * math.sin(3 * x) + y + 2, x + 2 * y
        x, y = x - 0.2 * 0.9 ** t * gx, y - 0.2 * 0.9 ** t * gy
    assert float(x_hist[-1]) == pytest.approx(x, abs=1e-12)


def test_grad_f_is_the_gradient_of_f():
    for x0, y0 in [(3.0, 2.0), (-1.088162, 0.544081), (0.3, -2.0)]:
        x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)
        r.f(x, y).backward()
        assert r.grad_f(x0, y0) == pytest.approx((float(x.grad), float(y.grad)), abs=1e-12)
    assert r.f(-1.088162, 0.544081) == pytest.approx(-2.2807097, abs=1e-6)


def test_sigmoid_contract():
    assert float(r.sigmoid(torch.tensor(0.0))) == 0.5
    assert float(r.sigmoid(torch.tensor(-100.0))) == 0.0 and float(r.sigmoid(torch.tensor(100.0))) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = r.sigmoid(torch.tensor([-1000.0, 1000.0]))
        big64 = r.sigmoid(torch.tensor([-1000.0, 1000.0], dtype=torch.float64))
    assert torch.isfinite(big).all() and torch.isfinite(big64).all()
    z = torch.linspace(-30, 30, 61, dtype=torch.float64)
    torch.testing.assert_close(r.sigmoid(z), 1 / (1 + torch.exp(-z)))
    assert r.sigmoid(torch.zeros(2, 3)).shape == (2, 3)


def test_relu_contract():
    z = torch.linspace(-3, 3, 7)
    out = r.relu(z)
    assert out.shape == z.shape and (out >= 0).all() and float(r.relu(torch.tensor(0.0))) == 0.0
    torch.testing.assert_close(out, torch.clamp(z, min=0))


def test_bce_loss_contract():
    gen = torch.Generator().manual_seed(0)
    y = (torch.rand(50, generator=gen) > 0.5).to(torch.float64)
    y_hat = torch.rand(50, generator=gen, dtype=torch.float64)
    loss = r.bce_loss(y, y_hat)
    assert loss.ndim == 0
    by_hand = -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)).mean()
    torch.testing.assert_close(loss, by_hand)
    torch.testing.assert_close(loss, torch.nn.functional.binary_cross_entropy(y_hat, y))
    torch.testing.assert_close(r.bce_loss(1 - y, 1 - y_hat), loss)  # symmetric
    assert not torch.isclose(r.bce_loss(y_hat, y), loss)  # truth first: the order matters


def test_bce_loss_perfect_and_wrong_predictions():
    for dtype in (torch.float32, torch.float64):
        perfect = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype)
        assert float(r.bce_loss(perfect, perfect.clone())) == 0.0
        wrong = r.bce_loss(torch.tensor([0.0], dtype=dtype), torch.tensor([1.0], dtype=dtype))
        assert math.isfinite(float(wrong)) and float(wrong) > 80
    y_hat = torch.tensor([0.0, 1.0, 0.3], requires_grad=True)
    r.bce_loss(torch.tensor([0.0, 1.0, 1.0]), y_hat).backward()
    assert torch.isfinite(y_hat.grad).all()
    with pytest.raises(ValueError, match="y and y_hat must have one shape"):
        r.bce_loss(torch.zeros(4), torch.zeros(4, 1))


def test_model1_and_its_autograd_demo():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, generator=gen, dtype=torch.float64)
    w = torch.randn(64, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    out = r.model1(x, w, b)
    assert out.ndim == 0
    out.backward()
    s = torch.sigmoid(x @ w + b).detach()
    torch.testing.assert_close(w.grad, s * (1 - s) * x)
    torch.testing.assert_close(b.grad, s * (1 - s))
    with pytest.raises(ValueError, match="model1 needs w and b"):
        r.model1(x)


def test_model1_uses_the_module_globals(monkeypatch):
    monkeypatch.setattr(r, "w", torch.ones(3))
    monkeypatch.setattr(r, "b", torch.tensor(-3.0))
    assert float(r.model1(torch.ones(3))) == 0.5


def test_network_squeezes_and_matches_by_hand():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(5, 4, generator=gen)
    l1 = r.make_layer(4, 3, r.relu, generator=gen)
    l2 = r.make_layer(3, 1, r.sigmoid, generator=gen)
    out = r.network(x, [l1, l2])
    assert out.shape == (5,)
    torch.testing.assert_close(out, torch.sigmoid(torch.relu(x @ l1[0] + l1[1]) @ l2[0] + l2[1]).squeeze(-1))
    assert r.network(x, [l1]).shape == (5, 3)
    with pytest.raises(ValueError, match="rank 2"):
        r.network(torch.zeros(4), [l1])


def test_make_layer_std_is_fan_out():
    torch.manual_seed(0)
    w, b, h = r.make_layer(100000, 2, r.relu)
    assert w.shape == (100000, 2) and b.shape == (2,) and h is r.relu
    assert abs(float(w.std()) - 1) < 0.01 and float(b.abs().max()) == 0.0
    w, _, _ = r.make_layer(2000, 50, r.relu, generator=torch.Generator().manual_seed(0))
    assert float(w.std()) == pytest.approx(math.sqrt(2 / 50), rel=0.02)
    with pytest.raises(ValueError, match="d1 must be a positive integer"):
        r.make_layer(3, 0, r.relu)


def test_gradient_helpers():
    gen = torch.Generator().manual_seed(3)
    params = r.enable_gradients([r.make_layer(4, 1, r.sigmoid, generator=gen)])
    x, y = torch.randn(8, 4, generator=gen), torch.ones(8)
    before = r.bce_loss(y, r.network(x, params))
    before.backward()
    w0, g = params[0][0].detach().clone(), params[0][0].grad.clone()
    r.add_gradients(params, -0.1)
    torch.testing.assert_close(params[0][0].detach(), w0 - 0.1 * g)
    r.clear_gradients(params)
    assert float(params[0][0].grad.abs().max()) == 0.0
    assert float(r.bce_loss(y, r.network(x, params)).detach()) < float(before.detach())


def test_evaluate_and_train_epoch_are_seeded():
    x, y = r.digits_tensors()
    assert (len(x["train"]), len(x["val"])) == (898, 899) and x["train"].shape[1] == 64
    runs = []
    for _ in range(2):
        params = r.enable_gradients([r.make_layer(64, 1, r.sigmoid, generator=torch.Generator().manual_seed(0))])
        runs.append(r.train_epoch(params, x["train"], y["train"], 0.1, 32, generator=torch.Generator().manual_seed(5)))
    assert runs[0] == runs[1]
    loss, acc = r.evaluate(params, x["val"], y["val"])
    y_hat = r.network(x["val"], params).detach()
    assert acc == pytest.approx(float(((y_hat > 0.5).float() == y["val"]).float().mean()))
    assert loss == pytest.approx(float(r.bce_loss(y["val"], y_hat)))


def test_fit_64_32_1_reaches_095_on_digits():
    x, y = r.digits_tensors()
    torch.manual_seed(0)
    params = [r.make_layer(64, 32, r.relu), r.make_layer(32, 1, r.sigmoid)]
    history = r.fit(params, x, y, r.LEARNING_RATE, r.BATCH_SIZE, epochs=25)
    assert len(history["val_acc"]) == 25
    assert history["val_acc"][-1] >= 0.95
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_fit_checks_its_dicts():
    with pytest.raises(ValueError, match="x must be a dict with keys 'train' and 'val'"):
        r.fit([], torch.zeros(3, 2), {}, 0.1, 2)


def test_optimize_f_local_and_global_minima():
    """1.1b-f: from (3, 2) the descent settles in the local minimum; the global one lies elsewhere."""
    x, y, fxy, _, _ = r.optimize_f(3, 2, 0.1, 500)
    assert (float(x), float(y), float(fxy)) == pytest.approx((0.606, -0.303, 1.24273), abs=1e-3)
    x, y, fxy, _, _ = r.optimize_f(-1, 0.5, 0.1, 500)
    assert float(fxy) == pytest.approx(-2.2807097, abs=1e-7)
    assert (float(x), float(y)) == pytest.approx((-1.088162, 0.544081), abs=1e-6)
    with pytest.raises(ValueError, match="steps"):
        r.optimize_f(3, 2, 0.1, 0)
    with pytest.raises(ValueError, match="x must be a finite number"):
        r.optimize_f(float("nan"), 2, 0.1, 10)
