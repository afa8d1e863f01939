"""Where the checker's fixture submissions live."""

from pathlib import Path

FIXTURES = Path(__file__).with_name("fixtures")


def fixture(kind: str, name: str) -> Path:
    """The folder of one fixture submission, e.g. ``fixture("numpy_ann", "correct")``."""
    return FIXTURES / kind / name
