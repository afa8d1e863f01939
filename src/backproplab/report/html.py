"""``index.html``: one self-contained page (inline CSS, figures as base64 PNG, no script).

The page reads as a course, not as a log:

* a short verdict and a **summary**: one row per lesson (claims passed, time), every failed claim in
  full, and the table of all claims folded away;
* a **sidebar** to jump between lessons (at narrow widths the summary's rows are the navigation);
* each **lesson as a story**: the question it answers (the first paragraphs of the lesson module's
  docstring), its key figure, what was measured (parameters as a short key/value list, the other
  figures, the lesson's text, its tables — long ones folded), then its claims.

Figures are shown at their own pixel size, shrunk only to fit the column; clicking one opens it at
full size (a CSS ``:target`` view, no script). A lesson captions a figure ``NAME`` with a text entry
named ``caption:NAME``; without one the caption is the figure's name in words. Every table sits in a
box that scrolls sideways when the table is wider than the column.

It is rendered from the ``results.json`` document alone (plus the PNG files it names and the lesson
modules' docstrings), so a resumed run renders the lessons it did not re-run exactly like the ones it
did.
"""

from __future__ import annotations

import ast
import base64
import functools
import re
from collections.abc import Mapping
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from backproplab.report.markdown import (
    MUST_HOLD,
    claim_shown,
    format_value,
    headline,
    run_mode,
    settings_line,
)
from backproplab.report.markup import markdown_to_html, tex_to_html
from backproplab.report.outdir import safe_figure

__all__ = ["render_html", "markdown_to_html", "tex_to_html", "humanise"]

MAX_TABLE_ROWS = 60
OPEN_TABLE_ROWS = 12  # a table with more rows than this is folded (<details>) under its title
PROSE_CHARS = 60  # a table column holding text longer than this is shown as a sentence under its row
OPEN_CLAIMS = 8  # a lesson's claim list longer than this is folded unless one of them fails
CAPTION_PREFIX = "caption:"
MIN_FIGURE_SCALE = 0.62  # a wide figure is never shrunk below this; its box scrolls sideways instead

_WORDS = {"acc": "accuracy", "val": "validation", "lr": "learning rate", "grad": "gradient",
          "eig": "eigenvalue", "params": "parameters", "num": "number", "init": "initialisation",
          "eta0": "η₀", "eta": "η", "expr": "expression", "max": "max", "min": "min"}
_PHRASES = {"eta_t": "ηₜ", "grad_norm": "|∇f|", "on_boundary": "on the box edge"}


def _css() -> str:
    return resources.files("backproplab.report").joinpath("report.css").read_text(encoding="utf-8")


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def humanise(key: str) -> str:
    """A column or parameter name in words: ``"val_acc"`` -> ``"Validation accuracy"``.

    Names that already read as text (spaces, symbols, capitals such as ``"NumpyANN"``) are kept.
    """
    key = str(key)
    if key in _PHRASES:
        return _PHRASES[key]
    if not re.fullmatch(r"[a-z][a-z0-9]*(_[A-Za-z0-9]+)*", key):
        return key
    words = [_WORDS.get(w, w) for w in key.split("_")]
    text = " ".join(words)
    if len(text) <= 2:  # a symbol such as t, x, f, L stays as it is written in the formulas
        return text
    return text[0].upper() + text[1:] if text[0].isascii() else text


# --------------------------------------------------------------------------------------------
# small pieces


def _status(entry: Mapping[str, Any]) -> str:
    if entry["status"] == "done":
        return "pass" if entry["passed"] else "fail"
    return entry["status"]


def _claim_count(entry: Mapping[str, Any]) -> str:
    if entry["status"] == "pending":
        return "not run"
    if entry["status"] == "error":
        return "error"
    return f"{sum(c['passed'] for c in entry['claims'])}/{len(entry['claims'])}"


def _anchor(name: str) -> str:
    return "lesson-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short_title(title: str) -> str:
    return title.split(":", 1)[0] if ":" in title else title


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format_value(value)


def _param_value(value: Any) -> str:
    """A parameter's value as short text: lists joined, mappings as ``key: value`` pairs."""
    if isinstance(value, Mapping):
        return "; ".join(f"{humanise(k)}: {_param_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (list, tuple, Mapping)) for v in value):
        items = [_cell_text(v) for v in value[:8]]
        return ", ".join(items) + (f", … ({len(value)} in all)" if len(value) > 8 else "")
    return _cell_text(value)


# --------------------------------------------------------------------------------------------
# the question a lesson answers: the first paragraphs of its module's docstring


@functools.lru_cache(maxsize=1)
def _lesson_docstrings() -> dict[str, str]:
    """Lesson NAME -> module docstring, read from the sources (nothing is imported or run)."""
    found: dict[str, str] = {}
    folder = resources.files("backproplab.lessons")
    for entry in folder.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith("_"):
            continue
        try:
            tree = ast.parse(entry.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NAME" for t in node.targets) \
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found[node.value.value] = ast.get_docstring(tree) or ""
    return found


def _rest_to_markdown(text: str) -> str:
    text = re.sub(r":(?:mod|func|class|meth|attr|data):`~?([^`]+)`", r"`\1`", text)
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    return text.replace("::\n", ":\n")


def lesson_question(name: str, max_paragraphs: int = 2) -> str:
    """The opening of lesson ``name``'s docstring as Markdown: its summary line and first paragraphs.

    Stops before the first list, code block or formula block, so the page shows the question and
    its setting, not the lesson's whole description.
    """
    doc = _lesson_docstrings().get(name, "")
    kept: list[str] = []
    for para in re.split(r"\n[ \t]*\n", doc)[: max_paragraphs + 1]:
        if not para.strip() or para.startswith((" ", "\t")) or para.lstrip().startswith(("* ", "- ", "1. ")):
            break
        text = " ".join(para.split())
        if not kept:
            text = f"**{text}**"
        elif not text.endswith((".", "?", "!", ")")):  # it runs on into a list or a code block
            break
        kept.append(text)
    return _rest_to_markdown("\n\n".join(kept))


# --------------------------------------------------------------------------------------------
# page sections


def _hero(doc: Mapping[str, Any]) -> str:
    s = doc["summary"]
    state = "incomplete" if not doc["complete"] else ("pass" if doc["passed"] else "fail")
    frac = 100.0 * s["claims_passed"] / s["claims"] if s["claims"] else 0.0
    total = doc.get("timings", {}).get("total_s")
    bits = [f"{s['lessons_done']} of {s['lessons']} lessons run" if not doc["complete"]
            else f"{s['lessons']} lesson{'s' if s['lessons'] != 1 else ''}"]
    if s["claims_failed"]:
        bits.append(f"{s['claims_failed']} failed claim{'s' if s['claims_failed'] != 1 else ''}")
    errors = sum(e["status"] == "error" for e in doc["lessons"].values())
    if errors:
        bits.append(f"{errors} lesson{'s' if errors != 1 else ''} raised an error")
    if isinstance(total, (int, float)):
        bits.append(f"{total:.1f} s of lesson time")
    eyebrow = f"backproplab reproduce · {run_mode(doc)}"
    title = headline(doc) if doc["complete"] else f"{s['claims_passed']} of {s['claims']} claims pass so far"
    return (f'<header class="hero {state}"><div class="hero-in">'
            f'<p class="eyebrow">{_e(eyebrow)}</p>'
            f'<h1 id="headline">{_e(title)}</h1>'
            f'<div class="meter" role="img" aria-label="{frac:.0f}% of claims pass">'
            f'<span style="width:{frac:.1f}%"></span></div>'
            f'<p class="sub">{_e(" · ".join(bits))}</p></div></header>')


def _claim_inline(claim: Mapping[str, Any], bound_class: str | None = None) -> str:
    """``value (bound b)`` for a line of text (the bound in a span of ``bound_class`` if given); a
    yes/no claim's reading alone, ``holds (measured: 1)``."""
    value, bound = claim_shown(claim)
    tail = "" if bound is None else f'(bound <span class="mono">{_e(bound)}</span>)'
    if tail and bound_class:
        tail = f'<span class="{bound_class}">{tail}</span>'
    return f'<span class="val mono">{_e(value)}</span>' + (f" {tail}" if tail else "")


def _banners(doc: Mapping[str, Any], resume_hint: str | None) -> str:
    html = []
    if not doc["complete"]:
        s = doc["summary"]
        hint = f" Continue it with <code>{_e(resume_hint)}</code>." if resume_hint else ""
        html.append(f'<div class="banner incomplete" id="incomplete"><strong>INCOMPLETE.</strong> The run was '
                    f'interrupted after {s["lessons_done"]} of {s["lessons"]} lessons; lessons not run are '
                    f'marked below.{hint}</div>')
    failed = [(name, c) for name, e in doc["lessons"].items() if e["status"] == "done"
              for c in e["claims"] if not c["passed"]]
    if failed:
        items = "".join(f'<li><a href="#{_anchor(n)}">{_e(_short_title(doc["lessons"][n]["title"]))}</a>: '
                        f'{_e(c["name"])}: {_claim_inline(c)}'
                        f'{" · " + _e(c["evidence"]) if c.get("evidence") else ""}</li>' for n, c in failed)
        html.append(f'<div class="banner fail" id="failed-claims"><strong>{len(failed)} claim'
                    f'{"s" if len(failed) != 1 else ""} failed:</strong><ul>{items}</ul></div>')
    errors = [name for name, e in doc["lessons"].items() if e["status"] == "error"]
    if errors:
        links = ", ".join(f'<a href="#{_anchor(n)}">{_e(n)}</a>' for n in errors)
        html.append(f'<div class="banner fail"><strong>A lesson raised an error:</strong> {links}. '
                    f'Its section shows the traceback; the other lessons ran.</div>')
    return "".join(html)


def _sidebar(doc: Mapping[str, Any]) -> str:
    links = [f'<a class="side-link {_status(e)}" href="#{_anchor(n)}"><span class="n">{i}</span>'
             f'<span class="t">{_e(_short_title(e["title"]))}</span><b>{_e(_claim_count(e))}</b></a>'
             for i, (n, e) in enumerate(doc["lessons"].items(), start=1)]
    return ('<nav class="side" aria-label="lessons"><a class="side-top" href="#summary">Summary</a>'
            + "".join(links) + '<a class="side-top" href="#all-claims">All claims</a></nav>')


def _lesson_rows(doc: Mapping[str, Any]) -> str:
    timings = doc.get("timings", {}).get("lessons", {})
    rows = []
    for i, (name, e) in enumerate(doc["lessons"].items(), start=1):
        status = _status(e)
        secs = timings.get(name)
        rows.append(f'<tr class="{status}"><td class="num">{i}</td><td><a href="#{_anchor(name)}">'
                    f'{_e(e["title"])}</a></td><td><span class="pill {status}">{_e(_claim_count(e))}</span></td>'
                    f'<td class="num">{f"{secs:.1f} s" if isinstance(secs, (int, float)) else "—"}</td></tr>')
    return ('<div class="table-wrap"><table class="lessons" id="lesson-table"><thead><tr><th>#</th><th>Lesson</th>'
            '<th>Claims passed</th><th>Time</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table></div>")


def _claims_table(doc: Mapping[str, Any]) -> str:
    rows = []
    for name, e in doc["lessons"].items():
        for k, c in enumerate(e["claims"]):
            verdict = "pass" if c["passed"] else "fail"
            value, bound = claim_shown(c)
            lesson = (f'<td class="lesson" rowspan="{len(e["claims"])}"><a href="#{_anchor(name)}">{_e(name)}</a></td>'
                      if k == 0 else "")
            rows.append(
                f'<tr class="{verdict}{" first" if k == 0 else ""}">{lesson}'
                f'<td class="claim">{_e(c["name"])}</td><td class="value mono">{_e(value)}</td>'
                f'<td class="bound mono">{_e(MUST_HOLD if bound is None else bound)}</td>'
                f'<td><span class="pill {verdict}">{verdict.upper()}</span></td>'
                f'<td class="evidence">{_e(c.get("evidence", ""))}</td></tr>')
    if not rows:
        return '<p class="muted">No claim was checked yet.</p>'
    s = doc["summary"]
    return (f'<details class="all-claims" id="all-claims"><summary>All {s["claims"]} claims in one table '
            f'({s["claims_passed"]} pass)</summary>'
            '<div class="table-wrap"><table class="claims" id="claims-table"><thead><tr><th>Lesson</th>'
            '<th>Claim</th><th>Value</th><th>Bound</th><th>Result</th><th>Evidence</th></tr></thead>'
            '<tbody>' + "".join(rows) + "</tbody></table></div></details>")


def _summary(doc: Mapping[str, Any], resume_hint: str | None) -> str:
    s = doc["summary"]
    return (f'<section class="card summary" id="summary"><h2>Summary <span class="muted">· {s["claims_passed"]} '
            f'of {s["claims"]} claims pass</span></h2>'
            '<p class="lead">Each lesson asks one question, measures the answer, and checks what it says as '
            '<em>claims</em>: a measured value held against a bound. Failed claims are listed here in full.</p>'
            f'{_banners(doc, resume_hint)}{_lesson_rows(doc)}{_claims_table(doc)}</section>')


# --------------------------------------------------------------------------------------------
# a lesson's parts


def _data_table(name: str, rows: list[Any]) -> str:
    title = _e(humanise(name))
    if not rows:
        return f'<h3>{title}</h3><p class="muted">(empty table)</p>'
    if not all(isinstance(r, Mapping) for r in rows):
        rows = [{"value": r} for r in rows]
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    # a column of long text beside four or more others is read as a sentence under each row
    prose = [c for c in columns if any(len(_cell_text(r.get(c))) > PROSE_CHARS for r in rows)]
    prose = prose if len(columns) - len(prose) >= 4 else []
    shown = [c for c in columns if c not in prose]
    html = [f'<div class="table-wrap"><table class="data{" with-prose" if prose else ""}"><thead><tr>']
    html += [f"<th>{_e(humanise(c))}</th>" for c in shown]
    html.append("</tr></thead><tbody>")
    for row in rows[:MAX_TABLE_ROWS]:
        html.append("<tr>" + "".join(_cell(row.get(c)) for c in shown) + "</tr>")
        html += [f'<tr class="prose-row"><td colspan="{len(shown)}"><span><b>{_e(humanise(c))}:</b> '
                 f"{_e(_cell_text(row.get(c)))}</span></td></tr>" for c in prose]
    html.append("</tbody></table>")
    if len(rows) > MAX_TABLE_ROWS:
        html.append(f'<div class="more">… {len(rows) - MAX_TABLE_ROWS} more rows in results.json</div>')
    html.append("</div>")
    if len(rows) > OPEN_TABLE_ROWS:
        return (f'<details class="table-fold"><summary>{title} <span class="muted">({len(rows)} rows)</span>'
                f'</summary>{"".join(html)}</details>')
    return f'<h3>{title}</h3>{"".join(html)}'


def _cell(value: Any) -> str:
    text = _cell_text(value)
    cls = "num" if _is_number(value) else ("prose" if len(text) > 40 else "")
    return f'<td class="{cls}">{_e(text)}</td>' if cls else f"<td>{_e(text)}</td>"


def _png_width(data: bytes) -> int:
    return int.from_bytes(data[16:20], "big") if data[:8] == b"\x89PNG\r\n\x1a\n" else 0


def _figure(fig_id: str, name: str, rel: str, out: Path, caption: str | None, key: bool = False) -> str:
    text = caption or humanise(re.sub(r"^[a-z]+_", "", name) if "_" in name else name).replace("_", " ")
    cap = f"<figcaption>{markdown_to_html(text).removeprefix('<p>').removesuffix('</p>')}</figcaption>"
    path = safe_figure(out, rel)  # only figures/<lesson>/<name>.png inside out, never through a link
    try:
        if path is None:
            raise FileNotFoundError(rel)
        raw = path.read_bytes()
    except OSError:
        return f'<figure><p class="muted">figure file {_e(rel)} is missing</p>{cap}</figure>'
    width = _png_width(raw)
    style = f' style="width:{width + 22}px"' if width else ""
    least = f' style="min-width:{round(width * MIN_FIGURE_SCALE)}px"' if width > 600 else ""
    data = base64.b64encode(raw).decode("ascii")
    return (f'<div class="fig-slot{" key" if key else ""}" id="{fig_id}-back"{style}><figure id="{fig_id}">'
            f'<a class="zoom" href="#{fig_id}" title="open at full size">'
            f'<img src="data:image/png;base64,{data}" alt="{_e(text)}"{least}></a>'
            f'{cap}<a class="close" href="#{fig_id}-back">close ✕</a></figure></div>')


def _params(params: Mapping[str, Any]) -> str:
    items = []
    for k, v in params.items():
        text = _param_value(v)
        wide = ' class="wide"' if len(text) > 22 else ""
        items.append(f"<div{wide}><dt>{_e(humanise(k))}</dt><dd>{_e(text)}</dd></div>")
    items = "".join(items)
    return f'<dl class="params">{items}</dl>'


def _claim_list(entry: Mapping[str, Any]) -> str:
    items = []
    for c in entry["claims"]:
        verdict = "pass" if c["passed"] else "fail"
        ev = f'<span class="evidence">{_e(c["evidence"])}</span>' if c.get("evidence") else ""
        items.append(f'<li class="{verdict}">{_e(c["name"])}: {_claim_inline(c, "muted")}{ev}</li>')
    n_ok = sum(c["passed"] for c in entry["claims"])
    opened = " open" if n_ok < len(entry["claims"]) or len(entry["claims"]) <= OPEN_CLAIMS else ""
    return (f'<h3>Claims</h3><details class="claims-detail"{opened}><summary>{n_ok} of {len(entry["claims"])} '
            f'claims pass</summary><ul class="claim-list">' + "".join(items) + "</ul></details>")


def _texts(texts: Mapping[str, str]) -> str:
    html, shown = [], 0
    for text_name, text in texts.items():
        if text_name.startswith(CAPTION_PREFIX):
            continue
        label = _e(humanise(text_name.replace("-", "_")) if "_" in text_name else text_name.replace("_", " "))
        if text_name.startswith("print"):  # terminal text: shown as printed, folded away
            what = text_name[len("print"):].strip("_- ").replace("_", " ") or "output"
            html.append(f'<details class="terminal"><summary>The terminal\'s {_e(what)} (as the command prints it)'
                        f"</summary><pre>{_e(text)}</pre></details>")
        elif shown == 0:  # the first text is open; further ones are folded so the page stays scannable
            html.append(f'<div class="md">{markdown_to_html(text)}</div>')
            shown += 1
        else:
            html.append(f'<details class="text-more"><summary>{label}</summary>'
                        f'<div class="md">{markdown_to_html(text)}</div></details>')
    return "".join(html)


def _head(index: int, name: str, entry: Mapping[str, Any], seconds: Any, parts: Mapping[str, Any] | None) -> str:
    status = _status(entry)
    label = {"pass": f"{_claim_count(entry)} PASS", "fail": f"{_claim_count(entry)} pass", "error": "ERROR",
             "pending": "NOT RUN"}[status]
    time_html = f'<span class="time">{seconds:.1f} s</span>' if isinstance(seconds, (int, float)) else ""
    if time_html and parts:
        detail = ", ".join(f"{k} {v:.1f} s" for k, v in parts.items() if isinstance(v, (int, float)))
        time_html = f'<span class="time" title="{_e(detail)}">{seconds:.1f} s ({_e(detail)})</span>'
    return (f'<div class="lesson-head"><h2><span class="num">{index}</span>{_e(entry["title"])}</h2>'
            f'<code class="name">{_e(name)}</code><span class="pill {status}">{_e(label)}</span>{time_html}</div>')


def _lesson(index: int, name: str, entry: Mapping[str, Any], out: Path, seconds: Any,
            parts: Mapping[str, Any] | None = None) -> str:
    html = [f'<section class="card lesson" id="{_anchor(name)}">', _head(index, name, entry, seconds, parts)]
    question = lesson_question(name)
    if question:
        html.append(f'<div class="question md">{markdown_to_html(question)}</div>')
    if entry["status"] == "pending":
        html.append('<div class="pending-box">Not run: the run was interrupted before this lesson.</div>')
    elif entry["status"] == "error":
        err = entry["error"]
        html.append(f'<div class="error-box"><strong>{_e(err["type"])}</strong>: {_e(err["message"])}'
                    f'<details><summary>traceback</summary><pre>{_e(err["traceback"])}</pre></details></div>')
    figures = [(f"fig-{_anchor(name)[7:]}-{k}", fig, rel) for k, (fig, rel) in enumerate(entry["figures"].items())]
    captions = {k[len(CAPTION_PREFIX):]: v for k, v in entry["text"].items() if k.startswith(CAPTION_PREFIX)}
    if figures:
        fig_id, fig, rel = figures[0]
        html.append(f'<div class="figures">{_figure(fig_id, fig, rel, out, captions.get(fig), True)}</div>')
    if entry["status"] == "done" or entry["params"]:
        html.append('<h3>What was measured</h3>')
    if entry["params"]:
        html.append(_params(entry["params"]))
    if len(figures) > 1:
        html.append('<div class="figures">' + "".join(
            _figure(i, f, r, out, captions.get(f)) for i, f, r in figures[1:]) + "</div>")
    html.append(_texts(entry["text"]))
    html += [_data_table(table_name, rows) for table_name, rows in entry["tables"].items()]
    if entry["claims"] and entry["status"] == "done":
        html.append(_claim_list(entry))
    html.append('<p class="back"><a href="#summary">↑ summary</a></p></section>')
    return "".join(html)


def render_html(doc: Mapping[str, Any], out: str | Path, resume_hint: str | None = None) -> str:
    """The text of ``index.html`` for a ``results.json`` document whose figures lie under ``out``."""
    out = Path(out)
    timings = doc.get("timings", {}).get("lessons", {})
    parts = doc.get("timings", {}).get("parts", {})
    title = f"backproplab report: {headline(doc)}"
    lessons = "".join(_lesson(i, name, entry, out, timings.get(name), parts.get(name))
                      for i, (name, entry) in enumerate(doc["lessons"].items(), start=1))
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{_e(title)}</title>'
            f"<style>\n{_css()}</style></head>\n<body>"
            f'{_hero(doc)}<div class="layout">{_sidebar(doc)}<main>{_summary(doc, resume_hint)}{lessons}'
            f'<footer>{_e(settings_line(doc))} · results.json holds every number shown here.</footer>'
            "</main></div></body></html>\n")
