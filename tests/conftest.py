"""Shared test set-up: a headless Matplotlib, and a skip for tests that need the real data."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def fashion_available() -> bool:
    """True when Fashion-MNIST can be loaded without a download."""
    try:
        from backproplab.data import load_fashion_mnist

        load_fashion_mnist("test", download=False)
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return False
    return True


@pytest.fixture
def needs_fashion(fashion_available: bool) -> None:
    """Skip the test when Fashion-MNIST is not on this machine (CI installs it)."""
    if not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
