"""Hostile submissions cost the affected items, with a clear message, and nothing else: the checker
finishes, the other items keep their points, and nothing is written outside the temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from backproplab.check import Limits, check

from ._helpers import fixture

ALL = [f"1.{i}" for i in range(1, 11)]
NON_TRAINING = ALL[:-1]
# (lost items, words in the message); the hostile code sits in accuracy() (1.9) or runs on import
HOSTILE = {
    "hostile_endless_loop": ({"1.9"}, "did not finish within 3 s of wall clock"),
    "hostile_memory_bomb": ({"1.9"}, "MemoryError"),
    "hostile_fork": ({"1.9"}, "may not start a process (os.fork)"),
    "hostile_subprocess": ({"1.9"}, "may not start a process (subprocess)"),
    "hostile_write_outside": ({"1.9"}, "writing outside the working directory is not allowed"),
    "hostile_sys_exit": ({"1.9"}, "called sys.exit(3)"),
    "hostile_os_exit": ({"1.9"}, "exited with status 7"),
    "hostile_prints": (set(), ""),
    "hostile_syntax_error": (set(NON_TRAINING), "SyntaxError: expected ':'"),
    "hostile_import_error": (set(NON_TRAINING), "No module named 'tensorflow_is_not_installed_here'"),
    "hostile_missing_class": (set(NON_TRAINING), "defines no NumpyANN"),
    "hostile_exit_on_import": (set(NON_TRAINING), "put the run under `if __name__ == \"__main__\":`"),
    "hostile_loop_on_import": (set(NON_TRAINING), "importing numpy_ann.py took longer than 4 s"),
}
ESCAPES = [Path("/tmp/backproplab-check-escape.txt"), Path("/tmp/backproplab-check-escape-sub")]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_submission_costs_only_its_items(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in ESCAPES:
        path.unlink(missing_ok=True)
    lost, message = HOSTILE[name]
    result = check("purdue-numpy-ann", fixture("numpy_ann", name), items=NON_TRAINING, timeout=3,
                   limits=Limits(import_timeout=4, memory_mb=2048))
    assert set(result.lost()) == lost
    if message:
        assert all(message in result.item(i).failures()[0] for i in lost)
    assert not any(path.exists() for path in ESCAPES)
    assert not (tmp_path.parent / "backproplab-check-escape.txt").exists()
    assert list(tmp_path.iterdir()) == []


def test_100_mb_of_prints_are_cut():
    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_prints"), items=["1.9"])
    item = result.item("1.9")
    assert item.passed
    assert "more characters cut" in item.stdout and len(item.stdout) < 10_000


def test_a_hung_item_does_not_stop_the_items_after_it():
    result = check("purdue-numpy-ann", fixture("numpy_ann", "hostile_endless_loop"), items=["1.8", "1.9", "1.2"],
                   timeout=2)
    assert result.lost() == ["1.9"] and result.item("1.2").passed and result.item("1.8").passed
