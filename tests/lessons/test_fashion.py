"""The Fashion-MNIST lesson at quick size: three models, verdicts, per-class accuracy, confusion."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from backproplab.cli import main
from backproplab.courses.purdue import TARGETS
from backproplab.data import FASHION_CLASSES
from backproplab.lessons import fashion, get_lesson

pytestmark = pytest.mark.lessons


@pytest.fixture(scope="module")
def result(fashion_available, quick_runs):
    if not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    return quick_runs.get(fashion, quick=True, device="cpu")  # one run per session (tests/conftest.py)


def test_registered_with_options():
    assert get_lesson("fashion") is fashion
    parser = argparse.ArgumentParser()
    fashion.add_arguments(parser)
    args = parser.parse_args(["--model", "cnn", "--epochs", "3", "--device", "cpu"])
    assert (args.model, args.epochs, args.device) == ("cnn", 3, "cpu")


@pytest.mark.parametrize("epochs", ["1000000", "101", "0", "-1", "2.5"])
def test_cli_epochs_out_of_range_is_a_usage_error_naming_the_maximum(epochs, capsys):
    """'fashion --epochs 1000000' was accepted and would train for days: --epochs is checked at the door
    (argparse, before any data is read), the error names the option, the maximum and why, and --help
    states it."""
    with pytest.raises(SystemExit) as info:
        main(["fashion", "--epochs", epochs])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"argument --epochs: expected an integer from 1 to {fashion.MAX_EPOCHS} (the course trains" in err
    assert f"got '{epochs}'" in err
    with pytest.raises(SystemExit):
        main(["fashion", "--help"])
    assert f"--epochs N epochs for every chosen model, 1 to {fashion.MAX_EPOCHS} (" in " ".join(
        capsys.readouterr().out.split())
    assert fashion.MAX_EPOCHS >= 2 * max(s["epochs"] for s in fashion.SETTINGS.values())


@pytest.mark.slow  # trains on Fashion-MNIST
def test_quick_accuracy_claims_say_they_are_quick_run_bounds(result):
    rows = {row["model"]: row for row in result.tables["models"]}
    assert set(rows) == {"NumpyANN", "PyTorchANN", "PyTorchCNN"}
    for kind, label in fashion.LABELS.items():
        bound = fashion.QUICK_SETTINGS[kind]["bound"]
        (claim,) = [c for c in result.claims if c.name.startswith(f"quick run: {label} test accuracy")]
        assert claim.value == pytest.approx(rows[label]["test_acc"]) and claim.bound == f">= {bound:g}"
        assert f"the course's {TARGETS[label]:g} is checked in the full run" in claim.name
        assert rows[label]["judgement"] in ("underfitting", "overfitting", "generalizing")
        assert rows[label]["course_target"] == TARGETS[label]
    assert result.params["test_images"] == fashion.QUICK_TEST_SIZE


@pytest.mark.slow  # trains on Fashion-MNIST
def test_no_tautology_and_yes_no_claims_show_yes_or_no(result):
    assert not [c for c in result.claims if "weighted by class size" in c.name]
    for claim in result.claims:
        if claim.bound == "yes":
            assert claim.value in ("yes", "no") and claim.passed == (claim.value == "yes")


@pytest.mark.parametrize("kind", fashion.MODELS)
def test_accuracy_claim_bounds_full_quick_and_fewer_epochs(kind):
    label, target = fashion.LABELS[kind], TARGETS[fashion.LABELS[kind]]
    full = fashion.accuracy_claim(kind, target - 0.01, fashion.SETTINGS[kind]["epochs"], 55000, quick=False)
    assert full.bound == f">= {target:g}" and not full.passed and "course's target" in full.name
    quick_epochs = fashion.QUICK_SETTINGS[kind]["epochs"]
    quick = fashion.accuracy_claim(kind, target - 0.01, quick_epochs, 6000, quick=True)
    assert quick.passed and quick.name.startswith(f"quick run: {label}") and "full run" in quick.name
    short = fashion.accuracy_claim(kind, 0.5, 1, 55000, quick=False)
    assert short.bound == f">= {fashion.CHANCE_BOUND:g}" and short.passed
    assert "above chance" in short.name and f"the course's {target:g} is not checked" in short.name


def test_full_runs_of_the_two_anns_use_sgd():
    # the full-run bounds are purdue.TARGETS (test_accuracy_claim_bounds_full_quick_and_fewer_epochs);
    # that TARGETS holds the course's numbers is tests/courses/test_purdue.py's check
    assert all(s["optimizer"] == "SGD" for k, s in fashion.SETTINGS.items() if k != "cnn")


@pytest.mark.slow  # trains on Fashion-MNIST
def test_per_class_table_and_figures(result):
    table = result.tables["per_class_accuracy"]
    assert len(table) == 10
    assert all(0.0 <= row["PyTorchCNN"] <= 1.0 for row in table)
    assert set(result.figures) == {"fashion_samples", "fashion_curves", "fashion_per_class", "fashion_confusion",
                                   "fashion_misclassified", "pytorch_ann_train_val_metrics"}
    titles = [ax.get_title().split("\n")[0] for ax in result.figures["fashion_samples"].axes]
    assert len(titles) == 20 and sorted(set(titles)) == sorted(FASHION_CLASSES)
    assert len(result.figures["pytorch_ann_train_val_metrics"].axes) == 2


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


@pytest.mark.parametrize("epochs", [10**6, fashion.MAX_EPOCHS + 1, True, 2.0, "3"])
def test_epochs_from_python_are_bounded_as_on_the_command_line(epochs):
    """fashion.run(epochs=10**6) started a run of days: Python gets the CLI's bound, with its reason."""
    with pytest.raises(ValueError, match=rf"^epochs must be an integer from 1 to {fashion.MAX_EPOCHS} \(the course trains"):
        fashion.run(quick=True, epochs=epochs)


def test_the_hardest_class_is_said_to_be_taken_for_another_class_not_itself():
    """When the hardest class still gets most of its images right, the confusion named is its largest
    off-diagonal entry (a reviewer saw "Shirt ... most often taken for Shirt (49 of 200)")."""
    cm = np.full((10, 10), 2) + np.diag(np.full(10, 180))
    shirt = FASHION_CLASSES.index("Shirt")
    cm[shirt] = 10
    cm[shirt, shirt], cm[shirt, 0] = 49, 41  # 49 right, 41 taken for T-shirt/top, 10 for each other
    per_class = (np.diag(cm) / cm.sum(axis=1)).tolist()
    claims = fashion._comparison_claims({"ann": {"test_acc": 0.8, "per_class": per_class, "cm": cm}}, True,
                                        FASHION_CLASSES)
    assert f"most often taken for {FASHION_CLASSES[0]} (41 of {int(cm[shirt].sum())})" in claims[0].evidence
    assert claims[0].passed


@pytest.mark.slow  # trains on Fashion-MNIST (about 3 s)
@pytest.mark.parametrize("kind, seed, measured", [("numpy", 6, 0.670), ("ann", 1, 0.727)])
def test_quick_bounds_hold_for_seeds_that_failed_them(fashion_available, kind, seed, measured):
    """`fashion --quick --seed 1` printed '1 of 4 claims FAIL' (PyTorchANN 0.7265 against 0.75), and seed 6
    NumpyANN 0.670 against 0.72: three epochs at step size 0.1 end wherever the last one lands."""
    if not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    y_all, rest, val_idx, y_test, test_idx = fashion._split(True, seed)
    results, settings = fashion._train_all([kind], True, seed, None, "cpu", y_all, rest, val_idx, test_idx)
    accuracy = float(np.mean(results[kind]["pred"] == y_test[test_idx]))
    assert accuracy == pytest.approx(measured, abs=0.002)
    claim = fashion.accuracy_claim(kind, accuracy, settings[kind]["epochs"], settings[kind]["train"], quick=True)
    assert claim.passed and claim.name.startswith(f"quick run: {fashion.LABELS[kind]} test accuracy")


def _fake_results():
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    results = {}
    for kind, scale in (("numpy", 0.1), ("ann", 1.0), ("cnn", 1.0)):
        history = {"train_loss": list(scale * np.array([1.3, 0.7, 0.6])),
                   "val_loss": list(scale * np.array([0.9, 0.8, 0.7])),
                   "train_acc": [0.5, 0.7, 0.8], "val_acc": [0.6, 0.7, 0.75]}
        per_class = rng.uniform(0.2, 1.0, 10)
        per_class[-1] = 1.0  # Ankle boot: a full bar, under where the legend sat
        results[kind] = {"history": history, "judgement": "underfitting",
                         "verdict": SimpleNamespace(label="not converged"), "per_class": per_class, "test_acc": 0.8}
    return results


def test_numpy_loss_panel_names_its_loss_and_shows_the_pytorch_scale():
    """fashion_curves.png labelled the NumpyANN loss "loss (_cross_entropy: CE / 10)", a private method's name,
    and left its 0.06-0.13 beside PyTorch's 0.5-0.9 unexplained."""
    fig = fashion._plot_curves(_fake_results(), 10)
    numpy_loss = fig.axes[0]
    assert "_cross_entropy" not in numpy_loss.get_ylabel() + numpy_loss.get_title()
    assert numpy_loss.get_ylabel() == "cross-entropy ÷ 10 classes (the course's NumpyANN)"
    assert "10× smaller than the PyTorch" in numpy_loss.get_title()
    (right,) = [a for a in numpy_loss.child_axes if "as PyTorch" in a.get_ylabel()]
    FigureCanvasAgg(fig).draw()
    lo, hi = numpy_loss.get_ylim()
    assert right.get_ylim() == pytest.approx((10 * lo, 10 * hi))  # the PyTorch rows' scale
    import pickle

    pickle.loads(pickle.dumps(fig))  # the lesson's result, figures included, is pickled


def test_per_class_legend_covers_no_bar():
    """fashion_per_class.png's legend sat in the lower right, over the Ankle-boot bars."""
    from matplotlib.transforms import Bbox

    fig = fashion._plot_per_class(_fake_results(), list(FASHION_CLASSES))
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    (ax,) = fig.axes
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [bar.get_window_extent(renderer) for bar in ax.patches]
    assert len(bars) == 30
    assert not [b for b in bars if Bbox.intersection(legend, b) is not None]
