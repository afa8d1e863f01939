"""Activations, derivatives and losses of ``backproplab.scratch.functional`` against PyTorch.

Property tests (hypothesis): random shapes, values up to +-1000, float64; every value and every
gradient must equal torch's within 1e-6 with no NaN, no inf and no NumPy warning. Finite-difference
checks of the derivatives are kept separate from the torch cross-checks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backproplab.scratch import functional as fn

pytestmark = pytest.mark.scratch

TOL = 1e-6
SETTINGS = settings(max_examples=40, deadline=None)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=7)
big = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False, width=64)
# values the range +-1000 often hits in practice: exact zeros, the extremes, moderate numbers
values = st.one_of(big, st.sampled_from([0.0, -0.0, 1000.0, -1000.0, 1e-8, -1e-8, 30.0, -30.0]))
arrays = hnp.arrays(np.float64, shapes, elements=values)
matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8), elements=values
)
alphas = st.floats(0.001, 3.0)


def quiet(func, *args, **kwargs):
    """Call ``func`` with every NumPy floating-point event and every warning turned into an error."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        return func(*args, **kwargs)


def assert_matches(ours, theirs) -> None:
    ours = np.asarray(ours, dtype=np.float64)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert np.isfinite(ours).all(), "NaN or inf in our result"
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)


def torch_value_and_grad(torch_f, z: np.ndarray):
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    out = torch_f(t)
    out.backward(torch.ones_like(out))
    return out, t.grad


TORCH_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": F.leaky_relu,  # default negative_slope 0.01, as ours
    "elu": F.elu,  # default alpha 1.0, as ours
    "identity": lambda t: t * 1.0,
}


@pytest.mark.parametrize("name", sorted(fn.ACTIVATIONS))
@SETTINGS
@given(z=arrays)
def test_activation_and_derivative_match_torch(name: str, z: np.ndarray) -> None:
    f, f_grad = fn.ACTIVATIONS[name]
    value, grad = torch_value_and_grad(TORCH_ACT[name], z)
    assert_matches(quiet(f, z), value)
    assert_matches(quiet(f_grad, z), grad)


@SETTINGS
@given(z=arrays, alpha=alphas)
def test_leaky_relu_and_elu_with_alpha_match_torch(z: np.ndarray, alpha: float) -> None:
    value, grad = torch_value_and_grad(lambda t: F.leaky_relu(t, negative_slope=alpha), z)
    assert_matches(quiet(fn.leaky_relu, z, alpha), value)
    assert_matches(quiet(fn.leaky_relu_grad, z, alpha), grad)
    value, grad = torch_value_and_grad(lambda t: F.elu(t, alpha=alpha), z)
    assert_matches(quiet(fn.elu, z, alpha), value)
    assert_matches(quiet(fn.elu_grad, z, alpha), grad)


@SETTINGS
@given(z=arrays)
def test_softmax_matches_torch_on_every_axis(z: np.ndarray) -> None:
    for axis in range(-z.ndim, z.ndim):
        ours = quiet(fn.softmax, z, axis=axis)
        assert_matches(ours, torch.softmax(torch.tensor(z), dim=axis))
        np.testing.assert_allclose(ours.sum(axis=axis), 1.0, atol=1e-12)
    assert_matches(quiet(fn.log_softmax, z), torch.log_softmax(torch.tensor(z), dim=-1))


@st.composite
def logits_and_labels(draw, onehot: bool):
    z = draw(matrices)
    n, k = z.shape
    labels = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64)
    return z, (np.eye(k)[labels] if onehot else labels), labels


@SETTINGS
@given(data=st.one_of(logits_and_labels(onehot=False), logits_and_labels(onehot=True)))
def test_softmax_cross_entropy_and_grad_match_torch(data) -> None:
    z, y, labels = data
    t = torch.tensor(z, requires_grad=True)
    loss = F.cross_entropy(t, torch.tensor(labels))
    loss.backward()
    assert_matches(quiet(fn.softmax_cross_entropy, z, y), loss)
    assert_matches(quiet(fn.softmax_cross_entropy_grad, z, y), t.grad)


@st.composite
def logits_and_targets(draw):
    z = draw(arrays)
    y = draw(
        hnp.arrays(np.float64, z.shape, elements=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1)))
    )
    return z, y


@SETTINGS
@given(data=logits_and_targets())
def test_bce_with_logits_and_grad_match_torch(data) -> None:
    z, y = data
    t = torch.tensor(z, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t, torch.tensor(y))
    loss.backward()
    assert_matches(quiet(fn.bce_with_logits, z, y), loss)
    assert_matches(quiet(fn.bce_with_logits_grad, z, y), t.grad)


@SETTINGS
@given(data=logits_and_targets())
def test_bce_on_probabilities_matches_torch_inside_the_clip_range(data) -> None:
    z, y = data
    p = np.clip(fn.sigmoid(z / 100.0), 1e-9, 1 - 1e-9)  # probabilities away from the 1e-12 clip
    t = torch.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(t, torch.tensor(y))
    loss.backward()
    assert_matches(quiet(fn.bce, p, y), loss)
    ours_grad = quiet(fn.bce_grad, p, y)
    assert np.isfinite(ours_grad).all()
    np.testing.assert_allclose(ours_grad, t.grad.numpy(), rtol=TOL, atol=TOL)


@SETTINGS
@given(data=logits_and_targets())
def test_half_mse_and_grad_match_torch(data) -> None:
    yhat, y = data
    t = torch.tensor(yhat, requires_grad=True)
    loss = 0.5 * F.mse_loss(t, torch.tensor(y))
    loss.backward()
    np.testing.assert_allclose(quiet(fn.half_mse, yhat, y), loss.item(), rtol=1e-12, atol=TOL)
    assert_matches(quiet(fn.half_mse_grad, yhat, y), t.grad)


# ------------------------------------------------------------------------------------------------
# closed forms and edge cases
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_at_1000_without_overflow_or_warning(dtype) -> None:
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    s = quiet(fn.sigmoid, z)
    assert s.dtype == dtype
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    g = quiet(fn.sigmoid_grad, z)
    assert g[0] == 0.0 and g[-1] == 0.0 and g[2] == 0.25


@pytest.mark.parametrize("name", sorted(fn.ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_keep_float32_and_float64(name: str, dtype) -> None:
    f, f_grad = fn.ACTIVATIONS[name]
    z = np.linspace(-1000, 1000, 101, dtype=dtype).reshape(1, 101)
    assert quiet(f, z).dtype == dtype and quiet(f_grad, z).dtype == dtype
    assert np.isfinite(quiet(f, z)).all() and np.isfinite(quiet(f_grad, z)).all()


@pytest.mark.parametrize("name", sorted(fn.ACTIVATIONS))
def test_derivatives_match_central_differences(name: str) -> None:
    f, f_grad = fn.ACTIVATIONS[name]
    z = np.linspace(-4.05, 4.05, 54)  # an even count: no point lands on the kink at 0
    h = 1e-6
    numeric = (f(z + h) - f(z - h)) / (2 * h)
    np.testing.assert_allclose(f_grad(z), numeric, rtol=1e-7, atol=1e-9)


def test_kink_convention_is_pytorch_left_value() -> None:
    zero = np.zeros(1)
    assert fn.relu_grad(zero)[0] == 0.0
    assert fn.leaky_relu_grad(zero, 0.2)[0] == 0.2
    assert fn.elu_grad(zero, 0.7)[0] == 0.7


@pytest.mark.parametrize(
    ("loss", "args"),
    [
        ("bce", (np.array([0.7, 0.2]), np.array([1.0, 0.0]))),
        ("bce_with_logits", (np.array([[0.3], [-1.2]]), np.array([1.0, 0.0]))),
        ("softmax_cross_entropy", (np.array([[1.0, 2.0, 0.5], [0.1, -0.3, 2.0]]), np.array([1, 2]))),
        ("half_mse", (np.array([[0.5, 1.5], [2.0, -1.0]]), np.array([[0.0, 1.0], [2.5, -1.0]]))),
    ],
)
def test_loss_gradients_match_central_differences(loss: str, args) -> None:
    f, f_grad = fn.LOSSES[loss]
    x, y = args
    analytic = f_grad(x, y)
    numeric = np.zeros_like(x)
    h = 1e-6
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        numeric[idx] = (f(xp, y) - f(xm, y)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_closed_forms() -> None:
    # one sample, two classes, equal logits: CE = log 2, gradient (1/2 - onehot)
    assert fn.softmax_cross_entropy(np.zeros((1, 2)), np.array([0])) == pytest.approx(np.log(2))
    np.testing.assert_allclose(fn.softmax_cross_entropy_grad(np.zeros((1, 2)), np.array([0])), [[-0.5, 0.5]])
    # the batch mean: two identical rows give the same loss as one
    z = np.array([[2.0, -1.0, 0.0]])
    assert fn.softmax_cross_entropy(np.vstack([z, z]), [0, 0]) == pytest.approx(
        fn.softmax_cross_entropy(z, [0])
    )
    assert fn.bce_with_logits(np.array([0.0]), np.array([1.0])) == pytest.approx(np.log(2))
    assert fn.half_mse(np.array([3.0, 1.0]), np.array([1.0, 1.0])) == pytest.approx(1.0)
    # bce clips: certain and wrong is large but finite
    assert np.isfinite(quiet(fn.bce, np.array([0.0, 1.0]), np.array([1.0, 0.0])))
    assert np.isfinite(quiet(fn.bce_grad, np.array([0.0, 1.0]), np.array([1.0, 0.0]))).all()
    assert fn.bce(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == pytest.approx(0.0, abs=1e-11)


def test_float32_losses_keep_float32_gradients() -> None:
    z = np.array([[1.0, 2.0], [0.0, -1.0]], dtype=np.float32)
    assert fn.softmax_cross_entropy_grad(z, [0, 1]).dtype == np.float32
    assert fn.bce_with_logits_grad(z, np.ones_like(z)).dtype == np.float32
    assert fn.half_mse_grad(z, np.ones_like(z)).dtype == np.float32
    p = np.array([0.0, 0.3, 1.0], dtype=np.float32)
    assert np.isfinite(quiet(fn.bce_grad, p, np.array([1.0, 0.0, 0.0]))).all()


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: fn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])), "y"),
        (lambda: fn.softmax_cross_entropy(np.zeros((2, 3)), np.array([-1, 0])), "y"),
        (lambda: fn.softmax_cross_entropy(np.zeros((2, 3)), np.zeros((2, 4))), "y"),
        (lambda: fn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])), "y"),
        (lambda: fn.softmax_cross_entropy(np.zeros(3), np.array([0])), "logits"),
        (lambda: fn.softmax_cross_entropy(np.array([[np.nan, 0.0]]), np.array([0])), "logits"),
        (lambda: fn.softmax_cross_entropy_grad(np.array([[np.inf, 0.0]]), np.array([0])), "logits"),
        (lambda: fn.bce(np.array([0.5, 1.5]), np.array([0.0, 1.0])), "p"),
        (lambda: fn.bce(np.array([0.5, 0.5]), np.array([0.0, 2.0])), "y"),
        (lambda: fn.bce_with_logits(np.zeros((3, 1)), np.zeros(4)), "y"),
        (lambda: fn.half_mse(np.zeros((2, 2)), np.zeros((2, 3))), "y"),
        (lambda: fn.half_mse(np.array([1.0, np.nan]), np.zeros(2)), "yhat"),
        (lambda: fn.get_activation("swish"), "activation"),
        (lambda: fn.get_loss("hinge"), "loss"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        call()


def test_raw_cross_entropy_is_the_course_loss_and_its_gradient_matches_finite_differences() -> None:
    """``raw_cross_entropy``: -mean(t log p) over all entries (NumpyANN's ``_cross_entropy``); its
    gradient against central differences, entry by entry."""
    rng = np.random.default_rng(3)
    p = fn.softmax(rng.standard_normal((4, 3)))
    t = np.eye(3)[rng.integers(0, 3, 4)]
    assert fn.raw_cross_entropy(p, t) == pytest.approx(-np.sum(t * np.log(p)) / p.size, rel=1e-15)
    g, h = fn.raw_cross_entropy_grad(p, t), 1e-7
    numeric = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        e = np.zeros_like(p)
        e[i] = h
        numeric[i] = (fn.raw_cross_entropy(p + e, t) - fn.raw_cross_entropy(p - e, t)) / (2 * h)
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("z, t", [(40.0, 0.0), (-40.0, 1.0), (1000.0, 0.0), (-1000.0, 1.0), (16.0, 1.0),
                                  (745.5, 0.3)])
def test_bce_with_logits_is_exact_where_the_probability_is_saturated(z: float, t: float) -> None:
    """Where ``sigmoid(z)`` is 0 or 1 in float64, BCE from the logit is still ``log(1 + e^z) - t z`` and its
    gradient ``sigmoid(z) - t`` (the tracer's saturated outputs), as torch's BCEWithLogitsLoss, and
    against central differences; BCE of the rounded probability is not."""
    zs, ts = np.array([z]), np.array([t])
    zt = torch.tensor(zs, requires_grad=True)
    loss = torch.nn.BCEWithLogitsLoss()(zt, torch.tensor(ts))
    loss.backward()
    exact = np.logaddexp(0.0, z) - t * z
    assert quiet(fn.raw_bce_with_logits, zs, ts) == pytest.approx(exact, rel=1e-15)
    assert quiet(fn.raw_bce_with_logits, zs, ts) == pytest.approx(float(loss.detach()), rel=1e-14)
    grad = quiet(fn.raw_bce_with_logits_grad, zs, ts)
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-14)
    h = 1e-5
    numeric = (fn.raw_bce_with_logits(zs + h, ts) - fn.raw_bce_with_logits(zs - h, ts)) / (2 * h)
    np.testing.assert_allclose(grad, [numeric], rtol=1e-6, atol=1e-9)
