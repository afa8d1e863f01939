"""Every lesson's quick run: every claim it makes passes (one table for all ten lessons; each quick run
is the session's one, which the lesson's own tests read too: ``quick_runs`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from backproplab.lessons import backprop_trace, get_lesson, registry

pytestmark = pytest.mark.lessons

REAL_DATA = {"vanishing", "fashion"}  # train on Fashion-MNIST: slow, and skipped without the data
# the claims a quick run must make at least, where the count follows from what the lesson covers
MIN_CLAIMS = {
    "xor": 12,
    # the course trace, finite differences, its three asked gradients, and every other example
    "backprop": 10 + 2 * (len(backprop_trace.examples()) - 1),
    "gradient-descent": 10,
}
LESSONS = list(registry())  # tests/lessons/test_registry.py holds the list itself


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in REAL_DATA else n
                                  for n in LESSONS])
def test_every_claim_of_the_quick_run_passes(name, quick_runs, fashion_available):
    if name in REAL_DATA and not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    kwargs = {"device": "cpu"} if name in REAL_DATA else {}  # as the lesson's own tests call it
    result = quick_runs.get(get_lesson(name), quick=True, **kwargs)
    failed = [str(c) for c in result.claims if not c.passed]
    assert not failed, failed
    assert result.claims and len(result.claims) >= MIN_CLAIMS.get(name, 1)
