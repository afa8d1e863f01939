"""``backproplab reproduce --quick --only <fast lesson>`` run twice in fresh processes (two lessons) gives a
results.json that is identical byte for byte up to its ``"timings"`` key (issue 9, determinism)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.report, pytest.mark.slow]  # six reproduce processes

# backprop: well under a second of arithmetic; xor: trains 80 small networks from random
# initialisations (NumPy and torch), so it catches unseeded randomness; digits: sweeps whose own
# wall times once leaked into its params.
FAST_LESSONS = ["backprop", "xor", "digits"]


@pytest.mark.parametrize("lesson", FAST_LESSONS)
def test_reproduce_twice_gives_identical_results(tmp_path, lesson):
    texts = []
    for run in ("first", "second"):
        out = tmp_path / run
        proc = subprocess.run([sys.executable, "-m", "backproplab", "reproduce", "--quick", "--only", lesson,
                               "--device", "cpu", "--seed", "5", "--out", str(out)],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "MPLBACKEND": "Agg"})
        assert proc.returncode in (0, 1), proc.stderr  # 1 only if a claim fails; both runs must agree
        texts.append((out / "results.json").read_text(encoding="utf-8"))
    first, second = (text.split('\n  "timings"')[0] for text in texts)
    assert first == second
    doc = json.loads(texts[0])
    assert doc["settings"] == {"quick": True, "seed": 5, "device": "cpu", "lessons": [lesson]}
    assert doc["complete"] and doc["lessons"][lesson]["status"] == "done"
    assert doc["lessons"][lesson]["claims"]
