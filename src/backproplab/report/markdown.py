"""``summary.md``: the report's verdict in a few lines of Markdown, failed claims first.

Also home of :func:`format_value`, the one way the report writes a measured value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from backproplab.lessons.result import yes_no_reading


def format_value(value: Any, max_items: int = 6, max_chars: int = 160) -> str:
    """A short human form of a plain JSON value: floats to 4 significant digits, lists cut short."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, str):
        return value if len(value) <= max_chars else value[: max_chars - 1] + "…"
    if isinstance(value, (list, tuple)):
        items = [format_value(v, max_items, 24) for v in value[:max_items]]
        more = f", … ({len(value)} items)" if len(value) > max_items else ""
        return "[" + ", ".join(items) + more + "]"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def headline(doc: Mapping[str, Any]) -> str:
    """``"N of M claims pass"``, with the incomplete state spelled out."""
    s = doc["summary"]
    text = f"{s['claims_passed']} of {s['claims']} claims pass"
    if not doc["complete"]:
        text = f"INCOMPLETE: {s['lessons_done']} of {s['lessons']} lessons done, {text} so far"
    return text


def run_mode(doc: Mapping[str, Any]) -> str:
    """``"quick run, seed 0, device cpu"``; for a report whose lessons come from runs with different
    settings (``--only`` into an earlier report), which lessons came from which."""
    runs = [r for r in doc.get("runs") or [] if r["lessons"]]
    if len(runs) <= 1:
        s = runs[0] if runs else doc["settings"]
        return f"{'quick' if s['quick'] else 'full'} run, seed {s['seed']}, device {s['device']}"
    parts = [f"{', '.join(r['lessons'])} from {'this' if i == 0 else 'an earlier'} "
             f"{'quick' if r['quick'] else 'full'} run (seed {r['seed']}, device {r['device']})"
             for i, r in enumerate(runs)]
    return "lessons from several runs: " + "; ".join(parts)


def settings_line(doc: Mapping[str, Any]) -> str:
    """Run mode, seed, device and library versions in one line."""
    libs = ", ".join(f"{k} {val}" for k, val in doc["versions"].items() if val)
    return f"{run_mode(doc)} · {libs}"


MUST_HOLD = "must hold"  # the bound a claims table writes for a yes/no claim


def claim_shown(claim: Mapping[str, Any]) -> tuple[str, str | None]:
    """A claim of ``results.json`` as a report writes it: (value, bound); the document keeps the numbers.

    A yes/no claim reads as the terminal writes it, ``"holds (measured: 1)"``, and has no bound of its
    own (``None``): "1 (bound true)" read as if 1 were the verdict.
    """
    reading = yes_no_reading(claim["value"], claim["bound"], claim["passed"], format_value)
    return (format_value(claim["value"]), claim["bound"]) if reading is None else (reading, None)


def _cell(text: Any) -> str:
    return format_value(text).replace("|", "\\|").replace("\n", " ")


def render_summary(doc: Mapping[str, Any], resume_hint: str | None = None) -> str:
    """The text of ``summary.md`` for a ``results.json`` document."""
    s = doc["summary"]
    lines = [f"# backproplab reproduce: {headline(doc)}", "", settings_line(doc), ""]
    if not doc["complete"]:
        lines += ["**This report is incomplete**: the run was interrupted. "
                  + (f"Continue it with `{resume_hint}`." if resume_hint else ""), ""]

    failed = [(lesson, c) for lesson, e in doc["lessons"].items() for c in e["claims"] if not c["passed"]]
    lines += ["## Failed claims", ""]
    if failed:
        lines += ["| lesson | claim | value | bound | evidence |", "| --- | --- | --- | --- | --- |"]
        for lesson, c in failed:
            value, bound = claim_shown(c)
            lines.append(f"| {lesson} | {_cell(c['name'])} | {_cell(value)} | {_cell(bound or MUST_HOLD)} "
                         f"| {_cell(c.get('evidence', ''))} |")
    elif s["claims"]:
        lines.append("None: every claim that was checked passed.")
    else:
        lines.append("No claim was checked.")
    lines.append("")

    timings = doc.get("timings", {}).get("lessons", {})
    lines += ["## Lessons", "", "| lesson | title | status | claims passed | seconds |",
              "| --- | --- | --- | --- | --- |"]
    for name, e in doc["lessons"].items():
        status = {"done": "pass" if e["passed"] else "FAIL", "error": "ERROR", "pending": "not run"}[e["status"]]
        if e["status"] == "error":
            status += f" ({_cell(e['error']['type'])}: {_cell(e['error']['message'])})"
        n_ok = sum(c["passed"] for c in e["claims"])
        claims = f"{n_ok} of {len(e['claims'])}" if e["status"] != "pending" else "—"
        secs = f"{timings[name]:.1f}" if name in timings else "—"
        lines.append(f"| {name} | {_cell(e['title'])} | {status} | {claims} | {secs} |")
    lines += ["", "Full report: `index.html`; machine-readable results: `results.json`.", ""]
    return "\n".join(lines)
