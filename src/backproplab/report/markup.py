"""The report's markup: Markdown by markdown-it-py, and the TeX subset lessons write, as HTML.

Markdown is CommonMark (markdown-it-py, with pipe tables and the dollar-math plugin of
mdit-py-plugins); raw HTML is escaped. TeX is rendered here, by a small recursive-descent renderer,
because the page has no script and must work offline: KaTeX and MathJax need JavaScript and web
fonts, and Matplotlib's mathtext would turn every formula into an image (not selectable, not scaled
with the text, and a backprop trace has ~200 of them). Formulas become Unicode with
``<sub>``/``<sup>`` and CSS fractions, identical everywhere.
"""

from __future__ import annotations

import functools
import re
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

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
# Markdown: CommonMark (markdown-it-py) with pipe tables and $…$ / $$…$$ math, raw HTML escaped


def _math_inline(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    return f'<span class="math">{tex_to_html(tokens[idx].content)}</span>'


def _math_block(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    return f'<div class="math display">{tex_to_html(tokens[idx].content)}</div>\n'


def _heading(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    tokens[idx].tag = f"h{min(6, int(tokens[idx].tag[1]) + 2)}"  # below the lesson's h2
    return self.renderToken(tokens, idx, options, env)


@functools.lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")  # html off: raw HTML is shown as text
    md.use(dollarmath_plugin, allow_labels=False, allow_space=False, allow_digits=False, double_inline=False)
    md.add_render_rule("math_inline", _math_inline)
    md.add_render_rule("math_block", _math_block)
    md.add_render_rule("heading_open", _heading)
    md.add_render_rule("heading_close", _heading)
    md.add_render_rule("table_open", lambda self, tokens, idx, options, env: '<div class="table-wrap"><table>\n')
    md.add_render_rule("table_close", lambda self, tokens, idx, options, env: "</table></div>\n")
    return md


def markdown_to_html(text: str) -> str:
    """Render Markdown safely: CommonMark plus pipe tables and TeX between ``$`` (inline) or ``$$`` (display).

    Raw HTML is escaped and only http(s), mailto and relative links survive (markdown-it-py's
    ``validateLink``); headings move two levels down so ``#`` sits below a lesson's title; a ``$``
    followed by a digit ("costs $5") is a dollar sign, not math.
    """
    return _renderer().render(str(text)).strip()
