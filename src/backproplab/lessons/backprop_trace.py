"""Backpropagation traced by hand: every s, a, δ and ∂L/∂w with its formula and its numbers.

A small fully connected network is described in a YAML or JSON file (read with
``yaml.safe_load`` / ``json.loads`` only)::

    name: course
    input: [2.0, -1.0]            # x, the activations a(0) of layer 0
    target: [1.0]                 # y
    loss: half_squared_error      # half_squared_error | squared_error | mse | bce
    layers:                       # layer l maps a(l-1) to a(l) = f(W a(l-1) + b)
      - activation: relu          # identity | relu | leaky_relu | elu | sigmoid | tanh
        weights: [[0.5, -0.4], [-0.3, 0.8], [0.2, 0.6]]   # [units, inputs]: w_jk from k to j
        biases: [0.1, -0.2, 0.5]
      - activation: identity
        weights: [[0.7, -0.5, 1.2]]
        biases: [-0.2]
    ask:                          # optional: the gradients a question asks for (1-based)
      - {layer: 1, to: 3, from: 2, expected: -0.252}   # dL/dw(1)_32
      - {layer: 2, to: 1, bias: true}                  # dL/db(2)_1

The lesson computes, unit by unit and in the order a student would,

* forward: ``s(l)_j = Σ_k w(l)_jk a(l-1)_k + b(l)_j`` and ``a(l)_j = f(s(l)_j)``, then the loss;
* backward: ``δ(L)_j = ∂L/∂ŷ_j · f'(s(L)_j)`` at the output,
  ``δ(l)_k = f'(s(l)_k) Σ_j w(l+1)_jk δ(l+1)_j`` below it,
  ``∂L/∂w(l)_jk = δ(l)_j a(l-1)_k`` and ``∂L/∂b(l)_j = δ(l)_j``;

prints each with the numbers substituted, checks every one against torch autograd (pre-activations
and activations against the torch forward pass, deltas against ``s.grad``) and the weight
gradients against central finite differences, and writes the same trace as Markdown with LaTeX.
With no file it traces the bundled course example and checks every bundled example.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import reprlib
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.errors import InputError
from backproplab.lessons.result import Claim, LessonResult
from backproplab.scratch import functional as F

NAME = "backprop"
TITLE = "Backpropagation traced by hand and checked against autograd"
ORDER = 20

ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh")
LOSSES = ("half_squared_error", "squared_error", "mse", "bce")
MAX_LAYERS = 8
MAX_UNITS = 32
MAX_FILE_BYTES = 256 * 1024  # the largest network (8 layers of 32 x 32) is about 100 KB of text
MAX_NESTING = 16  # a network file nests 5 levels (top, layers, layer, weights, row)
MAX_NAME_CHARS = 1000  # shown shortened in figures; file names use slug(name)
DEFAULT_EXAMPLE = "course"

_TOP_KEYS = {"name", "description", "input", "target", "loss", "layers", "ask"}
_LAYER_KEYS = {"activation", "weights", "biases", "units", "name"}
_ASK_KEYS = {"layer", "to", "from", "bias", "expected", "tolerance"}


# --------------------------------------------------------------------------- the network


@dataclass
class Layer:
    """One dense layer: ``a = f(W a_prev + b)``; W has shape [units, inputs], b shape [units]."""

    weights: np.ndarray
    biases: np.ndarray
    activation: str


@dataclass
class Ask:
    """A gradient a question asks for: ∂L/∂w(layer)_{to,from} or ∂L/∂b(layer)_{to} (1-based)."""

    layer: int
    to: int
    source: int | None  # None: the bias
    expected: float | None = None
    tolerance: float = 1e-6

    @property
    def symbol(self) -> str:
        return (f"∂L/∂b{_sup(self.layer)}{_sub(self.to)}" if self.source is None
                else f"∂L/∂w{_sup(self.layer)}{_sub(self.to, self.source)}")


@dataclass
class Network:
    """A validated network description: input x [n0], target y [nL], loss name, layers, asks."""

    name: str
    x: np.ndarray
    y: np.ndarray
    loss: str
    layers: list[Layer]
    asks: list[Ask] = field(default_factory=list)
    description: str = ""
    source: str = ""


def _where(source: str) -> str:
    return f"network {source}: " if source else "network: "


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 2, 6, 6, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40


def _excerpt(value: Any, limit: int = 80) -> str:
    """A bounded repr for error messages: never expands a large or deeply nested value."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a repr that fails must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def slug(name: str, limit: int = 40, fallback: str = "network") -> str:
    """A file-name-safe form of a network's name: [a-z0-9_-] only, at most ``limit`` characters.

    A network's name is the user's text; file names are made from this slug only, never from the
    name itself (``"a/../../victim"`` becomes ``"a-victim"``).
    """
    text = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:limit].strip("-_")
    return text or fallback


def _text(value: Any, key: str, source: str, newlines: bool) -> str:
    """A text field (name, description): a string without control characters."""
    if not isinstance(value, str):
        raise InputError(f"{_where(source)}{key}: expected text, got {_excerpt(value)}")
    allowed = "\n\t" if newlines else ""
    for i, char in enumerate(value):
        if unicodedata.category(char) == "Cc" and char not in allowed:
            raise InputError(f"{_where(source)}{key}: control character {char!r} at position {i} is not "
                             "allowed; remove it")
    return value


def _number(value: Any, where: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = ""
        if isinstance(value, str):
            try:
                float(value)
                hint = " (YAML reads numbers like 1e-3 as text; write 1.0e-3)"
            except ValueError:
                pass
        raise InputError(f"{_where(source)}{where}: expected a number, got {_excerpt(value)}{hint}")
    try:
        number = float(value)
    except OverflowError:
        raise InputError(f"{_where(source)}{where}: expected a number that fits a float (|x| < 1.8e308), "
                         f"got an integer of {len(str(abs(value)))} digits") from None
    if not math.isfinite(number):
        raise InputError(f"{_where(source)}{where}: expected a finite number, got {number!r}")
    return number


def _vector(value: Any, where: str, source: str, length: int | None = None) -> np.ndarray:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and length in (None, 1):
        value = [value]
    if not isinstance(value, list) or not value:
        raise InputError(f"{_where(source)}{where}: expected a non-empty list of numbers, got {_excerpt(value)}")
    if len(value) > MAX_UNITS:
        raise InputError(f"{_where(source)}{where}: at most {MAX_UNITS} numbers (the tracer prints each), "
                         f"got {len(value)}")
    if length is not None and len(value) != length:
        raise InputError(f"{_where(source)}{where}: expected {length} numbers, got {len(value)}")
    return np.array([_number(v, f"{where}[{i}]", source) for i, v in enumerate(value)])


def _integer(value: Any, where: str, source: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"{_where(source)}{where}: expected an integer from {lo} to {hi}, got {_excerpt(value)}")
    return value


def _unknown(keys: Any, allowed: set[str], where: str, source: str) -> None:
    extra = sorted(k[:30] if isinstance(k, str) else _excerpt(k, 30) for k in keys if k not in allowed)
    if extra:
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise InputError(f"{_where(source)}{where}: unknown key(s) {', '.join(extra[:5])}{more}; "
                         f"expected some of {', '.join(sorted(allowed))}")


def network_from_dict(data: Any, source: str = "") -> Network:
    """Validate a parsed network description (see the module docstring) into a :class:`Network`.

    Raises
    ------
    InputError
        naming the field (``layers[1].weights[0]`` …), what was expected and what was given.
    """
    if not isinstance(data, dict):
        raise InputError(f"{_where(source)}expected a mapping with keys input, target, loss, layers, "
                         f"got {type(data).__name__}")
    _unknown(data, _TOP_KEYS, "top level", source)
    for key in ("input", "target", "layers"):
        if key not in data:
            raise InputError(f"{_where(source)}missing required key {key!r}")
    name = _text(data.get("name", Path(source).stem if source else "network"), "name", source, newlines=False)
    if not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InputError(f"{_where(source)}name: expected 1 to {MAX_NAME_CHARS} characters, got {len(name)}")
    description = _text(data.get("description", ""), "description", source, newlines=True)
    loss = data.get("loss", "half_squared_error")
    if loss not in LOSSES:
        raise InputError(f"{_where(source)}loss: expected one of {', '.join(LOSSES)}, got {_excerpt(loss)}")
    x = _vector(data["input"], "input", source)
    raw_layers = data["layers"]
    if not isinstance(raw_layers, list) or not raw_layers:
        raise InputError(f"{_where(source)}layers: expected a non-empty list of layers, got {_excerpt(raw_layers)}")
    if len(raw_layers) > MAX_LAYERS:
        raise InputError(f"{_where(source)}layers: at most {MAX_LAYERS} layers, got {len(raw_layers)}")
    layers = []
    fan_in = len(x)
    for i, raw in enumerate(raw_layers):
        where = f"layers[{i}]"
        if not isinstance(raw, dict):
            raise InputError(f"{_where(source)}{where}: expected a mapping with weights, biases, "
                             f"activation, got {_excerpt(raw)}")
        _unknown(raw, _LAYER_KEYS, where, source)
        for key in ("weights", "biases", "activation"):
            if key not in raw:
                raise InputError(f"{_where(source)}{where}: missing required key {key!r}")
        act = raw["activation"]
        if act not in ACTIVATIONS:
            raise InputError(f"{_where(source)}{where}.activation: expected one of {', '.join(ACTIVATIONS)}, "
                             f"got {_excerpt(act)}")
        rows = raw["weights"]
        if not isinstance(rows, list) or not rows:
            raise InputError(f"{_where(source)}{where}.weights: expected a list of rows (one per unit), "
                             f"got {_excerpt(rows)}")
        if len(rows) > MAX_UNITS:
            raise InputError(f"{_where(source)}{where}.weights: at most {MAX_UNITS} units, got {len(rows)}")
        if "units" in raw:
            units = _integer(raw["units"], f"{where}.units", source, 1, MAX_UNITS)
            if units != len(rows):
                raise InputError(f"{_where(source)}{where}: units is {units} but weights has {len(rows)} rows")
        W = np.stack([_vector(r, f"{where}.weights[{j}]", source, length=fan_in)
                      if isinstance(r, list) else _vector(r, f"{where}.weights[{j}]", source)
                      for j, r in enumerate(rows)])
        if W.shape[1] != fan_in:
            raise InputError(f"{_where(source)}{where}.weights: expected rows of {fan_in} numbers "
                             f"(one per unit of the layer below), got {W.shape[1]}")
        b = _vector(raw["biases"], f"{where}.biases", source, length=len(rows))
        layers.append(Layer(W, b, act))
        fan_in = len(rows)
    y = _vector(data["target"], "target", source, length=fan_in)
    if loss == "bce":
        if layers[-1].activation != "sigmoid":
            raise InputError(f"{_where(source)}loss bce needs a sigmoid output layer (probabilities), "
                             f"got activation {layers[-1].activation!r} in layers[{len(layers) - 1}]")
        if np.any((y < 0) | (y > 1)):
            raise InputError(f"{_where(source)}target: bce needs targets in [0, 1], got {y.tolist()}")
    asks = []
    raw_asks = data.get("ask", [])
    if isinstance(raw_asks, dict):
        raw_asks = [raw_asks]
    if not isinstance(raw_asks, list):
        raise InputError(f"{_where(source)}ask: expected a mapping or a list of mappings, got {_excerpt(raw_asks)}")
    for i, raw in enumerate(raw_asks):
        where = f"ask[{i}]"
        if not isinstance(raw, dict):
            raise InputError(f"{_where(source)}{where}: expected a mapping like "
                             f"{{to: 3, from: 2}}, got {_excerpt(raw)}")
        _unknown(raw, _ASK_KEYS, where, source)
        if "layer" not in raw or "to" not in raw:
            raise InputError(f"{_where(source)}{where}: needs layer and to (and from, or bias: true)")
        layer = _integer(raw["layer"], f"{where}.layer", source, 1, len(layers))
        W = layers[layer - 1].weights
        to = _integer(raw["to"], f"{where}.to", source, 1, W.shape[0])
        is_bias = raw.get("bias", False)
        if not isinstance(is_bias, bool):
            raise InputError(f"{_where(source)}{where}.bias: expected true or false, got {_excerpt(is_bias)}")
        if is_bias == ("from" in raw):
            raise InputError(f"{_where(source)}{where}: give either from (a weight) or bias: true, "
                             "not both or neither")
        src = None if is_bias else _integer(raw["from"], f"{where}.from", source, 1, W.shape[1])
        expected = raw.get("expected")
        expected = None if expected is None else _number(expected, f"{where}.expected", source)
        tol = _number(raw.get("tolerance", 1e-6), f"{where}.tolerance", source)
        if tol <= 0:
            raise InputError(f"{_where(source)}{where}.tolerance: expected a positive number, got {tol!r}")
        asks.append(Ask(layer, to, src, expected, tol))
    return Network(name, x, y, loss, layers, asks, description, source)


def _check_yaml_events(text: str, loader: type) -> None:
    """Refuse anchors/aliases and deep nesting from the event stream, before anything is built.

    Aliases let 400 bytes stand for a structure of billions of nodes (``&a [*a, *a, …]`` nested
    nine times); a network file never needs them. Nesting is counted without recursion.
    """
    import yaml
    from yaml.composer import ComposerError

    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, "YAML anchors and aliases (&name, *name) are not supported; "
                                "write the values out", event.start_mark)
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise ComposerError(None, None, f"nested more than {MAX_NESTING} levels deep "
                                    "(a network file needs 5)", event.start_mark)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _nesting(data: Any) -> int:
    """How deeply lists and mappings nest in ``data`` (0 for a scalar), counted without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _parse(text: str, path: Path) -> Any:
    """JSON (``json.loads``) or YAML (safe loader, no aliases) text -> plain Python values."""
    import yaml

    where = f"network file {str(path)!r}"
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
            if _nesting(data) > MAX_NESTING:
                raise RecursionError
            return data
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _check_yaml_events(text, loader)
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except json.JSONDecodeError as err:
        raise InputError(f"{where} is not valid JSON: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise InputError(f"{where} is not valid YAML{at}: {problem}") from None
    except RecursionError:
        raise InputError(f"{where} is nested too deeply (a network file needs 5 levels, "
                         f"at most {MAX_NESTING} are read)") from None
    except (ValueError, OverflowError) as err:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{where}: a value could not be read: {_excerpt(str(err), 120)}") from None


def load_network(path: str | Path) -> Network:
    """Read and validate a network file: ``.json`` with ``json.loads``, anything else with a YAML safe
    loader that refuses anchors and aliases; at most ``MAX_FILE_BYTES`` bytes."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"network file {str(path)!r} does not exist or is not a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(f"network file {str(path)!r} is {size} bytes; at most {MAX_FILE_BYTES} are read")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"network file {str(path)!r} is not UTF-8 text: {err}") from None
    return network_from_dict(_parse(text, path), source=path.name)


def examples() -> dict[str, Path]:
    """Bundled example networks: name -> path (``backproplab/lessons/examples/*.yaml|json``)."""
    folder = resources.files("backproplab.lessons") / "examples"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith((".yaml", ".yml", ".json")):
            found[entry.name.rsplit(".", 1)[0]] = Path(str(entry))
    return dict(sorted(found.items()))


def load_example(name: str) -> Network:
    """The bundled example called ``name`` (see :func:`examples`)."""
    known = examples()
    if name not in known:
        raise InputError(f"example must be one of {', '.join(known)}, got {name!r}")
    return load_network(known[name])


# --------------------------------------------------------------------------- notation


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


@dataclass
class Step:
    """One line of the trace: symbol = formula = numbers substituted = value (text and LaTeX)."""

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


_ACT_TEXT = {"identity": "f(s) = s", "relu": "max(0, s)", "leaky_relu": "s if s > 0 else 0.01·s",
             "elu": "s if s > 0 else e^s − 1", "sigmoid": "σ(s) = 1/(1 + e^(−s))", "tanh": "tanh(s)"}
_DERIV_TEXT = {"identity": "1", "relu": "[s > 0]", "leaky_relu": "(1 if s > 0 else 0.01)",
               "elu": "(1 if s > 0 else e^s)", "sigmoid": "a(1 − a)", "tanh": "(1 − a²)"}


def _activate(name: str, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, f'(s)) by backproplab.scratch.functional."""
    f, fprime = F.get_activation(name)
    return np.asarray(f(s), dtype=np.float64), np.asarray(fprime(s), dtype=np.float64)


def _act_strings(name: str, layer: int, j: int, s: float, a: float) -> tuple[str, str, str, str]:
    """(text formula, text substituted, tex formula, tex substituted) of a = f(s)."""
    S = f"s{_sup(layer)}{_sub(j)}"
    TS = rf"s^{{({layer})}}_{_tex_idx(j)}"
    if name == "identity":
        return S, _num(s), TS, _tnum(s)
    if name == "relu":
        return f"max(0, {S})", f"max(0, {_bare(s)})", rf"\max(0, {TS})", rf"\max(0, {_tnum(s).strip('()')})"
    if name == "sigmoid":
        return (f"1/(1 + e^(−{S}))", f"1/(1 + e^(−{_num(s)}))", rf"\frac{{1}}{{1 + e^{{-{TS}}}}}",
                rf"\frac{{1}}{{1 + e^{{-{_tnum(s)}}}}}")
    if name == "tanh":
        return f"tanh({S})", f"tanh({_bare(s)})", rf"\tanh({TS})", rf"\tanh({_tnum(s).strip('()')})"
    if name == "leaky_relu":
        branch = _num(s) if s > 0 else f"0.01·{_num(s)}"
        tbranch = _tnum(s) if s > 0 else rf"0.01 \cdot {_tnum(s)}"
        return (f"leaky_relu({S})", branch, rf"\mathrm{{leaky}}({TS})", tbranch)
    branch = _num(s) if s > 0 else f"e^{_num(s)} − 1"
    tbranch = _tnum(s) if s > 0 else rf"e^{{{_tnum(s)}}} - 1"
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


def _deriv_symbol(net: Network, name: str, layer: int, j: int) -> tuple[str, str]:
    S = f"s{_sup(layer)}{_sub(j)}"
    TS = rf"s^{{({layer})}}_{_tex_idx(j)}"
    A, TA = _a_sym(net, layer, j)
    return {
        "identity": ("1", "1"),
        "relu": (f"[{S} > 0]", rf"[{TS} > 0]"),
        "leaky_relu": (f"leaky′({S})", rf"\mathrm{{leaky}}'({TS})"),
        "elu": (f"elu′({S})", rf"\mathrm{{elu}}'({TS})"),
        "sigmoid": (f"{A}(1 − {A})", rf"{TA}(1 - {TA})"),
        "tanh": (f"(1 − {A}²)", rf"(1 - {{{TA}}}^2)"),
    }[name]


# --------------------------------------------------------------------------- the trace


@dataclass
class Trace:
    """Every quantity of one forward and backward pass, as arrays and as printable steps.

    Attributes
    ----------
    s, a, delta : lists over layers 1..L of arrays [units]
    grad_w, grad_b : lists over layers of arrays [units, inputs] and [units]
    loss : float
    steps : list of Step, in the order a student writes them
    """

    network: Network
    s: list[np.ndarray]
    a: list[np.ndarray]
    delta: list[np.ndarray]
    grad_w: list[np.ndarray]
    grad_b: list[np.ndarray]
    loss: float
    steps: list[Step]


def _a_sym(net: Network, layer: int, k: int) -> tuple[str, str]:
    """Symbol of the activation k of layer ``layer`` (layer 0 is the input x, layer L the output ŷ)."""
    if layer == 0:
        return f"x{_sub(k)}", rf"x_{_tex_idx(k)}"
    if layer == len(net.layers):
        return f"ŷ{_sub(k)}", rf"\hat y_{_tex_idx(k)}"
    return f"a{_sup(layer)}{_sub(k)}", rf"a^{{({layer})}}_{_tex_idx(k)}"


def _loss_parts(net: Network, yhat: np.ndarray) -> tuple[float, np.ndarray, Step, list[tuple[str, str, str, str]]]:
    """Loss value, ∂L/∂ŷ, its Step, and per output the (text formula, text subst, tex formula, tex subst)
    of ∂L/∂ŷ_j."""
    y = net.y
    n = len(y)
    terms_text, terms_tex, subs_text, subs_tex = [], [], [], []
    dparts = []
    for j in range(n):
        Y, TY = f"y{_sub(j + 1)}", rf"y_{_tex_idx(j + 1)}"
        P, TP = _a_sym(net, len(net.layers), j + 1)
        yv, pv = _num(y[j]), _num(yhat[j])
        tyv, tpv = _tnum(y[j]), _tnum(yhat[j])
        if net.loss == "bce":
            terms_text.append(f"{Y}·log {P} + (1 − {Y})·log(1 − {P})")
            terms_tex.append(rf"{TY}\log {TP} + (1 - {TY})\log(1 - {TP})")
            subs_text.append(f"{yv}·log {pv} + (1 − {yv})·log(1 − {pv})")
            subs_tex.append(rf"{tyv}\log {tpv} + (1 - {tyv})\log(1 - {tpv})")
            scale = f"1/{n}·" if n > 1 else ""
            tscale = rf"\tfrac{{1}}{{{n}}}" if n > 1 else ""
            dparts.append((f"{scale}({P} − {Y})/({P}(1 − {P}))", f"{scale}({pv} − {yv})/({pv}·(1 − {pv}))",
                           rf"{tscale}\frac{{{TP} - {TY}}}{{{TP}(1 - {TP})}}",
                           rf"{tscale}\frac{{{tpv} - {tyv}}}{{{tpv}(1 - {tpv})}}"))
        else:
            terms_text.append(f"({Y} − {P})²")
            terms_tex.append(rf"({TY} - {TP})^2")
            subs_text.append(f"({yv} − {pv})²")
            subs_tex.append(rf"({tyv} - {tpv})^2")
            factor = {"half_squared_error": ("", ""), "squared_error": ("2·", "2"),
                      "mse": (f"2/{n}·", rf"\tfrac{{2}}{{{n}}}")}[net.loss]
            dparts.append((f"{factor[0]}({P} − {Y})", f"{factor[0]}({pv} − {yv})",
                           rf"{factor[1]}({TP} - {TY})", rf"{factor[1]}({tpv} - {tyv})"))
    with np.errstate(all="ignore"):
        if net.loss == "bce":  # PyTorch's conventions: logs clamped at -100, denominator at 1e-12
            log_p = np.maximum(np.log(yhat), -100.0)
            log_q = np.maximum(np.log1p(-yhat), -100.0)
            loss = float(-np.mean(y * log_p + (1 - y) * log_q))
            dyhat = (yhat - y) / np.maximum(yhat * (1 - yhat), 1e-12) / n
        elif net.loss == "half_squared_error":
            loss, dyhat = float(0.5 * np.sum((y - yhat) ** 2)), yhat - y
        elif net.loss == "squared_error":
            loss, dyhat = float(np.sum((y - yhat) ** 2)), 2 * (yhat - y)
        else:
            loss, dyhat = float(np.mean((y - yhat) ** 2)), 2 * (yhat - y) / n
    if net.loss == "bce":
        pre, tpre = ("−" if n == 1 else f"−1/{n}·"), ("-" if n == 1 else rf"-\tfrac{{1}}{{{n}}}")
        formula = pre + "[" + " + ".join(terms_text) + "]"
        subst = pre + "[" + " + ".join(subs_text) + "]"
        tex_formula = tpre + r"\left[" + " + ".join(terms_tex) + r"\right]"
        tex_subst = tpre + r"\left[" + " + ".join(subs_tex) + r"\right]"
    else:
        pre, tpre = {"half_squared_error": ("½", r"\tfrac{1}{2}"), "squared_error": ("", ""),
                     "mse": (f"1/{n}·", rf"\tfrac{{1}}{{{n}}}")}[net.loss]
        formula = pre + ("(" if pre and n > 1 else "") + " + ".join(terms_text) + (")" if pre and n > 1 else "")
        subst = pre + ("(" if pre and n > 1 else "") + " + ".join(subs_text) + (")" if pre and n > 1 else "")
        tex_formula = tpre + (r"\left(" if n > 1 else "") + " + ".join(terms_tex) + (r"\right)" if n > 1 else "")
        tex_subst = tpre + (r"\left(" if n > 1 else "") + " + ".join(subs_tex) + (r"\right)" if n > 1 else "")
    step = Step("loss", "L", formula, subst, loss, "L", tex_formula, tex_subst)
    return loss, dyhat, step, dparts


def trace(net: Network) -> Trace:
    """Forward and backward pass of ``net``, unit by unit, with printable steps.

    Parameters
    ----------
    net : Network

    Returns
    -------
    Trace
        Overflowing or saturating numbers give inf/nan in the trace (and fail the torch checks)
        rather than a NumPy warning.
    """
    with np.errstate(all="ignore"):
        return _trace(net)


def _trace(net: Network) -> Trace:
    steps: list[Step] = []
    s_all, a_all = [], []
    a_prev = net.x
    L = len(net.layers)
    for li, layer in enumerate(net.layers, start=1):
        s = layer.weights @ a_prev + layer.biases
        with np.errstate(all="ignore"):
            a, _ = _activate(layer.activation, s)
        for j in range(len(s)):
            terms, tterms, subs, tsubs = [], [], [], []
            for k in range(len(a_prev)):
                A, TA = _a_sym(net, li - 1, k + 1)
                terms.append(f"w{_sup(li)}{_sub(j + 1, k + 1)}·{A}")
                tterms.append(rf"w^{{({li})}}_{_tex_idx(j + 1, k + 1)} {TA}")
                subs.append(f"{_num(layer.weights[j, k])}·{_num(a_prev[k])}")
                tsubs.append(rf"{_tnum(layer.weights[j, k])} \cdot {_tnum(a_prev[k])}")
            terms.append(f"b{_sup(li)}{_sub(j + 1)}")
            tterms.append(rf"b^{{({li})}}_{_tex_idx(j + 1)}")
            subs.append(_num(layer.biases[j]))
            tsubs.append(_tnum(layer.biases[j]))
            steps.append(Step("s", f"s{_sup(li)}{_sub(j + 1)}", " + ".join(terms), " + ".join(subs), float(s[j]),
                              rf"s^{{({li})}}_{_tex_idx(j + 1)}", " + ".join(tterms), " + ".join(tsubs),
                              index=(li, j + 1)))
            A, TA = _a_sym(net, li, j + 1)
            ft, fs, tft, tfs = _act_strings(layer.activation, li, j + 1, float(s[j]), float(a[j]))
            steps.append(Step("a", A, ft, fs, float(a[j]), TA, tft, tfs, index=(li, j + 1)))
        s_all.append(s)
        a_all.append(a)
        a_prev = a
    loss, dyhat, loss_step, dparts = _loss_parts(net, a_all[-1])
    steps.append(loss_step)

    delta: list[np.ndarray] = [np.zeros(0)] * L
    for li in range(L, 0, -1):
        layer = net.layers[li - 1]
        s, a = s_all[li - 1], a_all[li - 1]
        _, fprime = _activate(layer.activation, s)
        if li == L:
            upstream = dyhat
        else:
            upstream = net.layers[li].weights.T @ delta[li]
        delta[li - 1] = upstream * fprime + 0.0  # + 0.0 turns -0.0 into 0.0 for printing
        for j in range(len(s)):
            dsym, tdsym = _deriv_symbol(net, layer.activation, li, j + 1)
            dval, tdval = _deriv_strings(layer.activation, float(s[j]), float(a[j]))
            if li == L:
                up_f, up_s, tup_f, tup_s = dparts[j]
            else:
                nxt = net.layers[li]
                up_f = " + ".join(f"w{_sup(li + 1)}{_sub(m + 1, j + 1)}·δ{_sup(li + 1)}{_sub(m + 1)}"
                                  for m in range(nxt.weights.shape[0]))
                up_s = " + ".join(f"{_num(nxt.weights[m, j])}·{_num(delta[li][m])}"
                                  for m in range(nxt.weights.shape[0]))
                tup_f = " + ".join(rf"w^{{({li + 1})}}_{_tex_idx(m + 1, j + 1)} \delta^{{({li + 1})}}_{_tex_idx(m + 1)}"
                                   for m in range(nxt.weights.shape[0]))
                tup_s = " + ".join(rf"{_tnum(nxt.weights[m, j])} \cdot {_tnum(delta[li][m])}"
                                   for m in range(nxt.weights.shape[0]))
                up_f, up_s, tup_f, tup_s = f"({up_f})", f"({up_s})", rf"\left({tup_f}\right)", rf"\left({tup_s}\right)"
            steps.append(Step(
                "delta", f"δ{_sup(li)}{_sub(j + 1)}", f"{up_f}·{dsym}", f"{up_s}·{dval}",
                float(delta[li - 1][j]), rf"\delta^{{({li})}}_{_tex_idx(j + 1)}",
                rf"{tup_f} \cdot {tdsym}", rf"{tup_s} \cdot {tdval}", index=(li, j + 1)))

    grad_w, grad_b = [], []
    for li in range(1, len(net.layers) + 1):
        a_prev = net.x if li == 1 else a_all[li - 2]
        d = delta[li - 1]
        grad_w.append(np.outer(d, a_prev) + 0.0)
        grad_b.append(d.copy())
        for j in range(len(d)):
            for k in range(len(a_prev)):
                A, TA = _a_sym(net, li - 1, k + 1)
                steps.append(Step(
                    "dw", f"∂L/∂w{_sup(li)}{_sub(j + 1, k + 1)}", f"δ{_sup(li)}{_sub(j + 1)}·{A}",
                    f"{_num(d[j])}·{_num(a_prev[k])}", float(d[j] * a_prev[k]) + 0.0,
                    rf"\frac{{\partial L}}{{\partial w^{{({li})}}_{_tex_idx(j + 1, k + 1)}}}",
                    rf"\delta^{{({li})}}_{_tex_idx(j + 1)} {TA}", rf"{_tnum(d[j])} \cdot {_tnum(a_prev[k])}",
                    index=(li, j + 1, k + 1)))
            steps.append(Step(
                "db", f"∂L/∂b{_sup(li)}{_sub(j + 1)}", f"δ{_sup(li)}{_sub(j + 1)}", "", float(d[j]),
                rf"\frac{{\partial L}}{{\partial b^{{({li})}}_{_tex_idx(j + 1)}}}",
                rf"\delta^{{({li})}}_{_tex_idx(j + 1)}", "", index=(li, j + 1)))
    return Trace(net, s_all, a_all, delta, grad_w, grad_b, loss, steps)


# --------------------------------------------------------------------------- checks


def torch_reference(net: Network) -> dict[str, Any]:
    """The same pass in torch (float64, autograd): s, a, loss, δ = ∂L/∂s, ∂L/∂W, ∂L/∂b.

    The loss uses torch's own functions (``mse_loss``, ``binary_cross_entropy``), so the check
    does not share code with :func:`trace`.
    """
    import torch
    import torch.nn.functional as TF

    acts = {"identity": lambda t: t, "relu": torch.relu, "leaky_relu": lambda t: TF.leaky_relu(t, 0.01),
            "elu": lambda t: TF.elu(t, 1.0), "sigmoid": torch.sigmoid, "tanh": torch.tanh}
    a = torch.tensor(net.x, dtype=torch.float64)
    Ws, bs, ss, As = [], [], [], []
    for layer in net.layers:
        W = torch.tensor(layer.weights, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(layer.biases, dtype=torch.float64, requires_grad=True)
        s = W @ a + b
        s.retain_grad()
        a = acts[layer.activation](s)
        Ws.append(W), bs.append(b), ss.append(s), As.append(a)
    y = torch.tensor(net.y, dtype=torch.float64)
    if net.loss == "bce":
        loss = TF.binary_cross_entropy(a, y)
    elif net.loss == "half_squared_error":
        loss = 0.5 * TF.mse_loss(a, y, reduction="sum")
    elif net.loss == "squared_error":
        loss = TF.mse_loss(a, y, reduction="sum")
    else:
        loss = TF.mse_loss(a, y)
    loss.backward()
    return {"s": [t.detach().numpy() + 0.0 for t in ss], "a": [t.detach().numpy() + 0.0 for t in As],
            "loss": float(loss.detach()), "delta": [t.grad.numpy() + 0.0 for t in ss],
            "grad_w": [t.grad.numpy() + 0.0 for t in Ws], "grad_b": [t.grad.numpy() + 0.0 for t in bs]}


def finite_difference_weights(net: Network, h: float = 1e-6) -> list[np.ndarray]:
    """∂L/∂W of every layer by central differences of the loss (NumPy forward passes)."""
    def loss_of(layers: list[Layer]) -> float:
        a = net.x
        for layer in layers:
            a, _ = _activate(layer.activation, layer.weights @ a + layer.biases)
        return _loss_parts(net, a)[0]

    grads = []
    for li, layer in enumerate(net.layers):
        g = np.zeros_like(layer.weights)
        for idx in np.ndindex(*layer.weights.shape):
            values = []
            for sign in (1, -1):
                W = layer.weights.copy()
                W[idx] += sign * h
                changed = list(net.layers)
                changed[li] = Layer(W, layer.biases, layer.activation)
                values.append(loss_of(changed))
            g[idx] = (values[0] - values[1]) / (2 * h)
        grads.append(g)
    return grads


def _max_diff(ours: list[np.ndarray], ref: list[np.ndarray]) -> tuple[float, int]:
    diffs = [np.max(np.abs(o - r)) for o, r in zip(ours, ref, strict=True)]
    return float(max(diffs)), int(sum(o.size for o in ours))


def check_trace(tr: Trace, ref: dict[str, Any] | None = None) -> dict[str, tuple[float, int]]:
    """Max |ours − torch| and count for s, a, loss, delta, grad_w, grad_b; fills ``Step.torch``."""
    ref = torch_reference(tr.network) if ref is None else ref
    out = {key: _max_diff(getattr(tr, key), ref[key]) for key in ("s", "a")}
    out["loss"] = (abs(tr.loss - ref["loss"]), 1)
    out.update({key: _max_diff(getattr(tr, key), ref[key]) for key in ("delta", "grad_w", "grad_b")})
    for step in tr.steps:
        if step.kind == "loss":
            step.torch = ref["loss"]
        elif step.kind in ("s", "a", "delta", "db"):
            key = {"db": "grad_b"}.get(step.kind, step.kind)
            step.torch = float(ref[key][step.index[0] - 1][step.index[1] - 1])
        elif step.kind == "dw":
            li, j, k = step.index
            step.torch = float(ref["grad_w"][li - 1][j - 1, k - 1])
    return out


def asked_value(tr: Trace, ask: Ask) -> float:
    """The value of an asked gradient in a trace."""
    if ask.source is None:
        return float(tr.grad_b[ask.layer - 1][ask.to - 1])
    return float(tr.grad_w[ask.layer - 1][ask.to - 1, ask.source - 1])


# --------------------------------------------------------------------------- rendering


def _heading(net: Network) -> tuple[str, str]:
    sizes = " → ".join([str(len(net.x))] + [f"{layer.weights.shape[0]} {layer.activation}"
                                             for layer in net.layers])
    loss_words = {"half_squared_error": "½ Σ (y − ŷ)²", "squared_error": "Σ (y − ŷ)²",
                  "mse": "mean (y − ŷ)²", "bce": "binary cross-entropy"}[net.loss]
    return sizes, loss_words


def format_text(tr: Trace, ref_checked: bool = True) -> str:
    """The trace for a terminal: one line per quantity, with torch's value beside it."""
    net = tr.network
    sizes, loss_words = _heading(net)
    lines = [f"Network {net.name!r}: {sizes}; loss {loss_words}",
             f"  x = {net.x.tolist()}, y = {net.y.tolist()}"]
    if net.description:
        lines.append(f"  {net.description}")
    titles = {"s": "Forward pass: s = Σ w·a + b, a = f(s)", "loss": "Loss",
              "delta": "Backward pass: δ = ∂L/∂s (output: ∂L/∂ŷ·f′(s); hidden: f′(s)·Σ w·δ above)",
              "dw": "Gradients: ∂L/∂w_jk = δ_j·a_k, ∂L/∂b_j = δ_j"}
    shown = set()
    for step in tr.steps:
        group = {"a": "s", "db": "dw"}.get(step.kind, step.kind)
        if group not in shown:
            shown.add(group)
            lines.append("")
            lines.append(titles[group])
        check = ""
        if ref_checked and math.isfinite(step.torch):
            check = f"   [torch {step.torch:.6g}]"
        lines.append(f"  {step.text()}{check}")
    for ask in net.asks:
        value = asked_value(tr, ask)
        expect = "" if ask.expected is None else f" (expected {ask.expected:.6g})"
        lines.append(f"Asked: {ask.symbol} = {value:.6g}{expect}")
    return "\n".join(lines)


def format_markdown(tr: Trace) -> str:
    """The trace as Markdown with LaTeX (``$$ … $$`` display maths)."""
    net = tr.network
    sizes, loss_words = _heading(net)
    lines = [f"## Backpropagation trace: `{net.name.replace('`', chr(39))}`", "",
             f"Architecture {sizes}; loss {loss_words}; "
             f"$x = ({', '.join(f'{v:g}' for v in net.x)})$, $y = ({', '.join(f'{v:g}' for v in net.y)})$.", ""]
    if net.description:
        lines += [net.description.replace("$", r"\$"), ""]  # the user's text, not maths
    titles = {"s": r"### Forward pass: $s_j = \sum_k w_{jk} a_k + b_j$, $a_j = f(s_j)$",
              "loss": "### Loss",
              "delta": r"### Backward pass: $\delta_j = \partial L / \partial s_j$",
              "dw": r"### Gradients: $\partial L/\partial w_{jk} = \delta_j a_k$, "
                    r"$\partial L/\partial b_j = \delta_j$"}
    shown = set()
    for step in tr.steps:
        group = {"a": "s", "db": "dw"}.get(step.kind, step.kind)
        if group not in shown:
            shown.add(group)
            lines += ["", titles[group], ""]
        lines.append(f"$$ {step.tex()} $$")
    if net.asks:
        lines += ["", "### Asked", ""]
        for ask in net.asks:
            sym = (rf"\partial L/\partial b^{{({ask.layer})}}_{_tex_idx(ask.to)}" if ask.source is None else
                   rf"\partial L/\partial w^{{({ask.layer})}}_{_tex_idx(ask.to, ask.source)}")
            lines.append(f"$$ {sym} = {asked_value(tr, ask):.6g} $$")
    return "\n".join(lines) + "\n"


def _figure(tr: Trace) -> Any:
    """The network drawn with a, δ per unit and ∂L/∂w per edge (width ∝ |gradient|)."""
    from matplotlib.figure import Figure

    net = tr.network
    sizes = [len(net.x)] + [layer.weights.shape[0] for layer in net.layers]
    fig = Figure(figsize=(2.6 * len(sizes) + 1, 1.0 + 1.1 * max(sizes)))
    ax = fig.add_subplot()
    ax.axis("off")
    pos = {(li, j): (li, (n - 1) / 2 - j) for li, n in enumerate(sizes) for j in range(n)}
    gmax = max(float(np.max(np.abs(g))) for g in tr.grad_w) or 1.0
    for li, g in enumerate(tr.grad_w, start=1):
        for j in range(g.shape[0]):
            for k in range(g.shape[1]):
                (x0, y0), (x1, y1) = pos[(li - 1, k)], pos[(li, j)]
                color = "tab:red" if g[j, k] > 0 else ("tab:blue" if g[j, k] < 0 else "0.8")
                ax.plot([x0, x1], [y0, y1], color=color, lw=0.5 + 3 * abs(g[j, k]) / gmax, zorder=1)
                frac = 0.22 + 0.45 * j / max(1, g.shape[0] - 1)  # stagger labels of crossing edges
                ax.text(x0 + frac * (x1 - x0), y0 + frac * (y1 - y0), f"{g[j, k]:.3g}", fontsize=7,
                        color=color, ha="center", va="center",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    for (li, j), (x, y) in pos.items():
        ax.scatter([x], [y], s=1500, color="white", edgecolors="k", zorder=2)
        if li == 0:
            label = f"x{j + 1}\n{net.x[j]:.3g}"
        else:
            label = f"a={tr.a[li - 1][j]:.3g}\nδ={tr.delta[li - 1][j]:.3g}"
        ax.text(x, y, label, ha="center", va="center", fontsize=7, zorder=3)
    name = net.name if len(net.name) <= 40 else net.name[:39] + "…"
    ax.set_title(f"{name}: L = {tr.loss:.6g}; edges: ∂L/∂w (red > 0, blue < 0)", fontsize=9,
                 parse_math=False)  # a $ in the user's name is text, not mathtext
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-max(sizes) / 2 - 0.2, max(sizes) / 2 + 0.2)
    return fig


# --------------------------------------------------------------------------- the lesson


def _claims_for(tr: Trace, checks: dict[str, tuple[float, int]], prefix: str, fd: bool) -> list[Claim]:
    words = {"s": "pre-activations s", "a": "activations a", "loss": "loss L", "delta": "deltas δ = ∂L/∂s",
             "grad_w": "weight gradients ∂L/∂w", "grad_b": "bias gradients ∂L/∂b"}
    claims = [Claim.at_most(f"{prefix}{words[key]} match torch autograd (max abs difference)", diff, 1e-10,
                            f"{count} number{'s' if count > 1 else ''}") for key, (diff, count) in checks.items()]
    if fd:
        num = finite_difference_weights(tr.network)
        diff, count = _max_diff(tr.grad_w, num)
        claims.append(Claim.at_most(f"{prefix}weight gradients match central finite differences", diff, 1e-6,
                                    f"{count} numbers, h = 1e-6"))
    for ask in tr.network.asks:
        value = asked_value(tr, ask)
        if ask.expected is not None:
            claims.append(Claim.close_to(f"{prefix}asked {ask.symbol} equals the expected answer", value,
                                         ask.expected, ask.tolerance))
        else:
            step = next(st for st in tr.steps if st.symbol == ask.symbol)
            claims.append(Claim.close_to(f"{prefix}asked {ask.symbol} equals torch autograd", value,
                                         step.torch, 1e-10))
    return claims


def run(quick: bool = False, seed: int = 0, out: str | Path | None = None, network: str | Path | None = None,
        example: str | None = None) -> LessonResult:
    """Trace one network (a file, a bundled example, or the course example) and check it.

    Parameters
    ----------
    quick : bool
        Accepted for the CLI; the trace is instant either way.
    seed : int
        Unused (the trace is deterministic); recorded in params.
    out : path, optional
        Directory to write ``backprop_trace.md`` into.
    network : path, optional
        A YAML or JSON network file.
    example : str, optional
        A bundled example's name (see :func:`examples`); default ``"course"``.
    """
    if network is not None and example is not None:
        raise InputError("give either a network file or --example, not both")
    net = load_network(network) if network is not None else load_example(example or DEFAULT_EXAMPLE)
    tr = trace(net)
    checks = check_trace(tr)
    claims = _claims_for(tr, checks, "", fd=True)
    tables = {"trace": [{"quantity": st.symbol, "formula": st.formula, "substituted": st.substituted,
                         "value": st.value, "torch": st.torch} for st in tr.steps]}
    text = {"print_trace": format_text(tr), "backprop_trace": format_markdown(tr)}
    figures = {f"backprop_{slug(net.name)}": _figure(tr)}  # never the raw name: it is the user's text
    if network is None and example is None:  # also check every other bundled example
        summary = []
        for name, path in examples().items():
            if name == net.name:
                continue
            other = trace(load_network(path))
            other_checks = check_trace(other)
            worst = max(d for d, _ in other_checks.values())
            count = sum(c for _, c in other_checks.values())
            claims.append(Claim.at_most(f"example {name!r}: every s, a, L, δ, ∂L/∂w, ∂L/∂b equals torch "
                                        "(max abs difference)", worst, 1e-10, f"{count} numbers"))
            claims += [c for c in _claims_for(other, {}, f"example {name!r}: ", fd=False)]
            summary.append({"example": name, "architecture": _heading(other.network)[0],
                            "loss": other.network.loss, "L": other.loss, "max_abs_diff_torch": worst})
            text[f"backprop_trace_{name}"] = format_markdown(other)
        tables["examples"] = summary
    if out is not None:
        from backproplab.files import atomic_write_text

        atomic_write_text(Path(out) / "backprop_trace.md", "\n".join(
            v for k, v in text.items() if k.startswith("backprop_trace")))
    return LessonResult(
        name=NAME, title=TITLE,
        params={"network": str(network) if network is not None else None,
                "example": example or (None if network is not None else DEFAULT_EXAMPLE),
                "quick": quick, "seed": seed},
        claims=claims, figures=figures, tables=tables, text=text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI: ``backproplab backprop [NETWORK] [--example NAME]``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the docstring's layout
    parser.add_argument("network", nargs="?", default=None, type=Path,
                        help="a YAML or JSON network file (default: the bundled course example)")
    parser.add_argument("--example", default=None, choices=list(examples()),
                        help="trace a bundled example instead")
