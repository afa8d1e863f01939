"""``backproplab reproduce --quick --only <fast lesson>`` run twice in fresh processes gives a
results.json that is identical byte for byte up to its ``"timings"`` key (issue 9, determinism)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.report

FAST_LESSON = "backprop"  # well under a second of work


def test_reproduce_twice_gives_identical_results(tmp_path):
    import backproplab.lessons

    if FAST_LESSON not in backproplab.lessons.registry():
        pytest.skip(f"the {FAST_LESSON!r} lesson is not registered")
    texts = []
    for run in ("first", "second"):
        out = tmp_path / run
        proc = subprocess.run([sys.executable, "-m", "backproplab", "reproduce", "--quick", "--only", FAST_LESSON,
                               "--device", "cpu", "--seed", "5", "--out", str(out)],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "MPLBACKEND": "Agg"})
        assert proc.returncode in (0, 1), proc.stderr  # 1 only if a claim fails; both runs must agree
        texts.append((out / "results.json").read_text(encoding="utf-8"))
    first, second = (text.split('\n  "timings"')[0] for text in texts)
    assert first == second
    doc = json.loads(texts[0])
    assert doc["settings"] == {"quick": True, "seed": 5, "device": "cpu", "lessons": [FAST_LESSON]}
    assert doc["complete"] and doc["lessons"][FAST_LESSON]["status"] == "done"
    assert doc["lessons"][FAST_LESSON]["claims"]
