"""The vanishing-gradients lesson: the course's one epoch, five statements judged from measurements."""

from __future__ import annotations

import math

import pytest

from backproplab.lessons import vanishing

pytestmark = pytest.mark.lessons


@pytest.fixture(scope="module")
def result(fashion_available, quick_runs):
    if not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    return quick_runs.get(vanishing, quick=True, device="cpu")  # one run per session (tests/conftest.py)


@pytest.mark.slow  # trains on Fashion-MNIST
def test_verdicts_follow_the_measurements(result):
    nets = {row["network"]: row for row in result.tables["networks"]}
    sig, relu = nets["ANN_sigmoid"], nets["ANN_relu"]
    judged = result.params["judged"]
    # each verdict recomputed here from the table's numbers
    assert judged["a"] == ("TRUE" if sig["test_acc"] <= vanishing.POOR_ACCURACY else "FALSE")
    assert judged["b"] == ("TRUE" if sig["ratio_first_to_third"] > 1 else "FALSE")
    assert judged["d"] == ("TRUE" if relu["test_acc"] - sig["test_acc"] >= vanishing.MUCH_BETTER else "FALSE")
    mins = [row["min"] for row in result.tables["derivatives"] if row["activation"] != "sigmoid"]
    assert judged["e"] == ("TRUE" if max(mins) > 1 else "FALSE")
    # and what they come out as on this data: the course's answer key
    assert judged == {"a": "TRUE", "b": "FALSE", "c": "TRUE", "d": "TRUE", "e": "FALSE"}
    assert sig["mean_abs_grad_fc1"] < sig["mean_abs_grad_fc2"] < sig["mean_abs_grad_fc3"]
    assert sig["test_acc"] <= 0.2 and relu["test_acc"] >= 0.6


@pytest.mark.slow  # trains on Fashion-MNIST
def test_one_record_per_batch(result):
    n = result.params["train_images"]
    assert n == vanishing.QUICK_TRAIN
    assert result.claim(f"one gradient record per batch and layer ({math.ceil(n / 64)} batches of 64)").value \
        == math.ceil(n / 64)


def test_derivative_ranges():
    lo, hi = vanishing.derivative_range("sigmoid")
    assert hi == pytest.approx(0.25, abs=1e-15) and lo > 0
    assert vanishing.derivative_range("relu") == (0.0, 1.0)
    lo, hi = vanishing.derivative_range("tanh", -3, 3, 601)
    assert hi == pytest.approx(1.0, abs=1e-15) and lo == pytest.approx(1 - math.tanh(3) ** 2, rel=1e-9)
    with pytest.raises(ValueError, match="name"):
        vanishing.derivative_range("softsign")


def test_trains_through_the_course_functions(monkeypatch):
    """The lesson's epoch is jku.train_and_test (with jku.train and jku.test), not a private copy."""
    import torch

    from backproplab.courses import jku

    calls = []
    real = jku.train_and_test

    def spy(model, hyperparameters, **kwargs):
        calls.append((type(model).__name__, dict(hyperparameters), kwargs["train_loader"]))
        return real(model, hyperparameters, **kwargs)

    monkeypatch.setattr(jku, "train_and_test", spy)
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(130, 1, 28, 28, generator=gen), torch.randint(0, 10, (130,), generator=gen)
    model, res, acc = vanishing.train_one_epoch("sigmoid", X, y, X[:40], y[:40], device="cpu")
    (name, hyper, loader), = calls
    assert name == "ANN_sigmoid" and hyper == {"lr": 0.01, "momentum": 0.5, "epochs": 1}
    assert isinstance(loader, jku.TensorLoader) and loader.batch_size == 64 and loader.shuffle
    assert [len(g) for g in res.grads] == [3, 3, 3] and acc == res.test_acc[-1]


def test_statement_c_evidence_bounds_the_derivative_factors_not_the_gradient():
    # d L/d a_1 through three sigmoid layers is Π W_l·σ'(s_l): only the σ' factors are at most 0.25^3.
    layers = ["fc1", "fc2", "fc3"]
    m = {"layers": layers, "first": "fc1", "n_train": 12000, "expected_records": 188,
         "mean_grad": {"sigmoid": {"fc1": 2e-5, "fc2": 3e-5, "fc3": 3e-4}, "relu": {"fc1": 7e-4, "fc2": 7e-4,
                                                                                     "fc3": 6e-4}},
         "ratio": {"sigmoid": 0.06, "relu": 1.1}, "acc_sig": 0.1, "acc_relu": 0.68, "sig_min": 2e-9,
         "sig_max": 0.25, "sig_net_max": 0.2499, "others": {"relu": (0.0, 1.0)}, "min_of_others": 0.0,
         "relu_zero_frac": 0.4, "relu_above_one": 0.0, "records": [188] * 6}
    claims, verdict = vanishing._claims(m)
    (c,) = [claim for claim in claims if claim.name.startswith("(c)")]
    assert verdict["c"] and c.passed
    assert "the factor is at most 0.25^3" not in c.evidence
    assert "σ' factors multiply to at most 0.25^3 = 0.0156" in c.evidence and "weights multiply in too" in c.evidence
