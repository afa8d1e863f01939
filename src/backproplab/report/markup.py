"""The report's markup: a small TeX subset and a small, safe Markdown subset, rendered as HTML.

No script and no web fonts: formulas become Unicode with ``<sub>``/``<sup>`` and CSS fractions, so the
page renders offline and identically everywhere. Everything is escaped first; no raw HTML passes
through.
"""

from __future__ import annotations

import re
from html import escape

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


def _display_math(lines: list[str], i: int, out: list[str]) -> int:
    """A ``$$ … $$`` block starting at line i (text around it becomes paragraphs); the next line's index."""
    block = [lines[i].strip()]
    i += 1
    while "\n".join(block).count("$$") < 2 and i < len(lines):
        block.append(lines[i].strip())
        i += 1
    for k, chunk in enumerate("\n".join(block).split("$$")):
        if k % 2 == 1:
            out.append(f'<div class="math display">{tex_to_html(chunk)}</div>')
        elif chunk.strip():
            out.append("<p>" + _inline(" ".join(chunk.split())) + "</p>")
    return i


def _pipe_table(lines: list[str], i: int, out: list[str]) -> int:
    """A pipe table whose header is line i (line i + 1 is the rule); the next line's index."""
    head = _split_row(lines[i].strip())
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
    return i


def _list(lines: list[str], i: int, out: list[str]) -> int:
    """A bullet or numbered list starting at line i (indented lines continue an item); the next index."""
    pattern, tag = (_UL, "ul") if _UL.match(lines[i]) else (_OL, "ol")
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
    return i


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
            i = _display_math(lines, i, out)
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
            i = _pipe_table(lines, i, out)
            continue
        if _UL.match(line) or _OL.match(line):
            flush()
            i = _list(lines, i, out)
            continue
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
