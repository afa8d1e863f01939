"""The checker's outputs: the terminal table, our JSON, Gradescope's results.json (validated against
a JSON Schema of Gradescope's format), the CLI, and the documented one-line run_autograder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from backproplab.check import check, format_table, gradescope
from backproplab.cli import main

from ._helpers import fixture

ROOT = Path(__file__).resolve().parents[2]

# Gradescope's autograder results format (https://gradescope-autograders.readthedocs.io, "Output format")
GRADESCOPE_SCHEMA = {
    "type": "object",
    "required": ["tests"],
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["score", "max_score"],
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number"},
                    "name": {"type": "string"},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def mistaken():
    return check("purdue-numpy-ann", fixture("numpy_ann", "no_divide_by_m"), items=[f"1.{i}" for i in range(1, 10)])


def test_gradescope_results_validate_and_add_up(mistaken):
    payload = gradescope(mistaken)
    jsonschema.validate(payload, GRADESCOPE_SCHEMA)
    assert [t["number"] for t in payload["tests"]] == [f"1.{i}" for i in range(1, 10)]
    assert payload["score"] == pytest.approx(sum(t["score"] for t in payload["tests"]))
    lost = {t["number"]: t for t in payload["tests"] if t["score"] < t["max_score"]}
    assert set(lost) == {"1.6", "1.7"}
    assert "divide by the number of samples" in lost["1.6"]["output"]


def test_table_names_items_points_and_the_failure(mistaken):
    table = format_table(mistaken)
    assert re.search(r"^1\.6\s+0 / 3\s+W1 after the step", table, re.M)
    assert "likely cause: your dW1 is 64× the expected one" in table


def test_json_record_round_trips(mistaken):
    record = json.loads(json.dumps(mistaken.to_dict()))
    assert record["score"] == mistaken.score and len(record["items"]) == 9
    assert record["items"][5]["id"] == "1.6" and record["items"][5]["passed"] is False


def test_cli_list(capsys):
    assert main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    assert "purdue-numpy-ann: numpy_ann.py, class NumpyANN, 18 points" in out
    assert re.search(r"^\s+1\.6\s+3\s+_backward", out, re.M) and "(42 points)" in out


@pytest.mark.parametrize("argv, words", [
    (["check"], "needs an ASSIGNMENT"),
    (["check", "purdue-numpy-ann"], "needs a PATH"),
    (["check", "nope", "x"], "assignment must be one of"),
    (["check", "purdue-numpy-ann", "/no/such/file.py"], "does not exist"),
    (["check", "purdue-numpy-ann", str(fixture("numpy_ann", "correct")), "--jobs", "0"], "--jobs must be"),
    # one file was graded as all three parts: 18 / 42, the other two "define no PyTorchANN"
    (["check", "purdue", str(fixture("numpy_ann", "correct") / "numpy_ann.py")],
     "purdue grades a folder holding its 3 files"),
    # 100000 jobs would have started a child with torch (and up to 16 GiB) per submission at once
    (["check", "purdue-numpy-ann", str(fixture("numpy_ann", "correct")), "--jobs", "100000"],
     "--jobs must be from 1 to 64 (each job is its own processes"),
])
def test_cli_errors_are_one_line(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.usefixtures("needs_fashion")
def test_run_autograder_line_from_the_docs(tmp_path):
    """The documented run_autograder line, with /autograder moved under tmp_path, on a fixture."""
    line = next(ln for ln in (ROOT / "docs" / "checking.md").read_text().splitlines()
                if ln.startswith("backproplab check") and "--gradescope" in ln)
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    (root / "submission" / "numpy_ann.py").write_bytes(
        (fixture("numpy_ann", "relu_grad_at_zero") / "numpy_ann.py").read_bytes())
    command = line.replace("/autograder", str(root)).replace("backproplab check", "backproplab check --quick", 1)
    script = tmp_path / "run_autograder"
    script.write_text(f"#!/usr/bin/env bash\n{command}\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "backproplab").write_text(f"#!/bin/sh\nexec {sys.executable} -m backproplab \"$@\"\n")
    (bindir / "backproplab").chmod(0o755)
    env["PATH"] = f"{bindir}:{env['PATH']}"
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, GRADESCOPE_SCHEMA)
    assert results["score"] == 17 and results["max_score"] == 18
    assert "_relu_grad(0) returned 1" in next(t for t in results["tests"] if t["number"] == "1.3")["output"]


def test_cli_one_submission_writes_json_and_gradescope(tmp_path, capsys):
    code = main(["check", "purdue-numpy-ann", str(fixture("numpy_ann", "cross_entropy_swapped")), "--item", "1.4",
                 "--item", "1.2", "--json", str(tmp_path / "r.json"), "--gradescope", str(tmp_path / "g.json")])
    assert code == 1
    out = capsys.readouterr().out
    assert re.search(r"^1\.4\s+0 / 1\s+_cross_entropy row 0", out, re.M)
    assert "likely cause: _cross_entropy looks like it takes (y_pred, y_true)" in out
    record = json.loads((tmp_path / "r.json").read_text())
    assert [it["id"] for it in record["items"]] == ["1.2", "1.4"] and record["score"] == 1
    jsonschema.validate(json.loads((tmp_path / "g.json").read_text()), GRADESCOPE_SCHEMA)


def test_cli_gradescope_refuses_a_batch(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "numpy_ann.py").write_text("x = 1\n")
    assert main(["check", "purdue-numpy-ann", str(tmp_path), "--gradescope", str(tmp_path / "g.json")]) == 2
    assert "one submission's results.json" in capsys.readouterr().err


def test_cli_gradescope_gives_an_upload_with_nothing_to_grade_its_results_json(tmp_path, capsys):
    """An empty upload, or another assignment's notebook, was a usage error (exit 2, no results.json):
    Gradescope then says only "the autograder failed". Now the student reads why, every item 0, status 1;
    a PATH that does not exist (the autograder's own setup) stays a usage error."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "wrong").mkdir()
    (tmp_path / "wrong" / "jku_a7.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    for folder, why in (("empty", "holds no notebook"), ("wrong", "it holds jku_a7.ipynb, not radboud_a1.ipynb")):
        out = tmp_path / f"{folder}.json"
        assert main(["check", "radboud-a1", str(tmp_path / folder), "--gradescope", str(out)]) == 1
        payload = json.loads(out.read_text())
        jsonschema.validate(payload, GRADESCOPE_SCHEMA)
        assert payload["score"] == 0 and why in payload["output"] and all(why in t["output"] for t in payload["tests"])
    capsys.readouterr()
    assert main(["check", "radboud-a1", str(tmp_path / "absent"), "--gradescope", str(tmp_path / "a.json")]) == 2
    assert not (tmp_path / "a.json").exists()


def test_the_docs_state_the_quick_runs_the_modules_declare():
    """docs/checking.md's --quick sentence gives each assignment's subset and bound as its QUICK_RUN has them."""
    from backproplab.check import numpy_ann, pytorch_ann, pytorch_cnn

    text = " ".join((ROOT / "docs" / "checking.md").read_text(encoding="utf-8").split())
    ann, torch_ann, cnn = numpy_ann.QUICK_RUN, pytorch_ann.QUICK_RUN, pytorch_cnn.QUICK_RUN
    assert (ann.n_train, ann.n_test) == (torch_ann.n_train, torch_ann.n_test)
    assert (f"uses {ann.n_train:,} training images and {ann.n_test:,} test images for the two ANNs "
            f"(bound {ann.bound:.2f} / {torch_ann.bound:.2f}) and {cnn.n_train:,} and {cnn.n_test:,} for the CNN "
            f"(bound {cnn.bound:.2f})") in text


def test_one_submission_with_out_gets_a_gradebook_of_one(tmp_path, capsys):
    """--out was ignored for one submission, even when it named a file (exit 0, nothing written): a folder of
    student folders that holds one student gave no gradebook. It is written now, and checked first."""
    sub = fixture("numpy_ann", "correct") / "numpy_ann.py"
    (tmp_path / "afile").write_text("mine\n")
    assert main(["check", "purdue-numpy-ann", str(sub), "--item", "1.2", "--out", str(tmp_path / "afile")]) == 2
    assert "out must be a directory" in capsys.readouterr().err and (tmp_path / "afile").read_text() == "mine\n"
    assert main(["check", "purdue-numpy-ann", str(sub), "--item", "1.2", "--out", str(tmp_path / "one")]) == 0
    rows = (tmp_path / "one" / "gradebook.csv").read_text().splitlines()
    assert rows[0] == "student,path,1.2 (1),total,max" and len(rows) == 2 and rows[1].endswith(",1,1,1")
    assert [p.suffix for p in (tmp_path / "one" / "records").iterdir()] == [".json"]
