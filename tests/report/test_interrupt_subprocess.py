"""A real SIGTERM to ``backproplab reproduce`` in a subprocess: the running lesson stops at once (it
would otherwise wait a minute), a partial report marked incomplete is written, the exit status is
130, and ``--resume`` finishes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backproplab.report import reproduce

pytestmark = pytest.mark.report

SCRIPT = """
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("report_fake_lessons", {fakes!r})
fakes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fakes)
behaviour = {{}}
if os.environ.get("FAKE_WAIT"):
    behaviour["wait_for"] = {{"beta": (os.environ["FAKE_READY"], os.environ["FAKE_GO"])}}
lessons = fakes.make_lessons(behaviour)
import backproplab.lessons
backproplab.lessons.registry = lambda: dict(lessons)
from backproplab.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _without_timings(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.pop("timings")
    return doc


def test_sigterm_then_resume(fakes, tmp_path):
    script = tmp_path / "run_fakes.py"
    script.write_text(SCRIPT.format(fakes=str(Path(__file__).with_name("fake_lessons.py"))))
    out = tmp_path / "report"
    ready, go = tmp_path / "ready", tmp_path / "go"
    env = {**os.environ, "MPLBACKEND": "Agg", "FAKE_WAIT": "1", "FAKE_READY": str(ready), "FAKE_GO": str(go)}
    args = [sys.executable, str(script), "reproduce", "--out", str(out), "--device", "cpu", "--seed", "2"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the fake lesson never started"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)  # beta waits for "go" (60 s): it must stop now, gamma must not start
        stdout, stderr = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not go.exists()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "SIGTERM received: stopping the current lesson now" in stderr
    assert "INCOMPLETE (SIGTERM): 1 of 3 lessons done" in stdout
    assert f"continue with: backproplab reproduce --resume --out {out} --seed 2 --device cpu" in stdout
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] is False
    assert {k: e["status"] for k, e in doc["lessons"].items()} == {"alpha": "done", "beta": "pending",
                                                                   "gamma": "pending"}
    assert "INCOMPLETE" in (out / "index.html").read_text()
    assert not list(out.rglob("*.part")) and not (out / ".backproplab-staging").exists()

    env.pop("FAKE_WAIT")
    resumed = subprocess.run(args + ["--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 1, resumed.stderr  # complete now; beta's claim fails by design
    assert "resuming: 1 of 3 lessons already done" in resumed.stderr

    reproduce(out=tmp_path / "whole", seed=2, device="cpu", lessons=fakes.make_lessons(), progress=False)
    assert _without_timings(out / "results.json") == _without_timings(tmp_path / "whole" / "results.json")


SLOW_FIGURE = """
import sys, time, types
from pathlib import Path
import backproplab.lessons
from backproplab.lessons.result import Claim, LessonResult

class SlowFigure:  # a figure whose saving takes a minute, like a huge plot on a slow disk
    def savefig(self, handle, **kwargs):
        handle.write(b"\\x89PNG partial")
        handle.flush()
        Path(sys.argv[1]).write_text("saving")
        time.sleep(60)

def run(quick=False, seed=0, out=None):
    return LessonResult("slow", "Slow", claims=[Claim.holds("runs", True)], figures={"slow": SlowFigure()})

lesson = types.ModuleType("slow")
lesson.NAME, lesson.TITLE, lesson.ORDER, lesson.run = "slow", "A slow figure", 0, run
backproplab.lessons.registry = lambda: {"slow": lesson}
from backproplab.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_sigterm_while_a_lesson_saves_a_figure_leaves_no_part_file(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(SLOW_FIGURE)
    ready, out = tmp_path / "saving", tmp_path / "figs"
    proc = subprocess.Popen([sys.executable, str(script), str(ready), "slow", "--out", str(out)],
                            env={**os.environ, "MPLBACKEND": "Agg"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the figure was never saved"
            time.sleep(0.02)
        assert [p.name for p in out.iterdir()][0].endswith(".part")  # the half-written temporary is there
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "backproplab: interrupted" and "Traceback" not in stderr
    assert list(out.iterdir()) == []  # neither slow.png nor its .part
