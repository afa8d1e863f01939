"""A batch of 20 submissions (correct, mistaken, hostile) graded with --jobs 2 into a gradebook whose
totals equal the per-student records."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from backproplab.cli import main

from ._helpers import fixture

MIX = ["correct", "relu_grad_at_zero", "cross_entropy_swapped", "no_divide_by_m", "init_default_rng",
       "init_order", "accuracy_percent", "forward_stores_nothing", "hostile_sys_exit", "hostile_syntax_error"]


@pytest.mark.slow
@pytest.mark.usefixtures("needs_fashion")
def test_batch_of_20_with_two_jobs(tmp_path, capsys):
    subs = tmp_path / "submissions"
    for k in range(20):
        name = MIX[k % len(MIX)]
        (subs / f"student{k:02d}_{name}").mkdir(parents=True)
        shutil.copy(fixture("numpy_ann", name) / "numpy_ann.py", subs / f"student{k:02d}_{name}" / "numpy_ann.py")
    out = tmp_path / "grades"
    code = main(["check", "purdue-numpy-ann", str(subs), "--jobs", "2", "--quick", "--out", str(out),
                 "--json", str(tmp_path / "all.json")])
    assert code == 1  # not everyone got full marks
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert len(rows) == 20
    items = [c for c in rows[0] if c.split(" ")[0].startswith("1.")]
    assert len(items) == 10
    for row in rows:
        record = json.loads((out / "records" / f"{row['student']}.json").read_text())
        assert float(row["total"]) == pytest.approx(record["score"])
        assert float(row["total"]) == pytest.approx(sum(float(row[c]) for c in items), abs=0.011)
        by_id = {it["id"]: it["score"] for it in record["items"]}
        assert all(float(row[c]) == pytest.approx(by_id[c.split(" ")[0]]) for c in items)
    totals = {r["student"].split("_", 1)[1]: float(r["total"]) for r in rows}
    assert totals["correct"] == 18 and totals["hostile_syntax_error"] == 0 and totals["hostile_sys_exit"] == 16
    assert len(json.loads((tmp_path / "all.json").read_text())) == 20
    printed = capsys.readouterr().out
    assert printed.count("lost:") == 20


def test_notebooks_are_read_one_at_a_time_across_jobs(monkeypatch, tmp_path):
    """CPython 3.11's AST constructor shares its recursion depth between threads: two notebooks parsed at
    once by ``--jobs 2`` failed now and then with "AST constructor recursion depth mismatch" (gh-106905).
    Reading a notebook (parse, compile) happens under one lock."""
    from backproplab.check import assignment as grading
    from backproplab.check.api import assignments
    from backproplab.check.templates import init

    held = []
    radboud = assignments()["radboud-a1"]
    real = radboud.prepare
    monkeypatch.setattr(radboud, "prepare", lambda source: held.append(grading._PARSING.locked()) or real(source))
    init("radboud-a1", tmp_path, solution=True)
    with grading._prepared(radboud, tmp_path / "radboud_a1.ipynb", []) as (module_file, _, cells):
        assert module_file.read_text().strip() and cells
    assert held == [True]


def test_a_student_folder_that_is_a_link_is_not_graded_nor_followed(tmp_path, capsys):
    """In a batch, ``mallory -> <the lab>/check/templates/solutions`` scored 6/6 from the lab's own reference
    solution and ``eve -> alice`` was graded on alice's file, with a gradebook that showed no link: a
    student's folder that is a link scores 0 with the reason once, and a file in it is never graded."""
    from backproplab.check import check
    from backproplab.check.templates.purdue import SOLUTIONS

    batch = tmp_path / "class"
    (batch / "alice").mkdir(parents=True)
    shutil.copy(SOLUTIONS / "numpy_ann.py", batch / "alice" / "numpy_ann.py")
    (batch / "mallory").symlink_to(SOLUTIONS, target_is_directory=True)
    (batch / "eve").symlink_to("alice", target_is_directory=True)
    out = tmp_path / "grades"
    assert main(["check", "purdue-numpy-ann", str(batch), "--out", str(out), "--item", "1.2"]) == 1
    printed = capsys.readouterr().out.splitlines()
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert {s: r["total"] for s, r in rows.items()} == {"alice": "1", "eve": "0", "mallory": "0"}
    assert rows["mallory"]["path"] == str(batch / "mallory")
    for student in ("eve", "mallory"):
        said = printed[printed.index(next(p for p in printed if p.startswith(student))) + 1]
        assert said.strip() == f"not graded: {student} is a symbolic link"
        record = json.loads((out / "records" / f"{student}.json").read_text())
        assert len(record["messages"]) == 1 and "is a symbolic link to" in record["messages"][0]
    for path in (batch / "eve", batch / "eve" / "numpy_ann.py"):  # as a PATH of its own, alike
        result = check("purdue-numpy-ann", path, items=["1.2"])
        assert result.lost() == ["1.2"] and result.item("1.2").error == "not graded: eve is a symbolic link"
        assert f"{batch / 'eve'}" in result.messages[0] and "is a symbolic link to 'alice'" in result.messages[0]


def test_a_student_folder_with_nothing_to_grade_is_in_the_gradebook(tmp_path, capsys):
    """erin's folder held only notes.txt (ben's file was misnamed): the batch left them out of the gradebook
    without a word, and with one student left it became a single submission with no gradebook at all.
    They get 0 and the reason; an earlier run's --out folder (it holds the manifest) is no student."""
    batch = tmp_path / "batch"
    for student in ("ann", "ben", "erin"):
        (batch / student).mkdir(parents=True)
    shutil.copy(fixture("numpy_ann", "correct") / "numpy_ann.py", batch / "ann" / "numpy_ann.py")
    shutil.copy(fixture("numpy_ann", "correct") / "numpy_ann.py", batch / "ben" / "numpy_ann (1).py")
    (batch / "erin" / "notes.txt").write_text("see you")
    (batch / "results").mkdir()
    (batch / "results" / ".backproplab-check.json").write_text("{}")
    out = tmp_path / "out"
    assert main(["check", "purdue-numpy-ann", str(batch), "--item", "1.2", "--out", str(out)]) == 1
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [(r["student"], r["total"]) for r in rows] == [("ann", "1"), ("ben", "0"), ("erin", "0")]
    assert "numpy_ann.py not found in" in capsys.readouterr().out
