"""The README's commands run as written: the usage lines and the Python snippet in a fresh folder, and the
two set-up commands are exactly what CI runs (.ci/run extracts them from the README). The quick report
the usage lines write is also the first run of the determinism checks of three real lessons."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backproplab.courses.purdue import TARGETS

pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(marker: str, language: str) -> str:
    """The fenced block of ``language`` that follows ``<!-- marker -->`` in the README."""
    found = re.search(rf"<!-- {re.escape(marker)} -->\s*```{language}\n(.*?)\n```", README, flags=re.S)
    assert found, f"README.md has no ```{language} block after <!-- {marker} -->"
    return found.group(1)


def _usage_lines() -> list[str]:
    return [line.split("  #")[0].strip() for line in _block("readme:usage", "bash").splitlines() if line.strip()]


def _env() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)  # the console script lives beside this Python
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "MPLBACKEND": "Agg"}


def test_ci_runs_the_readme_setup_and_test_commands():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    setup, tests = _block("ci:setup-command", "bash"), _block("ci:test-command", "bash")
    assert "readme_block setup-command" in ci and "readme_block test-command" in ci
    for command in (setup, tests):
        assert "\n" not in command and "python3 -m venv .venv" in command and ". .venv/bin/activate" in command
    assert setup.endswith("backproplab reproduce") and tests.endswith("python -m pytest -n auto")
    assert "chromium chromium-driver" in tests


def test_ci_extracts_exactly_the_readme_blocks(tmp_path):
    """Run .ci/run's own extraction function on the README and compare with what the README shows."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    function = re.search(r"^readme_block\(\) \{.*?^\}", ci, flags=re.S | re.M).group(0)
    for name in ("setup-command", "test-command"):
        done = subprocess.run(["bash", "-c", f"{function}\nreadme_block {name}"], cwd=ROOT, capture_output=True,
                              text=True, check=True)
        assert done.stdout.strip() == _block(f"ci:{name}", "bash")


# The usage line that refreshes one lesson of the quick report: a fresh process that runs that lesson
# alone, so the report it leaves is the first determinism check (below).
REFRESH = "backproplab reproduce --quick --only xor"


@pytest.fixture(scope="module")
def usage(tmp_path_factory) -> dict:
    """Every usage line run once, in order, in one fresh folder (stopping at the first that fails):
    ``folder``, ``done`` (line, finished process), ``quick_report``, the results.json that
    ``backproplab reproduce --quick`` wrote, read before the next lines change that report, and
    ``refreshed``, the results.json after ``REFRESH`` ran one lesson again in a process of its own."""
    folder = tmp_path_factory.mktemp("readme-usage")
    done, reports = [], {}
    for line in _usage_lines():
        proc = subprocess.run(line, shell=True, cwd=folder, env=_env(), capture_output=True, text=True, timeout=900)
        done.append((line, proc))
        if proc.returncode != 0:
            break
        if line in ("backproplab reproduce --quick", REFRESH):
            reports[line] = json.loads((folder / "backproplab-report" / "results.json").read_text(encoding="utf-8"))
    return {"folder": folder, "done": done, "quick_report": reports.get("backproplab reproduce --quick"),
            "refreshed": reports.get(REFRESH)}


@pytest.mark.slow
def test_every_usage_line_runs_as_written(usage):
    for line, done in usage["done"]:
        assert done.returncode == 0, f"{line!r} exited {done.returncode}:\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, line
    assert [line for line, _ in usage["done"]] == _usage_lines()
    folder = usage["folder"]
    assert (folder / "backproplab-report" / "index.html").is_file()
    assert (folder / "my_net.yaml").read_text().strip()
    assert any((folder / "figs").iterdir())
    assert (folder / "bench.json").is_file()


def _same_entries(first: dict, again: dict, lessons: list[str]) -> None:
    """The lessons' entries in ``again`` (another process, which ran only them) are those of ``first``."""
    for lesson in lessons:
        assert again["lessons"][lesson]["status"] == "done" and again["lessons"][lesson]["claims"], lesson
        assert again["lessons"][lesson] == first["lessons"][lesson], lesson
    assert set(again["timings"]) == {"total_s", "lessons", "parts"}  # the only part allowed to differ


@pytest.mark.slow
@pytest.mark.report
def test_the_refreshed_lesson_gives_what_it_gave_in_the_quick_report(usage):
    """Issue 9, determinism: the README's refresh of xor (a fresh process that runs xor alone; xor trains
    80 small networks from random initialisations, NumPy and torch, so it catches unseeded randomness)
    gives the entry ``reproduce --quick`` (every lesson, in one process) gave it, timings aside."""
    first, again = usage["quick_report"], usage["refreshed"]
    assert first is not None and again is not None, "the README's reproduce lines did not run"
    assert REFRESH in _usage_lines()
    assert again["settings"] == {**first["settings"], "lessons": ["xor"]}
    assert again["complete"] and set(again["lessons"]) == set(first["lessons"])
    refresh = next(proc for line, proc in usage["done"] if line == REFRESH)
    ran = re.findall(r"^(\S+): \d+ of \d+ claims pass", refresh.stderr, flags=re.M)
    assert ran == ["xor"], refresh.stderr[-2000:]  # xor ran again, in this process, and no other lesson
    _same_entries(first, again, ["xor"])


# backprop: well under a second of arithmetic, run first here and second in the quick report; digits:
# sweeps whose own wall times once leaked into its params, run second here and sixth there.
OTHER_LESSONS = ["backprop", "digits"]


@pytest.mark.slow
@pytest.mark.report
def test_lessons_reproduced_apart_give_what_they_gave_in_the_quick_report(usage, tmp_path):
    """Issue 9, determinism: ``reproduce --quick --only backprop --only digits`` in a fresh process (other
    lessons before each) gives the entries the README's ``reproduce --quick`` gave, timings aside."""
    first = usage["quick_report"]
    assert first is not None, "backproplab reproduce --quick did not run"
    device = first["settings"]["device"]
    out = tmp_path / "apart"
    only = [arg for lesson in OTHER_LESSONS for arg in ("--only", lesson)]
    proc = subprocess.run([sys.executable, "-m", "backproplab", "reproduce", "--quick", *only,
                           "--device", device, "--seed", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=_env())
    assert proc.returncode in (0, 1), proc.stderr  # 1 only if a claim fails; both runs must agree
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["settings"] == {"quick": True, "seed": 0, "device": device, "lessons": OTHER_LESSONS}
    assert doc["complete"]
    _same_entries(first, doc, OTHER_LESSONS)


@pytest.mark.slow
def test_the_python_snippet_runs_as_written(tmp_path):
    code = _block("readme:python", "python")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) >= TARGETS["NumpyANN"]  # the course's target


def test_the_instructors_lines_are_those_docs_checking_runs():
    """README's "For instructors" block is docs/checking.md's, whose lines tests/check/test_instructors.py runs."""
    docs = (ROOT / "docs" / "checking.md").read_text(encoding="utf-8")
    ours = re.search(r"<!-- readme:instructors -->\s*```\n(.*?)```", README, flags=re.S).group(1)
    theirs = re.search(r"## For instructors\n.*?```\n(.*?)```", docs, flags=re.S).group(1)
    assert ours == theirs
