"""How the trace writes its quantities: unit numbering (global or per layer), numbers substituted
into formulas, and each line of the trace as plain text and as LaTeX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backproplab.errors import InputError
from backproplab.tracer.network import Network, excerpt

NOTATIONS = ("global", "layer")


_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
_SUB = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


def _sup(layer: int) -> str:
    return f"({layer})".translate(_SUP)


def _sub(*idx: int) -> str:
    sep = "," if any(i >= 10 for i in idx) else ""
    return sep.join(str(i) for i in idx).translate(_SUB)


def _tex_idx(*idx: int) -> str:
    sep = "," if any(i >= 10 for i in idx) else ""
    return "{" + sep.join(str(i) for i in idx) + "}"


def _num(v: float) -> str:
    """A number for substitution: 6 significant digits, negatives in parentheses."""
    text = f"{v + 0.0:.6g}"
    return f"({text.replace('-', '−')})" if v < 0 else text


def _bare(v: float) -> str:
    """A number as a function's argument: no parentheses needed."""
    return _num(v).strip("()")


def _tnum(v: float) -> str:
    text = f"{v + 0.0:.6g}"
    if "e" in text:
        mant, exp = text.split("e")
        text = rf"{mant} \times 10^{{{int(exp)}}}"
    return f"({text})" if v < 0 else text


Sym = tuple[str, str]  # (plain text, LaTeX)


class Notation:
    """How the trace names units, weights and targets: ``"global"`` (default) or ``"layer"``.

    ``"global"`` numbers units through the whole network, as the JKU course does: the inputs are
    units 1..n₀, then the units of each layer in order, the outputs last; ``w_ij`` is the weight
    from unit j into unit i, and s_i, a_i, δ_i, b_i, y_i carry unit i's number. For a 2-3-1
    network: s₃ = w₃₁x₁ + w₃₂x₂ + b₃ and ∂L/∂w₃₂ = δ₃·x₂.
    ``"layer"`` numbers units within their layer, the layer in a superscript: ``w⁽ˡ⁾_jk`` is the
    weight from unit k of layer l−1 into unit j of layer l, and the outputs are ŷ_j.

    Layers are 1..L (0 is the input), units 1-based within their layer.
    """

    def __init__(self, kind: str, sizes: list[int] | tuple[int, ...]) -> None:
        if kind not in NOTATIONS:
            raise InputError(f"notation: expected one of {', '.join(NOTATIONS)}, got {excerpt(kind)}")
        self.kind, self.sizes = kind, tuple(int(n) for n in sizes)
        self.offsets = tuple(sum(self.sizes[:layer]) for layer in range(len(self.sizes)))
        self.depth = len(self.sizes) - 1

    def unit(self, layer: int, j: int) -> int:
        """The number a unit is called by: global, or ``j`` within its layer."""
        return self.offsets[layer] + j if self.kind == "global" else j

    def _name(self, base: str, tex: str, layer: int, *idx: int) -> Sym:
        if self.kind == "global":
            return f"{base}{_sub(*idx)}", rf"{tex}_{_tex_idx(*idx)}"
        return f"{base}{_sup(layer)}{_sub(*idx)}", rf"{tex}^{{({layer})}}_{_tex_idx(*idx)}"

    def s(self, layer: int, j: int) -> Sym:
        return self._name("s", "s", layer, self.unit(layer, j))

    def b(self, layer: int, j: int) -> Sym:
        return self._name("b", "b", layer, self.unit(layer, j))

    def delta(self, layer: int, j: int) -> Sym:
        return self._name("δ", r"\delta", layer, self.unit(layer, j))

    def w(self, layer: int, j: int, k: int) -> Sym:
        """The weight into unit j of ``layer`` from unit k of the layer below."""
        return self._name("w", "w", layer, self.unit(layer, j), self.unit(layer - 1, k))

    def a(self, layer: int, j: int) -> Sym:
        if layer == 0:
            return f"x{_sub(j)}", rf"x_{_tex_idx(j)}"
        if layer == self.depth and self.kind == "layer":
            return f"ŷ{_sub(j)}", rf"\hat y_{_tex_idx(j)}"
        return self._name("a", "a", layer, self.unit(layer, j))

    def y(self, j: int) -> Sym:
        """The target of output j."""
        i = self.unit(self.depth, j)
        return f"y{_sub(i)}", rf"y_{_tex_idx(i)}"

    def grad_w(self, layer: int, j: int, k: int) -> Sym:
        text, tex = self.w(layer, j, k)
        return f"∂L/∂{text}", rf"\frac{{\partial L}}{{\partial {tex}}}"

    def grad_b(self, layer: int, j: int) -> Sym:
        text, tex = self.b(layer, j)
        return f"∂L/∂{text}", rf"\frac{{\partial L}}{{\partial {tex}}}"

    def describe(self) -> str:
        """One line saying how units are numbered."""
        if self.kind == "layer":
            return ("units numbered within each layer: w⁽ˡ⁾_jk is the weight from unit k of layer l−1 "
                    "into unit j of layer l")
        names = ["input"] + ["hidden"] * (self.depth - 1) + ["output"]
        parts = []
        for layer, name in enumerate(names):
            lo, hi = self.offsets[layer] + 1, self.offsets[layer] + self.sizes[layer]
            parts.append(f"{name} {lo}" if lo == hi else f"{name} {lo}–{hi}")
        return "units " + ", ".join(parts) + "; w_ij is the weight from unit j into unit i"


@dataclass
class Step:
    """One line of the trace: symbol = formula = numbers substituted = value (text and LaTeX).

    ``index`` is (layer, unit) or (layer, unit, input), 1-based within the layer whatever the notation.
    """

    kind: str  # "s", "a", "loss", "delta", "dw", "db"
    symbol: str
    formula: str
    substituted: str
    value: float
    tex_symbol: str
    tex_formula: str
    tex_substituted: str
    torch: float = math.nan
    index: tuple[int, ...] = ()
    note: str = ""  # why the line is written as it is, when that is not the usual form (plain text)

    def text(self) -> str:
        parts = [self.symbol, self.formula, self.substituted, f"{self.value:.6g}"]
        out = []
        for part in parts:  # skip repeats (an identity activation has nothing to substitute)
            if part and (not out or part != out[-1]):
                out.append(part)
        return " = ".join(out).replace("-", "−").replace("−>", "->")

    def tex(self) -> str:
        parts = [self.tex_symbol, self.tex_formula, self.tex_substituted, _tnum(self.value).strip("()")
                 if self.value >= 0 else _tnum(self.value)[1:-1]]
        out = []
        for part in parts:
            if part and (not out or part != out[-1]):
                out.append(part)
        return " = ".join(out)


def _act_strings(name: str, nt: Notation, layer: int, j: int, s: np.ndarray) -> tuple[str, str, str, str]:
    """(text formula, text substituted, tex formula, tex substituted) of a = f(s) for unit j."""
    S, TS = nt.s(layer, j)
    v = float(s[j - 1])
    if name == "identity":  # a = s: nothing to substitute, the value follows (a₉ = s₉ = −0.295347)
        return S, "", TS, ""
    if name == "relu":
        return f"max(0, {S})", f"max(0, {_bare(v)})", rf"\max(0, {TS})", rf"\max(0, {_tnum(v).strip('()')})"
    if name == "sigmoid":
        return (f"1/(1 + e^(−{S}))", f"1/(1 + e^(−{_num(v)}))", rf"\frac{{1}}{{1 + e^{{-{TS}}}}}",
                rf"\frac{{1}}{{1 + e^{{-{_tnum(v)}}}}}")
    if name == "tanh":
        return f"tanh({S})", f"tanh({_bare(v)})", rf"\tanh({TS})", rf"\tanh({_tnum(v).strip('()')})"
    if name == "softmax":
        syms = [nt.s(layer, k + 1) for k in range(len(s))]
        return (f"e^{S}/(" + " + ".join(f"e^{t}" for t, _ in syms) + ")",
                f"e^{_num(v)}/(" + " + ".join(f"e^{_num(x)}" for x in s) + ")",
                rf"\frac{{e^{{{TS}}}}}{{" + " + ".join(f"e^{{{t}}}" for _, t in syms) + "}",
                rf"\frac{{e^{{{_tnum(v)}}}}}{{" + " + ".join(f"e^{{{_tnum(x)}}}" for x in s) + "}")
    if name == "leaky_relu":
        branch = _num(v) if v > 0 else f"0.01·{_num(v)}"
        tbranch = _tnum(v) if v > 0 else rf"0.01 \cdot {_tnum(v)}"
        return (f"leaky_relu({S})", branch, rf"\mathrm{{leaky}}({TS})", tbranch)
    branch = _num(v) if v > 0 else f"e^{_num(v)} − 1"
    tbranch = _tnum(v) if v > 0 else rf"e^{{{_tnum(v)}}} - 1"
    return f"elu({S})", branch, rf"\mathrm{{elu}}({TS})", tbranch


def _deriv_strings(name: str, s: float, a: float) -> tuple[str, str]:
    """(text, tex) of f'(s) with numbers substituted."""
    if name == "identity":
        return "1", "1"
    if name == "relu":
        v = "1" if s > 0 else "0"
        return v, v
    if name == "leaky_relu":
        v = "1" if s > 0 else "0.01"
        return v, v
    if name == "elu":
        return ("1", "1") if s > 0 else (f"e^{_num(s)}", rf"e^{{{_tnum(s)}}}")
    if name == "sigmoid":
        return f"{_num(a)}·(1 − {_num(a)})", rf"{_tnum(a)}\,(1 - {_tnum(a)})"
    return f"(1 − {_num(a)}²)", rf"(1 - {_tnum(a)}^2)"


def _deriv_symbol(nt: Notation, name: str, layer: int, j: int) -> Sym:
    S, TS = nt.s(layer, j)
    A, TA = nt.a(layer, j)
    return {
        "identity": ("1", "1"),
        "relu": (f"[{S} > 0]", rf"[{TS} > 0]"),
        "leaky_relu": (f"leaky′({S})", rf"\mathrm{{leaky}}'({TS})"),
        "elu": (f"elu′({S})", rf"\mathrm{{elu}}'({TS})"),
        "sigmoid": (f"{A}(1 − {A})", rf"{TA}(1 - {TA})"),
        "tanh": (f"(1 − {A}²)", rf"(1 - {{{TA}}}^2)"),
    }[name]


def bce_from_logits_form(yhat: np.ndarray) -> bool:
    """Whether a bce trace writes its loss from s, log(1 + e^s) − y·s, and δ whole as ŷ − y: when
    some output ŷ prints as 0 or 1 (6 digits), where the usual −[y log ŷ + (1 − y) log(1 − ŷ)] would
    show a log 0 (or a log 1 that is not 0). The values are computed from s either way
    (:func:`backproplab.tracer.trace.loss_value`); only the written form changes."""
    return any(_num(float(v)) in ("0", "1") for v in yhat)


def _bce_logits_note(nt: Notation, yhat: np.ndarray) -> str:
    """The loss line's note when :func:`bce_from_logits_form`: why the form differs, and the identity."""
    rounded = [f"{nt.a(nt.depth, j)[0]} = σ({nt.s(nt.depth, j)[0]}) rounds to {_num(float(v))}"
               for j, v in enumerate(yhat, start=1) if _num(float(v)) in ("0", "1")]
    mean = f", divided by {len(yhat)} for the mean over the outputs" if len(yhat) > 1 else ""
    return (f"({', '.join(rounded)}: the usual −[y·log a + (1 − y)·log(1 − a)] with these numbers takes "
            "a log of 0, which torch's BCELoss clamps at −100. With a = σ(s) the same loss is "
            f"log(1 + e^s) − y·s, exact for any s, and δ = ∂L/∂s = σ(s) − y{mean}: torch's BCEWithLogitsLoss.)")


def _loss_terms(net: Network, nt: Notation, s_out: np.ndarray,
                yhat: np.ndarray) -> tuple[list[Sym], list[Sym], list[tuple]]:
    """Per output j: the loss term (text, tex), substituted (text, tex), and ∂L/∂ŷ_j's four strings
    (δ_j's, when the output delta is written whole: cross-entropy, bce from s)."""
    n = len(net.y)
    terms, subs, dparts = [], [], []
    logits = net.loss == "bce" and bce_from_logits_form(yhat)
    for j in range(1, n + 1):
        (Y, TY), (P, TP) = nt.y(j), nt.a(nt.depth, j)
        yv, pv, tyv, tpv = _num(net.y[j - 1]), _num(yhat[j - 1]), _tnum(net.y[j - 1]), _tnum(yhat[j - 1])
        if logits:
            term, sub = _bce_logits_term(nt, j, float(net.y[j - 1]), float(s_out[j - 1]))
            terms.append(term if n == 1 else (f"({term[0]})", rf"\left({term[1]}\right)"))
            subs.append(sub if n == 1 else (f"({sub[0]})", rf"\left({sub[1]}\right)"))
            o, c, scale, tscale = ("(", ")", f"1/{n}·", rf"\tfrac{{1}}{{{n}}}") if n > 1 else ("", "", "", "")
            dparts.append((f"{scale}{o}{P} − {Y}{c}", f"{scale}{o}{pv} − {yv}{c}", rf"{tscale}{o}{TP} - {TY}{c}",
                           rf"{tscale}{o}{tpv} - {tyv}{c}"))
        elif net.loss == "bce":
            terms.append((f"{Y}·log {P} + (1 − {Y})·log(1 − {P})", rf"{TY}\log {TP} + (1 - {TY})\log(1 - {TP})"))
            subs.append((f"{yv}·log {pv} + (1 − {yv})·log(1 − {pv})", rf"{tyv}\log {tpv} + (1 - {tyv})\log(1 - {tpv})"))
            scale, tscale = (f"1/{n}·", rf"\tfrac{{1}}{{{n}}}") if n > 1 else ("", "")
            dparts.append((f"{scale}({P} − {Y})/({P}(1 − {P}))", f"{scale}({pv} − {yv})/({pv}·(1 − {pv}))",
                           rf"{tscale}\frac{{{TP} - {TY}}}{{{TP}(1 - {TP})}}",
                           rf"{tscale}\frac{{{tpv} - {tyv}}}{{{tpv}(1 - {tpv})}}"))
        elif net.loss == "cross_entropy":
            terms.append((f"{Y}·log {P}", rf"{TY}\log {TP}"))
            subs.append((f"{yv}·log {pv}", rf"{tyv}\log {tpv}"))
            dparts.append((f"{P} − {Y}", f"{pv} − {yv}", f"{TP} - {TY}", f"{tpv} - {tyv}"))
        else:
            terms.append((f"({Y} − {P})²", rf"({TY} - {TP})^2"))
            subs.append((f"({yv} − {pv})²", rf"({tyv} - {tpv})^2"))
            factor = {"half_squared_error": ("", ""), "squared_error": ("2·", "2"),
                      "mse": (f"2/{n}·", rf"\tfrac{{2}}{{{n}}}")}[net.loss]
            dparts.append((f"{factor[0]}({P} − {Y})", f"{factor[0]}({pv} − {yv})",
                           rf"{factor[1]}({TP} - {TY})", rf"{factor[1]}({tpv} - {tyv})"))
    return terms, subs, dparts


def _bce_logits_term(nt: Notation, j: int, y: float, s: float) -> tuple[Sym, Sym]:
    """Output j's bce term from its pre-activation, log(1 + e^s) − y·s: (text, tex) written and
    with the numbers substituted."""
    (Y, TY), (S, TS) = nt.y(j), nt.s(nt.depth, j)
    return ((f"log(1 + e^{S}) − {Y}·{S}", rf"\log(1 + e^{{{TS}}}) - {TY} {TS}"),
            (f"log(1 + e^{_num(s)}) − {_num(y)}·{_num(s)}",
             rf"\log(1 + e^{{{_tnum(s)}}}) - {_tnum(y)} \cdot {_tnum(s)}"))


def _loss_step(net: Network, nt: Notation, loss: float, s_out: np.ndarray,
               yhat: np.ndarray) -> tuple[Step, list[tuple]]:
    """The loss as a Step, and per output the strings of ∂L/∂ŷ_j (of δ_j for cross-entropy, and for
    bce written from s: :func:`bce_from_logits_form`, which also adds a note saying why)."""
    n = len(net.y)
    terms, subs, dparts = _loss_terms(net, nt, s_out, yhat)
    logits = net.loss == "bce" and bce_from_logits_form(yhat)
    if logits:
        pre, tpre = ("", "") if n == 1 else (f"1/{n}·", rf"\tfrac{{1}}{{{n}}}")
        o, c, to, tc = ("", "", "", "") if n == 1 else ("[", "]", r"\left[", r"\right]")
    elif net.loss == "bce":
        pre, tpre = ("−", "-") if n == 1 else (f"−1/{n}·", rf"-\tfrac{{1}}{{{n}}}")
        o, c, to, tc = "[", "]", r"\left[", r"\right]"
    else:
        pre, tpre = {"cross_entropy": ("−", "-"), "half_squared_error": ("½", r"\tfrac{1}{2}"),
                     "squared_error": ("", ""), "mse": (f"1/{n}·", rf"\tfrac{{1}}{{{n}}}")}[net.loss]
        o, c, to, tc = ("(", ")", r"\left(", r"\right)") if pre and n > 1 else ("", "", "", "")
    formula = pre + o + " + ".join(t for t, _ in terms) + c
    subst = pre + o + " + ".join(t for t, _ in subs) + c
    tex_formula = tpre + to + " + ".join(t for _, t in terms) + tc
    tex_subst = tpre + to + " + ".join(t for _, t in subs) + tc
    note = _bce_logits_note(nt, yhat) if logits else ""
    return Step("loss", "L", formula, subst, loss, "L", tex_formula, tex_subst, note=note), dparts
