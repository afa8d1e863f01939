"""Every lesson's quick run: every claim it makes passes (one table for all ten lessons; each quick run
is the session's one, which the lesson's own tests read too: ``quick_runs`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from backproplab.lessons import get_lesson, registry

pytestmark = pytest.mark.lessons

REAL_DATA = {"vanishing", "fashion"}  # train on Fashion-MNIST: slow, and skipped without the data
# no pinned claim counts: what each lesson must claim is its own tests' business (e.g. every bundled
# example's trace in tests/lessons/test_backprop_trace.py)
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
    assert result.claims
