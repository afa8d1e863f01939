"""What the two notebook assignments share: reading the submission, and judging parts of an item.

:func:`prepare` turns a notebook (``.ipynb``, or its ``.py`` export) into the module the child
imports (:mod:`backproplab.check.notebook`), hands on the cells it read (for the manual items), and reports a cell structure that differs from the
handed-out notebook's (:mod:`backproplab.check.templates`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from backproplab.check.compare import Bad, worst
from backproplab.check.result import Assertion
from backproplab.check.runner import ProbeOutput


def preparer(assignment: str, supplied: tuple[str, ...] = (),
             fixed_cells: bool = True) -> Callable[[Path], tuple[str, list[str], list]]:
    """The ``prepare`` of an :class:`~backproplab.check.assignment.Assignment` for this notebook;
    ``supplied``: the globals the child gives the notebook's module itself (Radboud's ``w`` and ``b``),
    which the notebook's functions may read although only skipped code assigns them; ``fixed_cells``:
    the assignment forbids adding or removing cells (JKU), which the structure notes then say."""

    def prepare(source: Path) -> tuple[str, list[str], list]:
        from backproplab.check.notebook import extract, read_cells, structure_messages
        from backproplab.check.templates import expected_ids

        cells = read_cells(source)
        is_export = Path(source).suffix.lower() != ".ipynb"
        found = structure_messages(cells, expected_ids(assignment), is_export=is_export, fixed=fixed_cells)
        made = extract(cells, supplied)
        return made.source, found + made.messages, cells

    return prepare


def part(out: ProbeOutput, key: str, name: str, fn: Callable[[], Assertion | list[Assertion]],
         error_hints: Sequence[tuple[str, str]] = ()) -> list[Assertion]:
    """One part of an item: its probe's error (``error.<key>``) as a failed assertion, else ``fn()``.

    ``error_hints``: ``(regular expression, likely cause)`` pairs; the first that the error matches
    becomes the assertion's hint."""
    err = out.values.get(f"error.{key}")
    if err:
        hint = next((text for pattern, text in error_hints if re.search(pattern, str(err))), "")
        return [Assertion(name, False, str(err), hint)]
    try:
        result = fn()
    except Bad as bad:
        return [Assertion(name, False, str(bad))]
    return result if isinstance(result, list) else [result]


def got(out: ProbeOutput, key: str, what: str) -> np.ndarray:
    """The array the probe returned under ``key``; :class:`Bad` naming ``what`` when it did not."""
    if key in out.arrays:
        return np.asarray(out.arrays[key], dtype=np.float64)
    raise Bad(f"{what} returned nothing the checker could read as numbers")


def near(name: str, call: str, value: np.ndarray, expected, atol: float, hint: str = "") -> Assertion:
    """``value`` equals ``expected`` (same shape) within ``atol``."""
    expected = np.asarray(expected, dtype=np.float64)
    value = np.asarray(value, dtype=np.float64)
    ok = value.shape == expected.shape and bool(np.allclose(value, expected, atol=atol, rtol=0, equal_nan=False))
    show = lambda a: np.array2string(a.reshape(-1)[:6], precision=6) + (" …" if a.size > 6 else "")  # noqa: E731
    where = f"; {worst(value, expected)}" if not ok and value.shape == expected.shape and value.size else ""
    return Assertion(name, ok, f"{call} gave {show(value)} (shape {value.shape}); expected {show(expected)} "
                               f"(shape {expected.shape}) within {atol:g}{where}", "" if ok else hint)
