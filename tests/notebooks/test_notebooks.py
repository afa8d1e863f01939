"""Every notebook in ``notebooks/`` executes cleanly (nbclient) with ``run(quick=True)``.

All share one kernel, started once (importing torch and Matplotlib is most of a notebook's cost);
each notebook starts with ``%reset -f``, so none can lean on another's variables. The Fashion-MNIST
notebooks are skipped where the data is missing (CI installs it).
"""

from __future__ import annotations

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
def test_notebook_executes(name, kernel, fashion_available):
    needs_data, figures, must_print = EXPECTED[name]
    if needs_data and not fashion_available:
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
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
