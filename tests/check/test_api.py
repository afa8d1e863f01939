"""The pieces behind check(): what a PATH means, how an item is scored, how values are compared."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.check import Assertion, ItemResult, submissions
from backproplab.check.compare import close, ratio
from backproplab.errors import InputError


def _student(folder, name="numpy_ann.py"):
    folder.mkdir(parents=True)
    (folder / name).write_text("x = 1\n")
    return folder


def test_a_path_is_one_submission_or_a_batch(tmp_path):
    alice = _student(tmp_path / "class" / "alice")
    bob = _student(tmp_path / "class" / "bob")
    (tmp_path / "class" / "notes").mkdir()
    assert submissions("purdue-numpy-ann", [alice]) == [("alice", alice)]
    assert submissions("purdue-numpy-ann", [alice / "numpy_ann.py"]) == [("alice", alice / "numpy_ann.py")]
    notes = tmp_path / "class" / "notes"  # a student folder with nothing to grade: graded 0, with why
    assert submissions("purdue-numpy-ann", [tmp_path / "class"]) == [("alice", alice), ("bob", bob), ("notes", notes)]
    assert submissions("purdue-numpy-ann", [alice, bob]) == [("alice", alice), ("bob", bob)]
    with pytest.raises(InputError, match="holds no numpy_ann.py, nor folders that do"):
        submissions("purdue-numpy-ann", [tmp_path / "class" / "notes"])
    with pytest.raises(InputError, match="assignment must be one of"):
        submissions("purdue-numpy", [alice])


def test_purdue_folder_counts_any_of_the_three_files(tmp_path):
    carol = _student(tmp_path / "carol", "pytorch_cnn.py")
    assert submissions("purdue", [tmp_path]) == [("carol", carol)]


def test_item_score_is_points_times_the_fraction_passed_and_notes_do_not_count():
    item = ItemResult("1.6", "_backward", 3, [Assertion("a", True), Assertion("b", False, "m", "h"),
                                               Assertion("c", True), Assertion("n", True, note=True)])
    assert item.score == 2.0 and not item.passed
    assert item.failures() == ["b: m\n  likely cause: h"] and item.headline() == "b: h"
    assert ItemResult("1.2", "_relu", 1, [Assertion("a", True)], error="raised").score == 0


def test_close_names_shape_and_largest_difference_and_picks_the_hint():
    expected = np.arange(6.0).reshape(2, 3)
    assert close("x", "f(x)", expected + 1e-12, expected).passed
    wrong = close("x", "f(x)", 64 * expected, expected, hints=[(lambda g, e: np.allclose(g, 64 * e), "64×")])
    assert not wrong.passed and wrong.hint == "64×"
    assert "largest difference 315 at index (1, 2) (expected 5, got 320)" in wrong.message
    shape = close("x", "f(x)", expected.T, expected, shape_hint="transpose")
    assert "expected shape (2, 3), got shape (3, 2)" in shape.message and shape.hint == "transpose"


def test_ratio_finds_a_single_factor_only():
    e = np.array([1.0, -2.0, 3.0])
    assert ratio(64 * e, e) == pytest.approx(64)
    assert ratio(e + [0, 0, 1], e) is None
    assert ratio(np.array([np.nan, 1, 1]), e) is None


@pytest.mark.parametrize("jobs", [0, 65, True, 2.0])
def test_batch_jobs_are_an_integer_from_1_to_max_jobs(jobs, tmp_path):
    """``check_batch(jobs=100000)`` would start a child with torch per submission at once."""
    from backproplab.check import check_batch
    from backproplab.check.api import MAX_JOBS

    with pytest.raises(InputError, match=f"jobs must be an integer from 1 to {MAX_JOBS}"):
        check_batch("purdue-numpy-ann", [_student(tmp_path / "alice")], jobs=jobs)
