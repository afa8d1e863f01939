"""Issue 13 (2, 4, 5, 8, 9): the report never reads or writes a file outside ``--out``, never deletes
what it did not write, leaves the earlier report intact when a run fails (a full disk), adds to an
earlier report with ``--only``, and the CLI turns every error at its door into one line."""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import importlib
import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

import backproplab.files
import backproplab.lessons
from backproplab.cli import main
from backproplab.errors import InputError
from backproplab.report import RESULTS_SCHEMA, reproduce
from backproplab.report.outdir import MARKER, STAGING

pytestmark = pytest.mark.report
reproduce_module = importlib.import_module("backproplab.report.reproduce")  # the package's name is the function
lesson_result_module = importlib.import_module("backproplab.lessons.result")  # writes the figures

SECRET = b"\x89PNG\r\n\x1a\n" + b"TOP-SECRET-" * 40


def run(lessons, out, **kw):
    kw.setdefault("device", "cpu")
    kw.setdefault("progress", False)
    return reproduce(out=out, lessons=lessons, **kw)


def tree(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Every entry under ``root`` (but ``skip``): file -> sha256, link -> its target, folder -> "dir"."""
    found = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def secret_leaked(out: Path) -> bool:
    html = (out / "index.html").read_text(encoding="utf-8") if (out / "index.html").exists() else ""
    encoded = base64.b64encode(SECRET).decode()
    return encoded[12:60] in html or any(SECRET in p.read_bytes() for p in out.rglob("*.png") if p.is_file())


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """``world/secret.png`` (what an attacker wants inlined) and ``world/sub/report`` (the --out)."""
    (tmp_path / "world" / "sub").mkdir(parents=True)
    (tmp_path / "world" / "secret.png").write_bytes(SECRET)
    return tmp_path / "world"


def interrupted_report(fakes, behaviour, out: Path) -> None:
    behaviour["raise"] = {"beta": KeyboardInterrupt()}
    run(fakes.make_lessons(behaviour), out, seed=1)
    behaviour.pop("raise", None)


# ------------------------------------------------------------------------------------------
# 13.2: --resume reads back only figures it wrote


@pytest.mark.parametrize("bad", ["{secret}", "../../secret.png", "figures/alpha/../../../secret.png",
                                 "figures/../../secret.png", "figures/alpha/secret"])
def test_resume_refuses_figure_paths_it_did_not_make(fakes, behaviour, world, bad):
    out = world / "sub" / "report"
    interrupted_report(fakes, behaviour, out)
    doc = json.loads((out / "results.json").read_text())
    doc["lessons"]["alpha"]["figures"]["weights"] = bad.format(secret=world / "secret.png")
    (out / "results.json").write_text(json.dumps(doc))
    before, report_before = tree(world, skip=out), tree(out)
    with pytest.raises(InputError, match=r"resume: cannot continue the earlier report: .*results\.json.*does not match"):
        run(fakes.make_lessons(behaviour), out, seed=1, resume=True)
    assert tree(world, skip=out) == before and tree(out) == report_before
    assert not secret_leaked(out)


@pytest.mark.parametrize("link", ["file", "folder", "figures"])
def test_resume_never_follows_a_symlink_out_of_the_report(fakes, behaviour, world, link):
    out = world / "sub" / "report"
    interrupted_report(fakes, behaviour, out)
    if link == "file":  # figures/alpha/weights.png -> ../../../../secret.png
        (out / "figures" / "alpha" / "weights.png").unlink()
        (out / "figures" / "alpha" / "weights.png").symlink_to(world / "secret.png")
    else:
        decoy = world / "decoy" / "alpha"
        decoy.mkdir(parents=True)
        for name in ("weights.png", "loss-curve.png"):
            (decoy / name).write_bytes(SECRET)
        victim = out / "figures" / "alpha" if link == "folder" else out / "figures"
        shutil.rmtree(victim)
        victim.symlink_to(decoy if link == "folder" else decoy.parent)
    before = tree(world, skip=out)
    behaviour["calls"].clear()
    if link == "file":  # a link to a file is not ours: alpha runs again, its link is replaced, not followed
        run(fakes.make_lessons(behaviour), out, seed=1, resume=True)
        assert behaviour["calls"] == ["alpha", "beta", "gamma"]
        assert not (out / "figures" / "alpha" / "weights.png").is_symlink()
    else:  # a linked folder is foreign: refused before any lesson runs, even with --force
        with pytest.raises(InputError, match=r"figures/(alpha/)?"):
            run(fakes.make_lessons(behaviour), out, seed=1, resume=True, force=True)
        assert behaviour["calls"] == []
    assert tree(world, skip=out) == before
    assert not secret_leaked(out)


def test_the_html_renderer_reads_only_our_figures(fake_lessons, world):
    from backproplab.report import render_html

    out = world / "sub" / "report"
    doc = run(fake_lessons, out, only=["alpha"]).results
    for bad in (str(world / "secret.png"), "../../secret.png", "figures/alpha/../../../secret.png"):
        doc["lessons"]["alpha"]["figures"]["weights"] = bad
        html = render_html(doc, out)
        assert "is missing" in html and base64.b64encode(SECRET).decode()[12:60] not in html


# ------------------------------------------------------------------------------------------
# 13.4: nothing we did not write is deleted; --only adds to an earlier report


def test_foreign_files_inside_figures_are_refused_then_kept(fake_lessons, tmp_path):
    out = tmp_path / "r"
    run(fake_lessons, out)
    notes = out / "figures" / "alpha" / "my-notes.txt"
    notes.write_text("notes on alpha")
    (out / "figures" / "extra").mkdir()
    with pytest.raises(InputError, match=r"earlier report plus other files .*figures/alpha/my-notes\.txt.*--force"):
        run(fake_lessons, out)
    assert notes.read_text() == "notes on alpha"
    run(fake_lessons, out, force=True, seed=3)
    assert notes.read_text() == "notes on alpha" and (out / "figures" / "extra").is_dir()
    manifest = json.loads((out / MARKER).read_text())["files"]
    assert "figures/alpha/my-notes.txt" not in manifest and "figures/alpha/weights.png" in manifest


def test_a_foreign_file_where_the_report_writes_is_refused_even_with_force(fake_lessons, behaviour, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "index.html").write_text("<p>my home page</p>")
    with pytest.raises(InputError, match=r"holds index\.html, which the report would replace"):
        run(fake_lessons, out, force=True)
    assert behaviour["calls"] == [] and (out / "index.html").read_text() == "<p>my home page</p>"


def test_a_full_run_removes_only_its_own_stale_files(fakes, behaviour, tmp_path):
    out = tmp_path / "r"
    run(fakes.make_lessons(), out)
    behaviour["raise"] = {"alpha": RuntimeError("broken now")}
    (out / "figures" / "alpha" / "keep.me").write_text("mine")
    run(fakes.make_lessons(behaviour), out, force=True)
    assert sorted(p.name for p in (out / "figures" / "alpha").iterdir()) == ["keep.me"]
    run(fakes.make_lessons(behaviour), out, force=True)  # and again: keep.me stays foreign, never ours
    assert (out / "figures" / "alpha" / "keep.me").read_text() == "mine"


def test_only_into_an_earlier_report_adds_and_says_which_run_made_what(fake_lessons, tmp_path):
    out = tmp_path / "r"
    full = run(fake_lessons, out).results
    figures_before = tree(out / "figures")
    merged = run(fake_lessons, out, only=["alpha"], quick=True, seed=4).results
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(merged)
    assert list(merged["lessons"]) == ["alpha", "beta", "gamma"]
    assert merged["lessons"]["beta"] == full["lessons"]["beta"] and merged["lessons"]["gamma"] == full["lessons"]["gamma"]
    assert merged["lessons"]["alpha"]["params"] == {"seed": 4, "quick": True, "steps": 20}
    assert merged["runs"] == [{"quick": True, "seed": 4, "device": "cpu", "lessons": ["alpha"]},
                              {"quick": False, "seed": 0, "device": "cpu", "lessons": ["beta", "gamma"]}]
    assert merged["timings"]["lessons"]["beta"] == full["timings"]["lessons"]["beta"]
    after = tree(out / "figures")
    assert {k: v for k, v in after.items() if not k.startswith("alpha")} == \
        {k: v for k, v in figures_before.items() if not k.startswith("alpha")}
    line = ("lessons from several runs: alpha from this quick run (seed 4, device cpu); "
            "beta, gamma from an earlier full run (seed 0, device cpu)")
    assert line in (out / "summary.md").read_text()
    assert line in (out / "index.html").read_text()
    assert "full run, seed 0" not in (out / "summary.md").read_text().splitlines()[2][:20]


def test_only_keeps_a_lesson_whose_figure_was_removed_and_its_other_figures(fake_lessons, tmp_path, capsys):
    """One figure of a lesson --only did not run removed by hand: the lesson was dropped from the report and
    its other figures deleted, without a word. It is kept now, without that figure, and the run says so."""
    out = tmp_path / "r"
    full = run(fake_lessons, out).results
    (out / "figures" / "beta" / "weights.png").unlink()
    kept = (out / "figures" / "beta" / "loss-curve.png").read_bytes()
    capsys.readouterr()
    merged = run(fake_lessons, out, only=["alpha"], progress=True).results
    assert list(merged["lessons"]) == ["alpha", "beta", "gamma"]
    assert merged["lessons"]["beta"]["figures"] == {"loss curve": "figures/beta/loss-curve.png"}
    assert merged["lessons"]["beta"]["claims"] == full["lessons"]["beta"]["claims"]
    assert (out / "figures" / "beta" / "loss-curve.png").read_bytes() == kept
    assert "beta: kept from the earlier report without its figure(s) weights" in capsys.readouterr().err


def test_only_into_an_unreadable_earlier_report_is_refused(fake_lessons, behaviour, tmp_path):
    out = tmp_path / "r"
    run(fake_lessons, out)
    doc = json.loads((out / "results.json").read_text())
    doc["settings"] = "full"
    (out / "results.json").write_text(json.dumps(doc))
    behaviour["calls"].clear()
    with pytest.raises(InputError, match=r"only: cannot continue the earlier report: .*\['settings'\]: expected object"):
        run(fake_lessons, out, only=["alpha"])
    assert behaviour["calls"] == []


@pytest.mark.parametrize("edit, words", [
    # an error status with no error: the HTML page read error["type"] of None, a traceback after the lessons
    (lambda doc: doc["lessons"]["alpha"].update(status="error"), r"status 'error' with error None"),
    # NaN, which json.dump writes and json.loads reads: the write-back failed after the lessons had run
    (lambda doc: doc["lessons"]["alpha"]["claims"][0].update(value=float("nan")), r"NaN is not a JSON number"),
], ids=["error-status-without-error", "nan"])
def test_an_earlier_report_that_cannot_be_written_back_is_refused_before_any_lesson(fake_lessons, behaviour,
                                                                                   tmp_path, edit, words):
    out = tmp_path / "r"
    run(fake_lessons, out)
    doc = json.loads((out / "results.json").read_text())
    edit(doc)
    (out / "results.json").write_text(json.dumps(doc))
    behaviour["calls"].clear()
    with pytest.raises(InputError, match=rf"only: cannot continue the earlier report: .*{words}"):
        run(fake_lessons, out, only=["beta"])
    assert behaviour["calls"] == []


def test_a_huge_results_json_is_refused_by_its_size_without_reading_it(fake_lessons, behaviour, tmp_path,
                                                                        monkeypatch):
    """A 3 GB (sparse) results.json was read whole: under `ulimit -v 2000000` the run ended with
    'out of memory (MemoryError); expected smaller inputs or --quick', naming neither file nor option."""
    out = tmp_path / "r"
    run(fake_lessons, out)
    os.truncate(out / "results.json", 3 * 2**30)
    read_text = Path.read_text

    def small_only(path, *args, **kwargs):
        assert path.stat().st_size < 2**26, f"{path} was read whole"
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", small_only)
    behaviour["calls"].clear()
    with pytest.raises(InputError, match=r"resume: cannot continue the earlier report: cannot read .*results.json"
                                         r".* it is 3221225472 bytes, more than the 67108864"):
        run(fake_lessons, out, resume=True)
    assert behaviour["calls"] == [] and (out / "results.json").stat().st_size == 3 * 2**30


def test_a_huge_figure_of_an_earlier_report_is_never_read_back(fake_lessons, tmp_path, monkeypatch):
    """A 3 GB (sparse) figure in the earlier report was read whole and inlined into index.html by
    'reproduce --only another': MemoryError under a 3 GB limit, after every lesson had run."""
    out = tmp_path / "r"
    run(fake_lessons, out)
    beta = sorted((out / "figures" / "beta").glob("*.png"))[0]
    os.truncate(beta, 3 * 2**30)
    read_bytes = Path.read_bytes

    def small_only(path):
        assert path.stat().st_size < 2**26, f"{path} was read whole"
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", small_only)
    merged = run(fake_lessons, out, only=["alpha"]).results
    # beta is kept without its huge figure, which is not a safe one of ours (and is left on disk as it is)
    assert merged["lessons"]["beta"]["figures"] == {"weights": "figures/beta/weights.png"} and "gamma" in merged["lessons"]
    assert beta.stat().st_size == 3 * 2**30, "kept: not ours as it is now"
    assert (out / "index.html").stat().st_size < 2**24


def test_a_huge_marker_is_not_read_and_the_report_is_still_recognised(fake_lessons, tmp_path):
    out = tmp_path / "r"
    run(fake_lessons, out)
    os.truncate(out / MARKER, 3 * 2**30)
    run(fake_lessons, out, only=["alpha"])  # ours are known from results.json, as for a pre-manifest report
    assert (out / MARKER).stat().st_size < 10_000 and json.loads((out / MARKER).read_text())["files"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_earlier_report_is_refused_and_left_whole(fake_lessons, tmp_path):
    out = tmp_path / "r"
    run(fake_lessons, out)
    before = tree(out)
    for path in [out, *[p for p in out.rglob("*") if p.is_dir()]]:
        path.chmod(0o555)
    try:
        with pytest.raises(InputError, match="not writable"):
            run(fake_lessons, out)
        assert tree(out) == before
    finally:
        for path in [out, *[p for p in out.rglob("*") if p.is_dir()]]:
            path.chmod(0o755)


def test_a_failure_before_the_swap_leaves_the_earlier_report(fake_lessons, tmp_path, monkeypatch):
    out = tmp_path / "r"
    run(fake_lessons, out)
    before = tree(out)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(out / STAGING))

    monkeypatch.setattr(reproduce_module.Stage, "commit", refuse)
    with pytest.raises(PermissionError):
        run(fake_lessons, out, seed=9)
    assert tree(out) == before


# ------------------------------------------------------------------------------------------
# 13.5: a full disk stops the run with one line and leaves the earlier report whole


@pytest.fixture
def cli_lessons(monkeypatch, fake_lessons):
    monkeypatch.setattr(backproplab.lessons, "registry", lambda: dict(fake_lessons))
    return fake_lessons


@pytest.mark.parametrize("fail_at", [1, 2, 4, 7, 9, 11])  # figures of alpha, beta; index.html; results.json; marker
def test_disk_full_midway_keeps_the_earlier_report(cli_lessons, tmp_path, monkeypatch, capsys, fail_at):
    out = tmp_path / "r"
    assert main(["reproduce", "--out", str(out), "--device", "cpu", "--seed", "0"]) == 1
    before = tree(out)
    real = backproplab.files.atomic_open
    calls: list[Path] = []

    @contextlib.contextmanager
    def full_disk(path, mode="wb"):
        calls.append(Path(path))
        with real(path, mode) as handle:
            if len(calls) == fail_at:
                handle.write(b"half" if "b" in mode else "half")
                raise OSError(errno.ENOSPC, "No space left on device")  # as write() raises it: no file name
            yield handle

    monkeypatch.setattr(backproplab.files, "atomic_open", full_disk)
    monkeypatch.setattr(lesson_result_module, "atomic_open", full_disk)
    capsys.readouterr()
    assert main(["reproduce", "--out", str(out), "--device", "cpu", "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert len(calls) == fail_at
    assert "Traceback" not in err, err
    last = err.splitlines()[-1]  # above it: the progress lines of the lessons that ran
    assert last.startswith("backproplab: error: ") and err.count("error:") == 1, err
    assert f"{calls[-1]}: no space left on device" in last
    assert tree(out) == before  # byte for byte, and no staging folder or .part file left
    doc = json.loads((out / "results.json").read_text())
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(doc)
    assert doc["settings"]["seed"] == 0 and doc["complete"]


# ------------------------------------------------------------------------------------------
# 13.8: every error at the CLI's door is one line


@pytest.mark.parametrize(("exc", "words"), [
    (OSError(errno.ENOSPC, "No space left on device", "/data/out/x.png"), "/data/out/x.png: no space left"),
    (OSError(errno.EIO, "Input/output error", "/data/f"), "/data/f: Input/output error"),
    (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
    (OverflowError("int too large to convert to float"), "too large"),
    (MemoryError(), "out of memory"),
])
def test_cli_errors_at_the_door_are_one_line(monkeypatch, fakes, behaviour, capsys, exc, words):
    behaviour["raise"] = {"alpha": exc}
    lessons = fakes.make_lessons(behaviour)
    monkeypatch.setattr(backproplab.lessons, "registry", lambda: dict(lessons))
    assert main(["alpha"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("backproplab: error: ")
    assert words in err


def test_a_stopped_run_keeps_the_earlier_results_of_the_lessons_it_did_not_reach(fakes, behaviour, tmp_path, capsys):
    out = tmp_path / "r"
    earlier = run(fakes.make_lessons(), out, seed=0).results
    earlier_figures = tree(out / "figures")
    behaviour["raise"] = {"beta": KeyboardInterrupt()}
    outcome = run(fakes.make_lessons(behaviour), out, seed=1, progress=True)
    printed = capsys.readouterr().out
    assert outcome.interrupted and "INCOMPLETE (KeyboardInterrupt): 1 of 3 lessons done" in printed
    assert "not reached, so the report keeps their earlier results: beta, gamma" in printed
    doc = json.loads((out / "results.json").read_text())
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(doc)
    assert doc["lessons"]["alpha"]["params"]["seed"] == 1
    assert doc["lessons"]["beta"] == earlier["lessons"]["beta"] and doc["lessons"]["gamma"] == earlier["lessons"]["gamma"]
    assert doc["runs"] == [{"quick": False, "seed": 1, "device": "cpu", "lessons": ["alpha"]},
                           {"quick": False, "seed": 0, "device": "cpu", "lessons": ["beta", "gamma"]}]
    assert {k: v for k, v in tree(out / "figures").items() if not k.startswith("alpha")} == \
        {k: v for k, v in earlier_figures.items() if not k.startswith("alpha")}
    behaviour["calls"].clear()
    run(fakes.make_lessons(behaviour), out, seed=1, resume=True)  # seed 0's results are not reused for seed 1
    assert behaviour["calls"] == ["beta", "gamma"]
    run(fakes.make_lessons(), tmp_path / "whole", seed=1)
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    resumed = json.loads((out / "results.json").read_text())
    assert {k: v for k, v in resumed.items() if k != "timings"} == {k: v for k, v in whole.items() if k != "timings"}


def test_only_into_a_stopped_report_says_it_is_incomplete_and_how_to_finish_it(fakes, behaviour, tmp_path, capsys):
    """A run stopped at beta leaves beta and gamma pending; '--only alpha' into that report printed "N of N
    claims pass" (exit 1 all the same) and a hint, '--resume ... --only alpha', that could never finish it."""
    out = tmp_path / "r"
    behaviour["raise"] = {"beta": KeyboardInterrupt()}
    run(fakes.make_lessons(behaviour), out)
    behaviour["raise"] = {}
    capsys.readouterr()
    outcome = run(fakes.make_lessons(behaviour), out, only=["alpha"], progress=True)
    printed = capsys.readouterr().out
    assert not outcome.complete and "INCOMPLETE (interrupted): 1 of 3 lessons done" in printed
    hint = "backproplab reproduce --resume --out " + str(out) + " --seed 0 --device cpu"
    assert f"continue with: {hint}\n" in printed and hint + "`" in (out / "summary.md").read_text()
    behaviour["calls"].clear()
    assert run(fakes.make_lessons(behaviour), out, resume=True).complete  # what the hint runs
    assert behaviour["calls"] == ["beta", "gamma"]


def test_the_hint_that_finishes_a_stopped_subset_runs_only_its_lessons(fakes, behaviour, tmp_path, capsys):
    """A stopped '--only alpha --only beta', then '--only beta' into it: the hint was '--resume' with no
    --only, which ran gamma too, a lesson the report never held."""
    out = tmp_path / "r"
    behaviour["raise"] = {"alpha": KeyboardInterrupt()}
    run(fakes.make_lessons(behaviour), out, only=["alpha", "beta"])
    behaviour["raise"] = {}
    capsys.readouterr()
    outcome = run(fakes.make_lessons(behaviour), out, only=["beta"], progress=True)
    assert not outcome.complete
    hint = f"backproplab reproduce --resume --out {out} --seed 0 --device cpu --only alpha --only beta"
    assert f"continue with: {hint}\n" in capsys.readouterr().out
    assert hint + "`" in (out / "summary.md").read_text()
    behaviour["calls"].clear()
    finished = run(fakes.make_lessons(behaviour), out, resume=True, only=["alpha", "beta"])  # what the hint runs
    assert finished.complete and behaviour["calls"] == ["alpha"]
    assert list(finished.results["lessons"]) == ["alpha", "beta"]


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_writes(fake_lessons, behaviour, tmp_path):
    import fcntl

    out = tmp_path / "r"
    run(fake_lessons, out)
    before = tree(out)
    stage = out / STAGING
    stage.mkdir()
    (stage / ".made-by-backproplab").write_text("busy")
    with open(stage / ".made-by-backproplab") as held:  # what a running reproduce holds
        fcntl.flock(held, fcntl.LOCK_EX)
        behaviour["calls"].clear()
        with pytest.raises(InputError, match="another backproplab reproduce is writing a report into"):
            run(fake_lessons, out)
        assert behaviour["calls"] == [] and stage.is_dir()
    run(fake_lessons, out)  # once the first is gone (killed), its leftovers are cleared
    assert not stage.exists() and set(tree(out)) == set(before)
