"""The README's commands run as written: the usage lines and the Python snippet in a fresh folder, and the
two set-up commands are exactly what CI runs (.ci/run extracts them from the README)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_every_usage_line_runs_as_written(tmp_path):
    for line in _usage_lines():
        done = subprocess.run(line, shell=True, cwd=tmp_path, env=_env(), capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, f"{line!r} exited {done.returncode}:\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, line
    assert (tmp_path / "backproplab-report" / "index.html").is_file()
    assert (tmp_path / "my_net.yaml").read_text().strip()
    assert any((tmp_path / "figs").iterdir())
    assert (tmp_path / "bench.json").is_file()


@pytest.mark.slow
def test_the_python_snippet_runs_as_written(tmp_path):
    code = _block("readme:python", "python")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) >= 0.77  # the course's target for NumpyANN


def test_the_instructors_lines_are_those_docs_checking_runs():
    """README's "For instructors" block is docs/checking.md's, whose lines tests/check/test_instructors.py runs."""
    docs = (ROOT / "docs" / "checking.md").read_text(encoding="utf-8")
    ours = re.search(r"<!-- readme:instructors -->\s*```\n(.*?)```", README, flags=re.S).group(1)
    theirs = re.search(r"## For instructors\n.*?```\n(.*?)```", docs, flags=re.S).group(1)
    assert ours == theirs
