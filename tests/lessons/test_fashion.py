"""The Fashion-MNIST lesson at quick size: three models, verdicts, per-class accuracy, confusion."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from backproplab.lessons import fashion, get_lesson

pytestmark = pytest.mark.lessons


@pytest.fixture(scope="module")
def result(fashion_available):
    if not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    res = fashion.run(quick=True, device="cpu")
    yield res
    res.close_figures()


def test_registered_with_options():
    assert get_lesson("fashion") is fashion
    parser = argparse.ArgumentParser()
    fashion.add_arguments(parser)
    args = parser.parse_args(["--model", "cnn", "--epochs", "3", "--device", "cpu"])
    assert (args.model, args.epochs, args.device) == ("cnn", 3, "cpu")


def test_every_claim_passes(result):
    failed = [str(c) for c in result.claims if not c.passed]
    assert not failed, failed


def test_quick_accuracies_and_bounds(result):
    rows = {row["model"]: row for row in result.tables["models"]}
    assert set(rows) == {"NumpyANN", "PyTorchANN", "PyTorchCNN"}
    for kind, label in fashion.LABELS.items():
        assert rows[label]["test_acc"] >= fashion.QUICK_SETTINGS[kind]["bound"]
        assert result.claim(f"{label} test accuracy").value == pytest.approx(rows[label]["test_acc"])
        assert rows[label]["verdict"] in ("underfitting", "overfitting", "generalizing well", "not converged")
    assert result.params["test_images"] == fashion.QUICK_TEST_SIZE


def test_per_class_table_and_figures(result):
    table = result.tables["per_class_accuracy"]
    assert len(table) == 10
    assert all(0.0 <= row["PyTorchCNN"] <= 1.0 for row in table)
    assert set(result.figures) == {"fashion_curves", "fashion_per_class", "fashion_confusion",
                                   "fashion_misclassified"}


def test_confusion_matrix_counts():
    y = np.array([0, 0, 1, 2, 2, 2])
    p = np.array([0, 1, 1, 2, 0, 2])
    cm = fashion.confusion_matrix(y, p, 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    np.testing.assert_array_equal(fashion.confusion_matrix(y, p), confusion_matrix(y, p, labels=range(10)))
    with pytest.raises(ValueError, match="y_true"):
        fashion.confusion_matrix(y, p[:-1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="model"):
        fashion.run(quick=True, model="rnn")
    with pytest.raises(ValueError, match="epochs"):
        fashion.run(quick=True, epochs=0)
