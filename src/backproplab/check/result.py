"""The records a check produces: one :class:`Assertion` per comparison, one :class:`ItemResult` per
contract item, one :class:`SubmissionResult` per student and assignment.

Everything here is plain data (strings, numbers, lists) so it serialises to JSON as it stands.
Points are the course's; an item's score is its points times the fraction of its assertions that
passed (notes never count).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Assertion:
    """One comparison inside an item.

    Attributes
    ----------
    name : what was compared, e.g. ``"_relu_grad at 0 and ±tiny"``
    passed : whether the student's value agreed with the reference
    message : what was called with which input, what was expected, what came back
    hint : the likely cause when the failure matches a known mistake ('' when none)
    note : True for an observation that never costs points (e.g. a batch convention)
    """

    name: str
    passed: bool
    message: str = ""
    hint: str = ""
    note: bool = False

    def text(self) -> str:
        """One paragraph: the message, then the hint if there is one."""
        parts = [p for p in (self.message, self.hint and f"likely cause: {self.hint}") if p]
        return " — ".join(parts)


@dataclass
class ItemResult:
    """The outcome of one contract item (e.g. ``"1.6"``, 3 points).

    ``seconds``: the item's wall clock in the child; ``cpu``: the child process's CPU seconds so far
    when the item ended (cumulative over the items one child ran).
    """

    id: str
    title: str
    points: float
    assertions: list[Assertion] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    stdout: str = ""
    cpu: float = 0.0

    @property
    def graded(self) -> list[Assertion]:
        return [a for a in self.assertions if not a.note]

    @property
    def score(self) -> float:
        """``points × passed/graded``; 0 when the item errored or nothing could be compared."""
        graded = self.graded
        if self.error or not graded:
            return 0.0
        return round(self.points * sum(a.passed for a in graded) / len(graded), 2)

    @property
    def passed(self) -> bool:
        return self.score == self.points

    def failures(self) -> list[str]:
        """The texts a student should read: the error, then every failed assertion (its likely
        cause on a line of its own)."""
        out = [self.error] if self.error else []
        out += [f"{a.name}: {a.message}" + (f"\n  likely cause: {a.hint}" if a.hint else "")
                for a in self.graded if not a.passed]
        return out

    def headline(self) -> str:
        """One line for a table: the error, or the first failure's likely cause, or its message."""
        if self.error:
            return self.error
        first = next((a for a in self.graded if not a.passed), None)
        if first is None:
            return "ok"
        return f"{first.name}: {first.hint or first.message}"

    def notes(self) -> list[str]:
        return [f"{a.name}: {a.text()}" for a in self.assertions if a.note]

    def feedback(self) -> str:
        """Everything about this item a student can act on, one line per finding."""
        passed = [a for a in self.graded if a.passed]
        lines = self.failures() + [f"note — {n}" for n in self.notes()]
        if passed:
            lines.append(f"passed {len(passed)} of {len(self.graded)} assertions:")
            lines += [f"  ✓ {a.name}: {a.message}" for a in passed]
        if self.stdout:
            lines.append(f"your output:\n{self.stdout}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(score=self.score, passed=self.passed)
        return d


@dataclass
class ManualResult:
    """A written item for the marker: its reference answers and, where they depend on the
    submission (the network a JKU notebook states for Task 2), notes on what was read from it."""

    id: str
    title: str
    points: float
    reference: str
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The item, one note a line, then the reference answers."""
        head = f"{self.id} {self.title} ({self.points:g} points), marked by hand."
        return "\n".join([head] + [f"  note — {n}" for n in self.notes] + ["Reference:", self.reference])


@dataclass
class SubmissionResult:
    """One student's result on one assignment (or on ``purdue``: all three files).

    ``manual``: the items a marker grades by hand, each with its reference answers (not in the
    score; in Gradescope's output as hidden tests, which students do not see).
    """

    assignment: str
    student: str
    path: str
    items: list[ItemResult]
    quick: bool = False
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    manual: list[ManualResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(i.score for i in self.items), 2)

    @property
    def max_score(self) -> float:
        return round(sum(i.points for i in self.items), 2)

    def item(self, item_id: str) -> ItemResult:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"no item {item_id!r} in {self.assignment}")

    def lost(self) -> list[str]:
        """Ids of the items that did not get full points."""
        return [i.id for i in self.items if not i.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment, "student": self.student, "path": self.path,
            "quick": self.quick, "score": self.score, "max_score": self.max_score,
            "seconds": round(self.seconds, 3), "messages": list(self.messages),
            "manual": [asdict(m) for m in self.manual],
            "items": [i.to_dict() for i in self.items],
        }
