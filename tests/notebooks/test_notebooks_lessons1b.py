"""The backprop-tracer and gradient-descent notebooks execute cleanly (nbclient), each with run(quick=True).

The two share one kernel (started once: importing torch and Matplotlib is most of the cost);
each notebook starts with ``%reset -f``, so neither can lean on the other's variables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.notebooks

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupyter_client = pytest.importorskip("jupyter_client")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


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


@pytest.mark.parametrize("name, must_print", [
    ("backprop_trace.ipynb", ["∂L/∂w⁽¹⁾₃₂ = δ⁽¹⁾₃·x₂ = 0.252·(−1) = −0.252", "layers[1].weights[0]"]),
    ("gradient_descent.ipynb", ["1.29676", "unknown name 'z'"]),
])
def test_notebook_executes(name, must_print, kernel):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    client = nbclient.NotebookClient(nb, km=kernel, timeout=300, resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
    outputs = _outputs(nb)
    errors = [out for out in outputs if out.get("output_type") == "error"]
    assert not errors, errors
    images = sum("image/png" in out.get("data", {}) for out in outputs)
    assert images >= 2, f"{name}: expected its figures to be displayed, found {images} image(s)"
    text = "".join(out.get("text", "") for out in outputs if out.get("output_type") == "stream")
    assert "all claims pass" in text
    for words in must_print:
        assert words in text, (name, words)
