"""Fixtures for the report tests: fake lessons (loaded by path) and a quick ``reproduce`` caller."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FAKES_PATH = Path(__file__).with_name("fake_lessons.py")


def load_fakes():
    spec = importlib.util.spec_from_file_location("report_fake_lessons", FAKES_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fakes():
    """The fake_lessons module."""
    return load_fakes()


@pytest.fixture
def behaviour() -> dict:
    """Shared knobs for the fake lessons; ``behaviour["calls"]`` records the lessons run."""
    return {"calls": []}


@pytest.fixture
def fake_lessons(fakes, behaviour):
    return fakes.make_lessons(behaviour)

