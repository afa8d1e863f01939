"""Which probe file (in ``check/child``) grades which assignment: one table, read by the assignments and
by ``backproplab check``, which starts a run's fork servers from it before the assignments (and torch)
are imported, so that the two start-ups overlap."""

from __future__ import annotations

from pathlib import Path

CHILD = Path(__file__).with_name("child")

PROBES: dict[str, Path] = {
    "purdue-numpy-ann": CHILD / "numpy_probes.py",
    "purdue-pytorch-ann": CHILD / "torch_probes.py",
    "purdue-pytorch-cnn": CHILD / "torch_probes.py",
    "jku-a7": CHILD / "notebook_probes.py",
    "radboud-a1": CHILD / "notebook_probes.py",
}
