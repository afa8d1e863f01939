"""The "For instructors" commands of docs/checking.md, each run as written: hand out (--init), the
reference solution (--init --solution) of all five assignments graded with full marks, a folder
of submissions graded into a gradebook, one submission into Gradescope's results.json."""

from __future__ import annotations

import csv
import json
import shutil

import jsonschema
import pytest

from backproplab.check.templates.purdue import SOLUTIONS
from backproplab.cli import main
from backproplab.courses.purdue import POINTS

from .test_outputs import GRADESCOPE_SCHEMA

pytestmark = pytest.mark.usefixtures("needs_fashion")

ALL = ["purdue-numpy-ann", "purdue-pytorch-ann", "purdue-pytorch-cnn", "jku-a7", "radboud-a1"]
POINTS_1 = sum(v for k, v in POINTS.items() if k.startswith("1."))  # purdue-numpy-ann's items


def test_init_writes_the_handouts(tmp_path, capsys):
    for name in ALL:
        assert main(["check", "--init", name, str(tmp_path / "handout")]) == 0
    names = sorted(p.name for p in (tmp_path / "handout").iterdir())
    assert names == ["jku_a7.ipynb", "numpy_ann.py", "pytorch_ann.py", "pytorch_cnn.py", "radboud_a1.ipynb"]
    assert "raise NotImplementedError()" in (tmp_path / "handout" / "numpy_ann.py").read_text()
    assert main(["check", "--init", "purdue", str(tmp_path / "purdue")]) == 0
    assert sorted(p.name for p in (tmp_path / "purdue").iterdir()) == names[1:4]
    assert main(["check", "--init", "nonsense", str(tmp_path / "x")]) == 2
    before = (tmp_path / "handout" / "jku_a7.ipynb").read_text()
    assert main(["check", "--init", "jku-a7", str(tmp_path / "handout"), "--solution"]) == 2  # never overwrites
    assert "does not overwrite" in capsys.readouterr().err
    assert (tmp_path / "handout" / "jku_a7.ipynb").read_text() == before
    assert main(["check", "--init", "jku-a7"]) == 2  # no DIR
    assert main(["check", "jku-a7", str(tmp_path / "handout"), "--solution"]) == 2  # --solution without --init


def test_a_path_after_an_option_is_a_path_too(tmp_path, capsys):
    """`check purdue-numpy-ann --item 1.2 alice/` worked but `check purdue-numpy-ann alice/ --item 1.2 bob/`
    and `check purdue-numpy-ann --quick alice/` after the assignment said "unrecognized arguments: alice/"
    (argparse hands out the positionals in one go): a plain word after an option is one more PATH."""
    for who in ("alice", "bob"):
        assert main(["check", "--init", "purdue-numpy-ann", str(tmp_path / who), "--solution"]) == 0
    capsys.readouterr()
    assert main(["check", "purdue-numpy-ann", "--item", "1.2", str(tmp_path / "alice")]) == 0
    assert "1 / 1" in capsys.readouterr().out
    out = tmp_path / "results"
    assert main(["check", "purdue-numpy-ann", str(tmp_path / "alice"), "--item", "1.2", str(tmp_path / "bob"),
                 "--out", str(out)]) == 0
    with open(out / "gradebook.csv", newline="") as f:
        assert sorted(row["student"] for row in csv.DictReader(f)) == ["alice", "bob"]
    with pytest.raises(SystemExit) as info:  # an unknown option is still refused, named
        main(["check", "purdue-numpy-ann", str(tmp_path / "alice"), "--item", "1.2", "--bogus"])
    assert info.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err


@pytest.mark.slow
def test_every_solution_gets_full_marks(tmp_path, capsys):
    for name in ALL:
        assert main(["check", "--init", name, str(tmp_path / "solution"), "--solution"]) == 0
    # pytorch_ann.py and pytorch_cnn.py are graded with full marks by tests/check/test_pytorch.py, which
    # grades the package's reference files: --solution must hand out exactly those, then the rest is
    # graded here (training the two PyTorch solutions a second time cost about 25 s)
    for kind in ("pytorch_ann", "pytorch_cnn"):
        assert (tmp_path / "solution" / f"{kind}.py").read_bytes() == (SOLUTIONS / f"{kind}.py").read_bytes()
    assert main(["check", "purdue-numpy-ann", str(tmp_path / "solution"), "--quick"]) == 0
    assert f"{POINTS_1} / {POINTS_1}" in capsys.readouterr().out
    for name in ("jku-a7", "radboud-a1"):
        assert main(["check", name, str(tmp_path / "solution")]) == 0


@pytest.mark.slow
def test_purdue_starters_score_zero_not_implemented(tmp_path):
    from backproplab.check import check

    main(["check", "--init", "purdue", str(tmp_path)])
    result = check("purdue", tmp_path, quick=True)
    assert result.score == 0 and result.max_score == 42
    assert all("not implemented" in it.error for it in result.items)


def test_grade_a_folder_and_upload_to_gradescope(tmp_path, capsys):
    main(["check", "--init", "radboud-a1", str(tmp_path / "start")])
    main(["check", "--init", "radboud-a1", str(tmp_path / "sol"), "--solution"])
    subs = tmp_path / "submissions"
    for student, src, name in (("alice", "sol", "Assignment 1 – Alice.ipynb"), ("bob", "start", "radboud_a1.ipynb")):
        (subs / student).mkdir(parents=True)  # a notebook of any name: the one in the student's folder
        shutil.copy(tmp_path / src / "radboud_a1.ipynb", subs / student / name)
    assert main(["check", "radboud-a1", str(subs), "--out", str(tmp_path / "results")]) == 1
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "results" / "gradebook.csv").open())}
    assert (rows["alice"]["total"], rows["bob"]["total"]) == ("30", "0")
    assert (tmp_path / "results" / "records" / "bob.json").exists()
    out = tmp_path / "results.json"
    assert main(["check", "radboud-a1", str(subs / "alice"), "--gradescope", str(out)]) == 0
    payload = json.loads(out.read_text())
    jsonschema.validate(payload, GRADESCOPE_SCHEMA)
    assert payload["score"] == payload["max_score"] == 30
    for test in payload["tests"]:  # the written items: hidden tests of 0 points, their references for the marker
        assert ("marked by hand" in test["name"]) == (test["visibility"] == "hidden"), test["name"]
        assert test["visibility"] == "hidden" or "Reference:" not in test["output"]
    assert "marked by hand" not in payload["output"]


def test_a_machine_without_the_kernels_limits_is_named_once(tmp_path, capsys, monkeypatch):
    """Without Landlock (an old kernel, a container that refuses its system calls) the graded code is held
    by the audit hook alone: the instructor is told, on stderr, once per run."""
    from backproplab.check.child import landlock

    assert main(["check", "--init", "purdue-numpy-ann", str(tmp_path / "alice"), "--solution"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(landlock, "abi_version", lambda libc=None: 0)
    assert main(["check", "purdue-numpy-ann", str(tmp_path / "alice"), "--item", "1.2"]) == 0
    err = capsys.readouterr().err
    assert err.count("note: this machine lacks Landlock (Linux 5.13+)") == 1 and "container" in err


def test_the_runs_fork_servers_start_before_the_assignments_are_imported(tmp_path, monkeypatch):
    """`check` starts the fork servers of the assignment's probes (each imports torch) in the background
    first, so that they start while this process imports the assignments; nothing starts for a run that
    ends in a usage error."""
    import argparse
    import threading

    from backproplab.check import cli as check_cli
    from backproplab.check.probes import PROBES

    started = []
    monkeypatch.setattr(check_cli, "fork_server", lambda probes, timeout: started.append(probes))

    def start(assignment, paths):
        started.clear()
        before = set(threading.enumerate())
        check_cli._start_fork_servers(argparse.Namespace(assignment=assignment, paths=paths))
        for thread in set(threading.enumerate()) - before:
            thread.join(10)
        return sorted(p.name for p in started)

    assert start("purdue", [str(tmp_path)]) == ["numpy_probes.py", "torch_probes.py"]
    assert start("radboud-a1", [str(tmp_path)]) == [PROBES["radboud-a1"].name]
    assert start("nonsense", [str(tmp_path)]) == []
    assert start("jku-a7", [str(tmp_path / "missing")]) == []
    assert start("jku-a7", []) == []
