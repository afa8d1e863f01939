"""The fit verdict on synthetic learning curves: each label, the rule's order, numbers cited."""

from __future__ import annotations

import math

import pytest

from backproplab.errors import InputError
from backproplab.torchnn import History, PyTorchANN, diagnose
from backproplab.torchnn.diagnose import JUDGEMENTS, judgement

pytestmark = pytest.mark.torchnn


def _h(train_loss, train_acc, val_loss=(), val_acc=()):
    return History(train_loss=list(train_loss), train_acc=list(train_acc), val_loss=list(val_loss),
                   val_acc=list(val_acc))


def test_generalizing_well():
    h = _h([0.9, 0.5, 0.40, 0.39], [0.70, 0.85, 0.890, 0.893], [0.6, 0.45, 0.42, 0.415], [0.80, 0.86, 0.874, 0.876])
    v = diagnose(h)
    assert v.label == "generalizing well"
    assert "0.893" in v.explanation and "0.876" in v.explanation and "gap 0.017" in v.explanation


def test_overfitting_by_accuracy_gap():
    h = _h([0.5, 0.2, 0.05, 0.02], [0.85, 0.94, 0.985, 0.995], [0.45, 0.40, 0.42, 0.43], [0.86, 0.88, 0.885, 0.884])
    v = diagnose(h)
    assert v.label == "overfitting"
    assert "0.995" in v.explanation and "0.884" in v.explanation and "gap 0.111 > 0.050" in v.explanation
    assert v.evidence["gap"] == pytest.approx(0.111)


def test_overfitting_by_rising_validation_loss_with_small_gap():
    h = _h([0.6, 0.4, 0.3, 0.25, 0.2], [0.80, 0.86, 0.89, 0.900, 0.905],
           [0.50, 0.40, 0.42, 0.47, 0.50], [0.83, 0.87, 0.875, 0.874, 0.874])
    v = diagnose(h)
    assert v.label == "overfitting"
    assert "0.4000 (epoch 2)" in v.explanation and "0.5000" in v.explanation and "+25%" in v.explanation


def test_underfitting_when_flat_but_low():
    h = _h([1.60, 1.55, 1.54, 1.54], [0.40, 0.45, 0.452, 0.455], [1.62, 1.57, 1.56, 1.56], [0.41, 0.44, 0.445, 0.447])
    v = diagnose(h)
    assert v.label == "underfitting"
    assert "0.455 < 0.80" in v.explanation


def test_not_converged_when_still_improving_or_one_epoch_or_diverged():
    rising = _h([2.3, 1.5, 1.0], [0.2, 0.5, 0.7], [2.0, 1.3, 0.9], [0.3, 0.55, 0.72])
    v = diagnose(rising)
    assert v.label == "not converged" and "0.550 → 0.720" in v.explanation
    one = diagnose(_h([2.30], [0.168], [2.29], [0.170]))
    assert one.label == "not converged" and "only 1 epoch" in one.explanation
    nan = diagnose(_h([2.3, math.nan], [0.1, 0.1]))
    assert nan.label == "not converged" and "epoch 2" in nan.explanation


def test_rule_order_overfitting_beats_still_improving():
    h = _h([0.5, 0.2, 0.08], [0.85, 0.95, 0.99], [0.45, 0.42, 0.41], [0.80, 0.84, 0.86])
    assert diagnose(h).label == "overfitting"


def test_without_validation_and_from_dict():
    h = _h([0.5, 0.45, 0.449], [0.85, 0.88, 0.881])
    assert diagnose(h).label == "generalizing well"
    assert diagnose(h.to_dict()).label == "generalizing well"
    with pytest.raises(InputError, match="train_loss"):
        diagnose(_h([], []))


@pytest.mark.parametrize(("curves", "word"), [
    (([0.5, 0.45, 0.449], [0.85, 0.88, 0.881]), "generalizing"),
    (([0.5, 0.2, 0.05, 0.02], [0.85, 0.94, 0.985, 0.995], [0.45, 0.40, 0.42, 0.43], [0.86, 0.88, 0.885, 0.884]),
     "overfitting"),
    (([1.60, 1.55, 1.54, 1.54], [0.40, 0.45, 0.452, 0.455]), "underfitting"),
    (([2.3, 1.5, 1.0], [0.2, 0.5, 0.7]), "underfitting"),  # not converged: still improving
    (([2.3, math.nan], [0.1, 0.1]), "underfitting"),  # diverged
])
def test_judgement_is_the_course_word(curves, word):
    h = _h(*curves)
    assert judgement(h) == judgement(diagnose(h)) == word
    assert word in JUDGEMENTS


def test_report_my_judgement_returns_the_string_and_prints_the_reasons(capsys):
    model = PyTorchANN(4, 3, 2, seed=0)
    model.history = _h([0.5, 0.45, 0.449], [0.85, 0.88, 0.881])
    assert model.report_my_judgement() == "generalizing"
    verdict = model.judge()
    assert capsys.readouterr().out.strip() == f"generalizing ({verdict})"
    assert str(verdict).startswith("generalizing well: ")
    assert model.report_my_judgement(verbose=False) == "generalizing" and capsys.readouterr().out == ""


def test_a_loss_that_rose_is_printed_with_its_sign():
    """A training loss that rose in the last epoch printed as "loss --157.1%" (a minus sign before a
    negative drop); it reads "+157.1%" now, and a fall "-2.5%". Which verdict a rise deserves is left
    as it was: the checker's judgement items grade students against it."""
    rose = diagnose({"train_loss": [0.30, 0.35, 0.90], "train_acc": [0.95, 0.95, 0.95],
                     "val_loss": [0.3, 0.3, 0.3], "val_acc": [0.94, 0.945, 0.945]})
    assert "--" not in rose.explanation and "training loss +157.1%" in rose.explanation, rose.explanation
    fell = diagnose({"train_loss": [1.0, 0.5, 0.4875], "train_acc": [0.5, 0.94, 0.95],
                     "val_loss": [1.0, 0.5, 0.49], "val_acc": [0.5, 0.943, 0.945]})
    assert "training loss -2.5%" in fell.explanation, fell.explanation
    rose_early = diagnose({"train_loss": [1.0, 0.5, 0.6], "train_acc": [0.5, 0.9, 0.95],
                           "val_loss": [1.0, 0.5, 0.5], "val_acc": [0.5, 0.90, 0.94]})
    assert "0.5000 → 0.6000 (+20.0%, limit 5%)" in rose_early.explanation, rose_early.explanation


def test_an_unchanged_loss_is_printed_as_no_change():
    flat = diagnose({"train_loss": [1.0, 0.5, 0.5], "train_acc": [0.5, 0.95, 0.95],
                     "val_loss": [1.0, 0.5, 0.5], "val_acc": [0.5, 0.945, 0.945]})
    assert "training loss +0.0%" in flat.explanation, flat.explanation  # "-0.0%" read as a fall
