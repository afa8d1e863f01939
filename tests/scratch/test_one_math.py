"""One place for the math: every loss and activation (and its gradient) that ``scratch.fit``,
``Dense``, ``NumpyANN``, ``gradcheck`` and the tracer use is the very function object of
``backproplab.scratch.functional`` or a thin wrapper that calls it (shown by putting a spy in its
place and watching the caller reach it), and the torch side of every check is one table."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from backproplab.lessons import activations as activations_lesson
from backproplab.scratch import Dense, Network, NumpyANN, fit, functional, gradcheck, layers, numpy_ann, train
from backproplab.scratch.optim import SGD
from backproplab.torchnn import functions as torch_functions
from backproplab.tracer import checks as tracer_checks
from backproplab.tracer.network import network_from_dict

pytestmark = pytest.mark.scratch

tracer_trace = importlib.import_module("backproplab.tracer.trace")  # the package exports trace(), the function

RAW = {
    "bce": ("raw_bce", "raw_bce_grad"),
    "bce_with_logits": ("raw_bce_with_logits", "raw_bce_with_logits_grad"),
    "softmax_cross_entropy": ("raw_softmax_cross_entropy", "raw_softmax_cross_entropy_grad"),
    "half_mse": ("raw_half_mse", "raw_half_mse_grad"),
}


def _spy(monkeypatch, module, name: str) -> list[int]:
    """Replace ``module.name`` by a wrapper that counts its calls; return the counter."""
    calls: list[int] = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_fit_evaluate_and_gradcheck_use_functionals_losses_themselves() -> None:
    assert train.loss_and_grad is functional.loss_and_grad
    assert gradcheck.loss_and_grad is functional.loss_and_grad
    assert train.RAW_LOSSES is functional.RAW_LOSSES
    for name, (value, grad) in RAW.items():
        assert functional.RAW_LOSSES[name] == (getattr(functional, value), getattr(functional, grad))
    assert not hasattr(train, "log_softmax") and not hasattr(train, "sigmoid")  # no second copy


@pytest.mark.parametrize("loss", sorted(RAW))
def test_fit_reaches_the_raw_loss_and_its_gradient(monkeypatch, loss: str) -> None:
    value, grad = (_spy(monkeypatch, functional, name) for name in RAW[loss])
    monkeypatch.setitem(functional.RAW_LOSSES, loss, (functional.__dict__[RAW[loss][0]],
                                                      functional.__dict__[RAW[loss][1]]))
    rng = np.random.default_rng(0)
    d_out, last = (3, "identity") if loss == "softmax_cross_entropy" else (1, "sigmoid" if loss == "bce" else "identity")
    net = Network([Dense(4, 5, "tanh", seed=0), Dense(5, d_out, last, seed=1)])
    X = rng.standard_normal((12, 4))
    y = rng.integers(0, 3, 12) if d_out == 3 else rng.integers(0, 2, 12).astype(float)
    fit(net, X, y, epochs=1, batch_size=4, optimizer=SGD(0.1), loss=loss, X_val=X, y_val=y, progress=False)
    assert len(grad) == 3 and len(value) == 3 + 1  # three batches; the validation set once


@pytest.mark.parametrize("loss", sorted(RAW))
def test_the_public_losses_are_thin_checked_doors(monkeypatch, loss: str) -> None:
    value, grad = (_spy(monkeypatch, functional, name) for name in RAW[loss])
    public, public_grad = functional.LOSSES[loss]
    out = np.array([[0.2, -0.1, 0.4]]) if loss == "softmax_cross_entropy" else np.array([0.3, 0.6])
    y = np.array([2]) if loss == "softmax_cross_entropy" else np.array([0.0, 1.0])
    public(out, y), public_grad(out, y)
    assert (len(value), len(grad)) == (1, 1)


def test_dense_takes_its_activations_from_functional(monkeypatch) -> None:
    for name, pair in functional.ACTIVATIONS.items():
        layer = Dense(3, 2, name, seed=0)
        assert (layer.f, layer.f_grad) == pair  # the same function objects
    assert layers.relu_ is functional.relu_ and layers.relu_grad_from_output is functional.relu_grad_from_output
    x = np.random.default_rng(1).standard_normal((5, 3))
    layer = Dense(3, 2, "relu", seed=0)
    fwd, bwd = _spy(monkeypatch, layers, "relu_"), _spy(monkeypatch, layers, "relu_grad_from_output")
    a = layer.forward(x)
    np.testing.assert_array_equal(a, functional.relu(x @ layer.W + layer.b))
    layer.backward(np.ones_like(a))
    assert (len(fwd), len(bwd)) == (1, 1)


def test_numpy_ann_math_is_functionals() -> None:
    assert NumpyANN._relu is functional.relu and NumpyANN._relu_grad is functional.relu_grad
    assert NumpyANN._softmax is functional.softmax
    assert numpy_ann.raw_cross_entropy is functional.raw_cross_entropy
    assert numpy_ann.softmax_cross_entropy_delta is functional.softmax_cross_entropy_delta
    assert numpy_ann.EPS == functional.CROSS_ENTROPY_EPS


def test_numpy_ann_reaches_the_loss_and_the_output_delta(monkeypatch) -> None:
    ce = _spy(monkeypatch, numpy_ann, "raw_cross_entropy")
    delta = _spy(monkeypatch, numpy_ann, "softmax_cross_entropy_delta")
    m = NumpyANN(4, 3, 2, lr=0.1, seed=0)
    rng = np.random.default_rng(0)
    m.train(rng.standard_normal((6, 4)), rng.integers(0, 2, 6), epochs=1, batch_size=3)
    assert (len(ce), len(delta)) == (2, 2)


def _tracer_net(loss: str, last: str, y: list[float]):
    return network_from_dict({"input": [0.5, -1.0], "target": y, "loss": loss, "layers": [
        {"activation": "tanh", "weights": [[0.3, -0.2], [0.1, 0.4]], "biases": [0.0, 0.1]},
        {"activation": last, "weights": [[0.7, -0.5]] * len(y), "biases": [0.2] * len(y)}]})


@pytest.mark.parametrize(("loss", "last", "y", "raw"), [
    ("half_squared_error", "identity", [0.3], ("raw_half_mse", "raw_half_mse_grad")),
    ("squared_error", "identity", [0.3], ("raw_half_mse", "raw_half_mse_grad")),
    ("mse", "identity", [0.3, 0.1], ("raw_half_mse", "raw_half_mse_grad")),
    ("bce", "sigmoid", [1.0], ("raw_bce_with_logits", "raw_bce_with_logits_grad")),  # from s, as BCEWithLogitsLoss
    ("cross_entropy", "softmax", [0.0, 1.0], ("raw_softmax_cross_entropy", "softmax_cross_entropy_delta")),
])
def test_the_tracer_computes_with_functional(monkeypatch, loss, last, y, raw) -> None:
    assert tracer_trace.F is functional
    spies = [_spy(monkeypatch, functional, name) for name in (*raw, "tanh", "tanh_grad")]
    monkeypatch.setitem(functional.ACTIVATIONS, "tanh", (functional.tanh, functional.tanh_grad))
    tr = tracer_trace.trace(_tracer_net(loss, last, y))
    assert all(spies), [len(s) for s in spies]
    diffs = tracer_checks.check_trace(tr)
    assert max(d for d, _ in diffs.values()) < 1e-12


def test_one_table_from_activation_names_to_torch(monkeypatch) -> None:
    table = torch_functions.TORCH_ACTIVATIONS
    assert set(functional.ACTIVATIONS) | {"softmax"} == set(table)
    calls = _spy(monkeypatch, torch_functions, "torch_activation")
    net = Network([Dense(3, 4, "tanh", seed=0), Dense(4, 2, "identity", seed=1)])
    rng = np.random.default_rng(0)
    gradcheck.torch_gradients(net, rng.standard_normal((5, 3)), rng.integers(0, 2, 5))
    tracer_checks.torch_reference(_tracer_net("half_squared_error", "identity", [0.3]))
    assert len(calls) == 2 + 2
    seen = []
    monkeypatch.setitem(table, "elu", lambda z, real=table["elu"]: seen.append(1) or real(z))
    activations_lesson.activation_table(np.linspace(-1, 1, 5))
    assert seen
