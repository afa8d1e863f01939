"""Where the checker's fixture submissions live.

The correct submission of each Purdue file is the reference solution the package hands to instructors
(``backproplab check --init ... --solution``), not a second copy of it; every other fixture is a student's
whole file with one mistake or one hostile act.
"""

from pathlib import Path

from backproplab.check.templates.purdue import SOLUTIONS

FIXTURES = Path(__file__).with_name("fixtures")


def fixture(kind: str, name: str) -> Path:
    """The folder of one fixture submission, e.g. ``fixture("numpy_ann", "correct")``."""
    return SOLUTIONS if name == "correct" else FIXTURES / kind / name
