"""The generated solution notebooks open and run in Jupyter (nbclient), run-this cells included.

The JKU data cell is swapped for loaders over 1,280 training and 1,000 test images, so that its two
one-epoch runs take seconds instead of minutes; every other cell runs as handed out.
"""

from __future__ import annotations

import pytest

from backproplab.check.templates import notebook

pytestmark = [pytest.mark.notebooks, pytest.mark.slow, pytest.mark.usefixtures("needs_fashion")]

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

SMALL_DATA = """from torch.utils.data import DataLoader, TensorDataset
from backproplab.courses.jku import train, test
from backproplab.data import fashion_mnist_tensors

X, y = fashion_mnist_tensors("train")
Xt, yt = fashion_mnist_tensors("test")
train_loader = DataLoader(TensorDataset(X[:1280], y[:1280]), batch_size=64, shuffle=True)
test_loader = DataLoader(TensorDataset(Xt[:1000], yt[:1000]), batch_size=1000)"""


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("assignment", ["jku-a7", "radboud-a1"])
def test_solution_notebook_runs(assignment, tmp_path):
    nb = notebook(assignment, solution=True)
    for cell in nb.cells:
        if cell.get("id") == "jku-data":
            cell.source = SMALL_DATA
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    text = _outputs_text(nb)
    figures = sum("image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", []))
    if assignment == "jku-a7":
        assert figures >= 3  # 20 sample images, and one gradient plot per run
    else:
        assert "validation accuracy" in text
        accuracy = float(text.split("validation accuracy")[1].split()[0])
        assert accuracy >= 0.95


def test_starter_notebook_raises_not_implemented(tmp_path):
    nb = notebook("radboud-a1")
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="NotImplementedError"):
        client.execute()
