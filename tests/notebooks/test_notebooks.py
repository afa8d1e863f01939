"""Every notebook in ``notebooks/`` executes cleanly (nbclient) with ``run(quick=True)``.

All share one kernel, started once (importing torch and Matplotlib is most of a notebook's cost);
each notebook starts with ``%reset -f``, so none can lean on another's variables. The Fashion-MNIST
notebooks are skipped where the data is missing (CI installs it).

The lesson's quick run is the session's one (``quick_runs`` in tests/conftest.py, which the lesson
tests check): the notebook's own call with the same arguments gets a pickled copy of it, any other
call runs for real. So the notebook is checked as written, every cell but that one computation,
and no quick lesson runs twice in a suite.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path

import pytest

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]  # each notebook trains its lesson end to end

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupyter_client = pytest.importorskip("jupyter_client")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# name: (needs Fashion-MNIST, figures it must display, words it must print besides "all claims pass")
EXPECTED = {
    "xor.ipynb": (False, 2, []),
    "backprop_trace.ipynb": (False, 2, ["∂L/∂w₃₂ = δ₃·x₂ = 0.147·(−1) = −0.147", "layers[1].weights[0]"]),
    "gradient_descent.ipynb": (False, 2, ["1.29676", "unknown name 'z'"]),
    "activations.ipynb": (False, 2, []),
    "conv_arithmetic.ipynb": (False, 2, []),
    "digits.ipynb": (False, 4, []),
    "vanishing.ipynb": (True, 2, []),
    "fashion.ipynb": (True, 4, []),
}

# name: the lesson module the notebook runs and its call's arguments (as the lesson tests make it)
QUICK_CALL = {
    "xor.ipynb": ("xor", {"quick": True}),
    "backprop_trace.ipynb": ("backprop_trace", {"quick": True}),
    "gradient_descent.ipynb": ("gradient_descent", {"quick": True}),
    "activations.ipynb": ("activations", {"quick": True}),
    "conv_arithmetic.ipynb": ("conv_arithmetic", {"quick": True}),
    "digits.ipynb": ("digits", {"quick": True}),
    "vanishing.ipynb": ("vanishing", {"quick": True, "device": "cpu"}),
    "fashion.ipynb": ("fashion", {"quick": True, "device": "cpu"}),
}

# Run first in the kernel: the lesson's run() answers a call equal to the session's with its result.
USE_SESSION_RUN = """\
import functools as _functools, inspect as _inspect, pickle as _pickle
import {module} as _lesson
_real_run = getattr(_lesson.run, "_real_run", _lesson.run)

def _key(kwargs):
    bound = _inspect.signature(_real_run).bind(**kwargs)
    bound.apply_defaults()
    return repr(sorted(bound.arguments.items()))

@_functools.wraps(_real_run)
def _session_run(**kwargs):
    if _key(kwargs) != {key!r}:
        return _real_run(**kwargs)
    _session_run.used += 1
    with open({path!r}, "rb") as file:
        return _pickle.load(file)

_session_run._real_run, _session_run.used = _real_run, 0
_lesson.run = _session_run"""
RESTORE = "print('session runs used:', _session_run.used)\n_lesson.run = _real_run"


@pytest.fixture(scope="module")
def kernel():
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(NOTEBOOKS))
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def _outputs(nb):
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_every_notebook_is_checked():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_notebook_executes(name, kernel, fashion_available, quick_runs, tmp_path):
    needs_data, figures, must_print = EXPECTED[name]
    if needs_data and not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    module, kwargs = QUICK_CALL[name]
    lesson = importlib.import_module(f"backproplab.lessons.{module}")
    (tmp_path / "result.pickle").write_bytes(pickle.dumps(quick_runs.get(lesson, **kwargs)))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    use = USE_SESSION_RUN.format(module=lesson.__name__, key=quick_runs.key(lesson, kwargs),
                                 path=str(tmp_path / "result.pickle"))
    nb.cells[:0] = [nbformat.v4.new_code_cell("%reset -f"), nbformat.v4.new_code_cell(use)]
    nb.cells.append(nbformat.v4.new_code_cell(RESTORE))
    client = nbclient.NotebookClient(nb, km=kernel, timeout=600, resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
    outputs = _outputs(nb)
    errors = [out for out in outputs if out.get("output_type") == "error"]
    assert not errors, errors
    images = sum("image/png" in out.get("data", {}) for out in outputs)
    assert images >= figures, f"{name}: expected {figures} figures displayed, found {images}"
    text = "".join(out.get("text", "") for out in outputs if out.get("output_type") == "stream")
    assert "all claims pass" in text
    for words in must_print:
        assert words in text, (name, words)
    # the notebook's call was the lesson tests' (else it ran for real: update QUICK_CALL)
    assert "session runs used: 1" in text, name
