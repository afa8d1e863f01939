"""Shared test set-up: a headless Matplotlib, a skip for tests that need the real data, each quick
lesson run once per session (the lesson tests and the notebooks share it), one server that runs CLI
cases each in a forked child under 1 GiB and 10 s of CPU (tests/_limited_cli.py), and, under
pytest-xdist (the README's test command), the cores shared out among the workers."""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# Under pytest-xdist each worker (and the processes its tests start) gets its share of the cores,
# set before torch is imported; n workers each using every core would only thrash. A count the
# user set wins.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_name, _share)


def pytest_configure(config: pytest.Config) -> None:
    """A suite started in the background by a non-interactive shell (``pytest ... &``) inherits SIGINT
    ignored, and so would every process it starts: the tests of Ctrl-C need Python's own handler."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# The files that share the session's quick lesson runs (``quick_runs``): one worker takes them all.
QUICK_RUN_FOLDERS = ("tests/lessons/", "tests/notebooks/")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``-n N`` hands out whole files (``--dist loadfile``), not single tests, so a module's fixture
    (a notebook kernel, a server) runs once, on one worker; the lesson and notebook files go to one
    worker together, so each quick lesson runs once; in the order pytest_collection_modifyitems
    sets. ``--dist`` given wins."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FilesAndQuickRuns(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "quick lesson runs" if path.startswith(QUICK_RUN_FOLDERS) else path

    config.option.loadscopereorder = False  # keep the order below, not most-tests-first
    return FilesAndQuickRuns(config, log)


# The longest file: its usage lines run `reproduce --quick` and more in a row (about 3 minutes).
LONGEST_FILE = "test_readme.py"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, hand out the longest file first, then the files that hold slow tests (each
    file stays whole, in its order, on one worker), so no worker is left with a long file at the end."""
    if "PYTEST_XDIST_WORKER" not in os.environ:  # the workers collect; the order they agree on is used
        return
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    # a stable sort: the files keep their order within each rank, and their tests theirs
    items.sort(key=lambda item: 0 if item.path.name == LONGEST_FILE else 1 if item.path in slow_files else 2)


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


class QuickRuns:
    """Each lesson's ``run(**kwargs)`` computed once per session and handed to every test that asks:
    the lesson tests read its claims, tables and figures, the notebook tests hand a copy to the
    notebook's own call (tests/notebooks/test_notebooks.py). Tests must not change a result."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, str], object] = {}

    @staticmethod
    def key(lesson: ModuleType, kwargs: dict) -> str:
        """``run``'s arguments with its defaults filled in, as text: equal calls give equal keys."""
        bound = inspect.signature(lesson.run).bind(**kwargs)
        bound.apply_defaults()
        return repr(sorted(bound.arguments.items()))

    def get(self, lesson: ModuleType, **kwargs):
        key = (lesson.__name__, self.key(lesson, kwargs))
        if key not in self._results:
            self._results[key] = lesson.run(**kwargs)
        return self._results[key]

    def close(self) -> None:
        for result in self._results.values():
            result.close_figures()


@pytest.fixture(scope="session")
def quick_runs() -> Iterator[QuickRuns]:
    runs = QuickRuns()
    yield runs
    runs.close()


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
