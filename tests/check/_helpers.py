"""Where the checker's fixture submissions come from.

The correct submission of each Purdue file is the reference solution the package hands to instructors
(``backproplab check --init ... --solution``), not a second copy of it. Every other fixture is that
solution with one mistake or one hostile act (``fixture_edits.EDITS``), written once per test process
as a student's whole file in a folder named after the fixture.
"""

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from backproplab.check.templates.purdue import SOLUTIONS

from .fixture_edits import EDITS

TITLES = {"numpy_ann": "NumPy ANN", "pytorch_ann": "PyTorch ANN", "pytorch_cnn": "PyTorch CNN"}


@cache
def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="backproplab-fixtures-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def student_file(kind: str, name: str) -> str:
    """The text of fixture ``name`` of ``kind``: the solution with the fixture's edits applied."""
    description, edits = EDITS[kind][name]
    solution = (SOLUTIONS / f"{kind}.py").read_text()
    first, rest = solution.split("\n", 1)
    text = (f'"""{description} — a student submission for the Purdue {TITLES[kind]} '
            f'(fixture of the checker\'s tests)."""\n{rest}')
    assert first.startswith('"""The reference solution'), first
    for old, new in edits:
        assert text.count(old) == 1, f"fixture {kind}/{name}: its edit no longer matches the solution once:\n{old}"
        text = text.replace(old, new)
    return text


@cache
def fixture(kind: str, name: str) -> Path:
    """The folder of one fixture submission, e.g. ``fixture("numpy_ann", "correct")``."""
    if name == "correct":
        return SOLUTIONS
    folder = _root() / kind / name
    folder.mkdir(parents=True)
    (folder / f"{kind}.py").write_text(student_file(kind, name))
    return folder
