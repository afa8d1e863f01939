"""What a lesson returns: parameters, figures, tables and checked claims.

A :class:`Claim` is a statement the lesson measured, the value it measured, the bound it was held
against and whether it passed. The report shows claims first.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.files import atomic_open, atomic_write_bytes, safe_stem

#: The bound of a yes/no claim (:meth:`Claim.holds`): the statement is true, or it is not.
#: ``results.json`` keeps it as it is; people read such a claim through :func:`yes_no_reading`.
YES_NO_BOUND = "true"

# Lazy import, on purpose: matplotlib.pyplot (heavy, and it picks a GUI backend) only to close figures.


def plain(value: Any) -> Any:
    """Turn NumPy/torch scalars and arrays into plain JSON-ready Python values."""
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()] if value.ndim else plain(value.item())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass
class Claim:
    """One checked statement.

    Attributes
    ----------
    name : str
        The statement in words, e.g. ``"sigmoid'(z) never exceeds 1/4"``.
    value : float | int | bool | str
        What was measured.
    bound : str
        What the value was held against, e.g. ``"<= 0.25"``, ``"1.29676 ± 0.0001"``, ``"true"``.
    passed : bool
        Whether the measured value satisfies the bound.
    evidence : str
        Optional one-line explanation citing the numbers behind the verdict.
    """

    name: str
    value: Any
    bound: str
    passed: bool
    evidence: str = ""

    def __post_init__(self) -> None:
        self.value = plain(self.value)
        self.passed = bool(self.passed)

    @classmethod
    def at_most(cls, name: str, value: float, bound: float, evidence: str = "") -> Claim:
        value = float(value)
        return cls(name, value, f"<= {bound:.6g}", math.isfinite(value) and value <= bound, evidence)

    @classmethod
    def at_least(cls, name: str, value: float, bound: float, evidence: str = "") -> Claim:
        value = float(value)
        return cls(name, value, f">= {bound:.6g}", math.isfinite(value) and value >= bound, evidence)

    @classmethod
    def close_to(cls, name: str, value: float, target: float, tol: float, evidence: str = "") -> Claim:
        value = float(value)
        ok = math.isfinite(value) and abs(value - target) <= tol
        return cls(name, value, f"{target:.6g} ± {tol:.2g}", ok, evidence)

    @classmethod
    def holds(cls, name: str, passed: bool, value: Any = None, evidence: str = "") -> Claim:
        return cls(name, bool(passed) if value is None else value, YES_NO_BOUND, bool(passed), evidence)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "bound": self.bound, "passed": self.passed,
                "evidence": self.evidence}

    def __str__(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        tail = f"  ({self.evidence})" if self.evidence else ""
        reading = yes_no_reading(self.value, self.bound, self.passed, _terminal_value)
        if reading is not None:
            return f"[{mark}] {self.name}: {reading}{tail}"
        return f"[{mark}] {self.name}: {_terminal_value(self.value)} (bound {self.bound}){tail}"


def _terminal_value(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def yes_no_reading(value: Any, bound: str, passed: bool, show: Callable[[Any], str]) -> str | None:
    """How a yes/no claim (one made by :meth:`Claim.holds`) reads; ``None`` for any other claim.

    Its verdict in words, ``"holds"`` or ``"does not hold"``, with the measured value beside it as
    ``" (measured: …)"`` (written by ``show``) unless that value is the verdict itself (a bool):
    "weights cycle: 1 (bound true)" read as if 1 were the verdict, and "revived: 0" as false.
    The terminal (:meth:`Claim.__str__`) and the HTML report both write yes/no claims with it.
    """
    if bound != YES_NO_BOUND:
        return None
    verdict = "holds" if passed else "does not hold"
    return verdict if isinstance(value, bool) else f"{verdict} (measured: {show(value)})"


class _ClaimsAndFigures:
    """What a lesson's result and one of its steps share: claims to query, figures to release."""

    claims: list[Claim]
    figures: dict[str, Any]

    @property
    def passed(self) -> bool:
        """True when every claim passed."""
        return all(claim.passed for claim in self.claims)

    def claim(self, name: str) -> Claim:
        """The claim called ``name``; KeyError listing the names if there is none."""
        for claim in self.claims:
            if claim.name == name:
                return claim
        raise KeyError(f"no claim named {name!r}; claims are {[c.name for c in self.claims]}")

    def close_figures(self) -> None:
        """Release the Matplotlib figures (saved paths are kept)."""
        import matplotlib.pyplot as plt

        for fig in self.figures.values():
            if not isinstance(fig, (str, Path)):
                plt.close(fig)


@dataclass
class LessonResult(_ClaimsAndFigures):
    """Everything one lesson produced.

    Attributes
    ----------
    name : str
        The lesson's CLI name, e.g. ``"xor"``.
    title : str
        A human title.
    params : dict
        The parameters the lesson ran with (plain values).
    claims : list of Claim
    figures : dict
        Figure name -> Matplotlib ``Figure`` or path of a saved PNG.
    tables : dict
        Table name -> list of rows, each row a dict of column -> plain value.
    text : dict
        Name -> Markdown text (e.g. a backprop trace).
    timings : dict
        Part of the lesson -> wall seconds (e.g. ``"train cnn"``). Kept apart from ``params`` and
        ``tables`` because they differ from run to run: ``results.json`` holds them under
        ``"timings"``, so two runs with one seed are identical once that key is dropped.
    """

    name: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


    def add(self, *steps: Step) -> LessonResult:
        """Append each step's claims, tables and figures, in the order given; returns ``self``."""
        for step in steps:
            self.claims.extend(step.claims)
            self.tables.update(step.tables)
            self.figures.update(step.figures)
        return self

    def save_figures(self, out: str | Path, *, copy_files: bool = False) -> dict[str, Path]:
        """Save every Matplotlib figure as ``out/<name>.png`` (atomically); return name -> path.

        A figure given as a file path is returned as it is or, with ``copy_files`` (a report holds its
        own files), copied to ``out/<name>.png``. The file name is :func:`backproplab.files.safe_stem`
        of the figure's name (a name taken from a user's file, such as a network's, cannot reach
        outside ``out``); clashes get ``-2``, ``-3``. ``out`` is made when a file is written.
        """
        out = Path(out)
        paths: dict[str, Path] = {}
        used: set[str] = set()
        for fig_name, fig in self.figures.items():
            is_file = isinstance(fig, (str, os.PathLike))
            if is_file and not copy_files:
                paths[fig_name] = Path(fig)
                continue
            stem = base = safe_stem(fig_name)
            k = 2
            while stem in used:
                stem, k = f"{base}-{k}", k + 1
            used.add(stem)
            path = out / f"{stem}.png"
            if is_file:
                atomic_write_bytes(path, Path(fig).read_bytes())
            else:
                with atomic_open(path, "wb") as handle:
                    fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")
            paths[fig_name] = path
        return paths

    def format_claims(self) -> str:
        """One line per claim, for the terminal."""
        lines = [f"{self.title}"] + [f"  {claim}" for claim in self.claims]
        verdict = "all claims pass" if self.passed else \
            f"{sum(not c.passed for c in self.claims)} of {len(self.claims)} claims FAIL"
        return "\n".join(lines + [f"  -> {verdict}"])


@dataclass
class Step(_ClaimsAndFigures):
    """One experiment of a lesson: its claims, tables and figures, and the values later steps use.

    A long lesson is a few named step functions, each returning a ``Step``, composed by its ``run``
    with :meth:`LessonResult.add`; a test can run one step alone and check its claims.
    ``data`` holds what the step computed that another step (or a test) reads, e.g. hidden
    activations; it is not written to the report.
    """

    claims: list[Claim] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


