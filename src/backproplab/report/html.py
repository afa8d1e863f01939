"""``index.html``: one self-contained page (inline CSS, figures as base64 PNG, no script).

The page opens with the verdict ("N of M claims pass"), then one table of every claim, then a
section per lesson with its parameters, claims, figures, tables and text. It is rendered from the
``results.json`` document alone (plus the PNG files it names), so a resumed run renders the lessons
it did not re-run exactly like the ones it did.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from backproplab.report.markdown import format_value, headline, run_mode, settings_line

MAX_TABLE_ROWS = 60
WIDE_FIGURE_PX = 820  # a PNG wider than this spans the whole lesson card


def _css() -> str:
    return resources.files("backproplab.report").joinpath("report.css").read_text(encoding="utf-8")


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


# --------------------------------------------------------------------------------------------
# a tiny TeX subset for the lessons' formulas, rendered as HTML (no script, no web fonts)

_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π",
    "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ",
    "Psi": "Ψ", "Omega": "Ω", "partial": "∂", "nabla": "∇", "cdot": "·", "times": "×", "div": "÷",
    "pm": "±", "mp": "∓", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠",
    "approx": "≈", "sim": "∼", "equiv": "≡", "propto": "∝", "infty": "∞", "sum": "∑", "prod": "∏",
    "int": "∫", "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "mapsto": "↦",
    "in": "∈", "notin": "∉", "odot": "⊙", "circ": "∘", "ldots": "…", "cdots": "⋯", "dots": "…",
    "prime": "′", "top": "⊤", "mid": "∣", "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖",
    "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "forall": "∀", "exists": "∃", "cup": "∪", "cap": "∩", "subset": "⊂", "emptyset": "∅", "ell": "ℓ",
}
_BINARY = {"cdot", "times", "div", "pm", "mp", "le", "leq", "ge", "geq", "ne", "neq", "approx", "sim", "equiv",
           "propto", "to", "rightarrow", "leftarrow", "Rightarrow", "mapsto", "in", "notin", "odot", "cup", "cap",
           "subset"}
_FUNCTIONS = {"max", "min", "log", "ln", "exp", "tanh", "sinh", "cosh", "sin", "cos", "tan", "arg", "argmin",
              "argmax", "sgn", "det", "lim", "sup", "inf"}
_TEXT_COMMANDS = {"mathrm", "text", "textrm", "operatorname", "mathit", "textit", "mathsf", "texttt"}
_SPACES = {",": "\u2009", ";": "\u2005", ":": "\u2005", "!": "", " ": " ", "quad": "\u2003", "qquad": "\u2003\u2003"}


class _Tex:
    """Recursive-descent renderer for the TeX the lessons write (fractions, scripts, Greek, functions)."""

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    def render(self) -> str:
        return self._seq(None)

    def _seq(self, stop: str | None) -> str:
        out = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "}" and stop == "}":
                self.i += 1
                return "".join(out)
            if c == "{":
                self.i += 1
                out.append(self._seq("}"))
            elif c == "\\":
                out.append(self._command())
            elif c in "^_":
                self.i += 1
                tag = "sup" if c == "^" else "sub"
                out.append(f"<{tag}>{self._arg()}</{tag}>")
            elif c.isascii() and c.isalpha():
                j = self.i
                while j < len(self.s) and self.s[j].isascii() and self.s[j].isalpha():
                    j += 1
                out.append(f"<i>{escape(self.s[self.i:j])}</i>")
                self.i = j
            elif c.isspace():
                while self.i < len(self.s) and self.s[self.i].isspace():
                    self.i += 1
                out.append(" ")
            else:
                out.append({"-": "−", "'": "′"}.get(c) or escape(c))  # true minus and prime signs
                self.i += 1
        return "".join(out)

    def _arg(self) -> str:
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1
        if self.i >= len(self.s):
            return ""
        c = self.s[self.i]
        if c == "{":
            self.i += 1
            return self._seq("}")
        if c == "\\":
            return self._command()
        self.i += 1
        return f"<i>{escape(c)}</i>" if c.isascii() and c.isalpha() else escape(c)

    def _raw_group(self) -> str:
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1
        if self.i < len(self.s) and self.s[self.i] == "{":
            depth, j = 1, self.i + 1
            while j < len(self.s) and depth:
                depth += {"{": 1, "}": -1}.get(self.s[j], 0)
                j += 1
            text, self.i = self.s[self.i + 1:j - 1], j
            return escape(text)
        return self._arg()

    def _command(self) -> str:
        self.i += 1  # the backslash
        j = self.i
        while j < len(self.s) and self.s[j].isascii() and self.s[j].isalpha():
            j += 1
        if j == self.i:  # a control symbol: \, \; \\ \{ ...
            c = self.s[self.i:self.i + 1]
            self.i += 1
            if c == "\\":
                return "<br>"
            return _SPACES.get(c, escape(c))
        name, self.i = self.s[self.i:j], j
        while self.i < len(self.s) and self.s[self.i] == " ":  # TeX swallows spaces after a command word
            self.i += 1
        if name in ("frac", "tfrac", "dfrac"):
            num, den = self._arg(), self._arg()
            return f'<span class="frac"><span>{num}</span><span>{den}</span></span>'
        if name == "sqrt":
            return f'√<span class="sqrt">{self._arg()}</span>'
        if name in ("hat", "bar", "tilde", "vec", "dot"):
            mark = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307"}[name]
            arg = self._arg()
            return arg[:-4] + mark + "</i>" if arg.endswith("</i>") else arg + mark
        if name in ("mathbf", "boldsymbol", "textbf"):
            return f"<b>{self._arg()}</b>"
        if name in _TEXT_COMMANDS:
            return f'<span class="up">{self._raw_group()}</span>'
        if name in ("left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr"):
            if self.i < len(self.s) and self.s[self.i] == ".":
                self.i += 1
                return ""
            return ""  # the delimiter that follows is printed as itself
        if name in _FUNCTIONS:
            return f'<span class="up">{name}</span>' + (" " if self.s[self.i:self.i + 1] not in ("", "(", "[", "^", "_") else "")
        if name in _SPACES:
            return _SPACES[name]
        if name in _BINARY:
            return f" {_SYMBOLS[name]} "
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        return f'<span class="up">{escape(name)}</span>'


def tex_to_html(source: str) -> str:
    """Render a TeX formula (the subset lessons use) as HTML with sub/superscripts and fractions."""
    return re.sub(r" {2,}", " ", _Tex(str(source)).render()).strip()


# --------------------------------------------------------------------------------------------
# a small, safe Markdown subset: everything is escaped first; no raw HTML passes through

_LINK = re.compile(r"\[([^\]]+)\]\(((?:https?://|#)[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")


_INLINE_SPLIT = re.compile(r"(`[^`]*`|(?<![$\\])\$(?![$\s])[^$\n]*?[^$\s\\]\$(?![$\d])|(?<![$\\])\$[^$\s\\]\$(?![$\d]))")


def _inline(text: str) -> str:
    parts = _INLINE_SPLIT.split(text)
    html = []
    for part in parts:
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            html.append(f"<code>{escape(part[1:-1])}</code>")
            continue
        if len(part) >= 3 and part.startswith("$") and part.endswith("$"):
            html.append(f'<span class="math">{tex_to_html(part[1:-1])}</span>')
            continue
        part = escape(part, quote=True)
        part = _LINK.sub(r'<a href="\2">\1</a>', part)
        part = _BOLD.sub(r"<strong>\1</strong>", part)
        part = _EM.sub(r"<em>\1</em>", part)
        html.append(part)
    return "".join(html)


def _split_row(line: str) -> list[str]:
    line = line.strip().replace("\\|", "\x00")
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [cell.strip().replace("\x00", "|") for cell in line.split("|")]


_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
_UL = re.compile(r"^\s*[-*+]\s+(.*)$")
_OL = re.compile(r"^\s*\d+[.)]\s+(.*)$")


def markdown_to_html(text: str) -> str:
    """Render a small Markdown subset safely.

    Handles headings, paragraphs, fenced and indented code, pipe tables, bullet and numbered lists,
    block quotes, inline code, bold, emphasis and http(s)/anchor links. Anything else is shown as
    text; raw HTML is escaped.
    """
    lines = str(text).replace("\r\n", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append("<p>" + _inline(" ".join(para)) + "</p>")
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            out.append("<pre><code>" + escape("\n".join(body)) + "</code></pre>")
            i += 1
            continue
        if not stripped:
            flush()
            i += 1
            continue
        if stripped.startswith("$$"):
            flush()
            block = [stripped]
            i += 1
            while "\n".join(block).count("$$") < 2 and i < len(lines):
                block.append(lines[i].strip())
                i += 1
            chunks = "\n".join(block).split("$$")
            for k, chunk in enumerate(chunks):
                if k % 2 == 1:
                    out.append(f'<div class="math display">{tex_to_html(chunk)}</div>')
                elif chunk.strip():
                    out.append("<p>" + _inline(" ".join(chunk.split())) + "</p>")
            continue
        if (line.startswith("    ") or line.startswith("\t")) and not para:
            body = []
            while i < len(lines) and (lines[i].startswith(("    ", "\t")) or not lines[i].strip()):
                body.append(lines[i][4:] if lines[i].startswith("    ") else lines[i].lstrip("\t"))
                i += 1
            while body and not body[-1].strip():
                body.pop()
            out.append("<pre><code>" + escape("\n".join(body)) + "</code></pre>")
            continue
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*$", stripped)
        if heading:
            flush()
            level = min(6, len(heading.group(1)) + 2)
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        if "|" in stripped and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1].strip()):
            flush()
            head = _split_row(stripped)
            i += 2
            rows = []
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_split_row(lines[i]))
                i += 1
            html = ["<div class=\"table-wrap\"><table><thead><tr>"]
            html += [f"<th>{_inline(c)}</th>" for c in head]
            html.append("</tr></thead><tbody>")
            for row in rows:
                html.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>")
            html.append("</tbody></table></div>")
            out.append("".join(html))
            continue
        for pattern, tag in ((_UL, "ul"), (_OL, "ol")):
            if pattern.match(line):
                flush()
                items = []
                while i < len(lines) and pattern.match(lines[i]):
                    item = pattern.match(lines[i]).group(1)
                    i += 1
                    while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() \
                            and not _UL.match(lines[i]) and not _OL.match(lines[i]):
                        item += " " + lines[i].strip()
                        i += 1
                    items.append(f"<li>{_inline(item)}</li>")
                out.append(f"<{tag}>" + "".join(items) + f"</{tag}>")
                break
        else:
            if stripped.startswith(">"):
                flush()
                quote = []
                while i < len(lines) and lines[i].strip().startswith(">"):
                    quote.append(lines[i].strip()[1:].strip())
                    i += 1
                out.append("<blockquote>" + _inline(" ".join(quote)) + "</blockquote>")
                continue
            para.append(stripped)
            i += 1
    flush()
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# pieces


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
    return (f'<header class="hero {state}"><div class="wrap">'
            f'<p class="eyebrow">{_e(eyebrow)}</p>'
            f'<h1 id="headline">{_e(title)}</h1>'
            f'<div class="meter" role="img" aria-label="{frac:.0f}% of claims pass">'
            f'<span style="width:{frac:.1f}%"></span></div>'
            f'<p class="sub">{_e(" · ".join(bits))}</p></div></header>')


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
        items = "".join(f'<li><a href="#{_anchor(n)}">{_e(n)}</a>: {_e(c["name"])}: <span class="mono">'
                        f'{_e(format_value(c["value"]))}</span> (bound <span class="mono">{_e(c["bound"])}</span>)'
                        f'{" · " + _e(c["evidence"]) if c.get("evidence") else ""}</li>' for n, c in failed)
        html.append(f'<div class="banner fail" id="failed-claims"><strong>{len(failed)} claim'
                    f'{"s" if len(failed) != 1 else ""} failed:</strong><ul>{items}</ul></div>')
    errors = [name for name, e in doc["lessons"].items() if e["status"] == "error"]
    if errors:
        links = ", ".join(f'<a href="#{_anchor(n)}">{_e(n)}</a>' for n in errors)
        html.append(f'<div class="banner fail"><strong>A lesson raised an error:</strong> {links}. '
                    f'Its section shows the traceback; the other lessons ran.</div>')
    return "".join(html)


def _toc(doc: Mapping[str, Any]) -> str:
    chips = [f'<a class="chip {_status(e)}" href="#{_anchor(n)}">{_e(e["title"])} <b>{_e(_claim_count(e))}</b></a>'
             for n, e in doc["lessons"].items()]
    return '<nav class="toc" aria-label="lessons">' + "".join(chips) + "</nav>"


def _claims_table(doc: Mapping[str, Any]) -> str:
    rows = []
    for name, e in doc["lessons"].items():
        for k, c in enumerate(e["claims"]):
            verdict = "pass" if c["passed"] else "fail"
            lesson = (f'<td class="lesson" rowspan="{len(e["claims"])}"><a href="#{_anchor(name)}">{_e(name)}</a></td>'
                      if k == 0 else "")
            rows.append(
                f'<tr class="{verdict}{" first" if k == 0 else ""}">{lesson}'
                f'<td class="claim">{_e(c["name"])}</td><td class="value mono">{_e(format_value(c["value"]))}</td>'
                f'<td class="bound mono">{_e(c["bound"])}</td>'
                f'<td><span class="pill {verdict}">{verdict.upper()}</span></td>'
                f'<td class="evidence">{_e(c.get("evidence", ""))}</td></tr>')
    if not rows:
        body = '<p class="muted">No claim was checked yet.</p>'
    else:
        body = ('<div class="table-wrap"><table class="claims" id="claims-table"><colgroup><col class="c-lesson">'
                '<col class="c-claim"><col class="c-value"><col class="c-bound"><col class="c-result">'
                '<col class="c-evidence"></colgroup><thead><tr><th>Lesson</th>'
                '<th>Claim</th><th>Value</th><th>Bound</th><th>Result</th><th>Evidence</th></tr></thead>'
                '<tbody>' + "".join(rows) + "</tbody></table></div>")
    s = doc["summary"]
    return (f'<section class="card" id="claims"><h2>Claims <span class="muted">· {s["claims_passed"]} of '
            f'{s["claims"]} pass</span></h2>{body}</section>')


def _data_table(rows: list[Any]) -> str:
    if not rows:
        return '<p class="muted">(empty table)</p>'
    if not all(isinstance(r, Mapping) for r in rows):
        rows = [{"value": r} for r in rows]
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    html = ['<div class="table-wrap"><table class="data"><thead><tr>']
    html += [f"<th>{_e(c)}</th>" for c in columns]
    html.append("</tr></thead><tbody>")
    for row in rows[:MAX_TABLE_ROWS]:
        cells = []
        for c in columns:
            value = row.get(c)
            cls = ' class="num"' if _is_number(value) else ""
            cells.append(f"<td{cls}>{_e(format_value(value))}</td>")
        html.append("<tr>" + "".join(cells) + "</tr>")
    html.append("</tbody></table>")
    if len(rows) > MAX_TABLE_ROWS:
        html.append(f'<div class="more">… {len(rows) - MAX_TABLE_ROWS} more rows in results.json</div>')
    html.append("</div>")
    return "".join(html)


def _figure(name: str, rel: str, out: Path) -> str:
    from backproplab.report.outdir import safe_figure

    path = safe_figure(out, rel)  # only figures/<lesson>/<name>.png inside out, never through a link
    caption = _e(name.replace("_", " "))
    try:
        if path is None:
            raise FileNotFoundError(rel)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return f'<figure><p class="muted">figure file {_e(rel)} is missing</p><figcaption>{caption}</figcaption></figure>'
    raw = base64.b64decode(data[:44])
    width = int.from_bytes(raw[16:20], "big") if raw[:8] == b"\x89PNG\r\n\x1a\n" else 0
    wide = ' class="wide"' if width > WIDE_FIGURE_PX else ""
    return (f'<figure{wide}><img src="data:image/png;base64,{data}" alt="{_e(name)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _lesson(index: int, name: str, entry: Mapping[str, Any], out: Path, seconds: Any,
            parts: Mapping[str, Any] | None = None) -> str:
    status = _status(entry)
    label = {"pass": f"{_claim_count(entry)} PASS", "fail": f"{_claim_count(entry)} pass", "error": "ERROR",
             "pending": "NOT RUN"}[status]
    time_html = f'<span class="time">{seconds:.1f} s</span>' if isinstance(seconds, (int, float)) else ""
    if time_html and parts:
        detail = ", ".join(f"{k} {v:.1f} s" for k, v in parts.items() if isinstance(v, (int, float)))
        time_html = f'<span class="time" title="{_e(detail)}">{seconds:.1f} s ({_e(detail)})</span>'
    html = [f'<section class="card lesson" id="{_anchor(name)}"><div class="lesson-head">'
            f'<h2><span class="num">{index}</span>{_e(entry["title"])}</h2>'
            f'<code class="name">{_e(name)}</code><span class="pill {status}">{_e(label)}</span>{time_html}</div>']
    if entry["status"] == "pending":
        html.append('<div class="pending-box">Not run: the run was interrupted before this lesson.</div>')
    elif entry["status"] == "error":
        err = entry["error"]
        html.append(f'<div class="error-box"><strong>{_e(err["type"])}</strong>: {_e(err["message"])}'
                    f'<details><summary>traceback</summary><pre>{_e(err["traceback"])}</pre></details></div>')
    if entry["params"]:
        html.append('<div class="params">' + "".join(
            f'<span class="param"><b>{_e(k)}</b>{_e(format_value(v))}</span>'
            for k, v in entry["params"].items()) + "</div>")
    if entry["claims"] and entry["status"] == "done":
        items = []
        for c in entry["claims"]:
            verdict = "pass" if c["passed"] else "fail"
            ev = f'<span class="evidence">{_e(c["evidence"])}</span>' if c.get("evidence") else ""
            items.append(f'<li class="{verdict}">{_e(c["name"])}: <span class="val mono">'
                         f'{_e(format_value(c["value"]))}</span> <span class="muted">(bound '
                         f'{_e(c["bound"])})</span>{ev}</li>')
        n_ok = sum(c["passed"] for c in entry["claims"])
        opened = " open" if n_ok < len(entry["claims"]) or len(entry["claims"]) <= 6 else ""
        html.append(f'<details class="claims-detail"{opened}><summary>{n_ok} of {len(entry["claims"])} claims '
                    f'pass</summary><ul class="claim-list">' + "".join(items) + "</ul></details>")
    if entry["figures"]:
        html.append('<div class="figures">' + "".join(
            _figure(fig, rel, out) for fig, rel in entry["figures"].items()) + "</div>")
    for table_name, rows in entry["tables"].items():
        html.append(f"<h3>{_e(table_name.replace('_', ' '))}</h3>{_data_table(rows)}")
    shown = 0
    for text_name, text in entry["text"].items():
        label = _e(text_name.replace("_", " "))
        if text_name.startswith("print"):  # terminal text: shown as printed, folded away
            html.append(f'<details class="terminal"><summary>{label} (as printed in the terminal)</summary>'
                        f"<pre>{_e(text)}</pre></details>")
        elif shown == 0:  # the first text is open; further ones are folded so the page stays scannable
            html.append(f'<div class="text-label">{label}</div><div class="md">{markdown_to_html(text)}</div>')
            shown += 1
        else:
            html.append(f'<details class="text-more"><summary>{label}</summary>'
                        f'<div class="md">{markdown_to_html(text)}</div></details>')
    html.append("</section>")
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
            f"{_hero(doc)}<main class=\"wrap\">{_banners(doc, resume_hint)}{_toc(doc)}"
            f"{_claims_table(doc)}{lessons}</main>"
            f'<footer class="wrap">{_e(settings_line(doc))} · results.json holds every number shown here.'
            "</footer></body></html>\n")
