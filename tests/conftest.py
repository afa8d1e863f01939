"""Shared test set-up: a headless Matplotlib, a skip for tests that need the real data, and one server
that runs CLI cases each in a forked child under 1 GiB and 10 s of CPU (tests/_limited_cli.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.fixture(scope="session")
def limited_cli() -> Iterator[Callable[..., tuple[int, str]]]:
    """``run(argv, cwd, timeout=120) -> (status, stderr)``: ``backproplab *argv`` in its own process
    under 1 GiB of address space and 10 s of CPU, forked from one server that imported the CLI once."""
    import backproplab

    src = str(Path(backproplab.__file__).resolve().parents[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_limited_cli.py"))], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(argv: list[str], cwd: Path, timeout: float = 120) -> tuple[int, str]:
        server.stdin.write(json.dumps({"argv": [str(a) for a in argv], "cwd": str(cwd), "timeout": timeout}) + "\n")
        server.stdin.flush()
        answer = server.stdout.readline()
        assert answer, "the limited CLI server died"
        done = json.loads(answer)
        return done["status"], done["stderr"]

    try:
        yield run
    finally:
        server.stdin.close()
        server.wait(timeout=60)
