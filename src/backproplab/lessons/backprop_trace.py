"""Backpropagation traced by hand: every s, a, δ and ∂L/∂w with its formula and its numbers.

Units are numbered through the network, as the JKU course does: the inputs are units 1..n, then
the hidden units in order, the outputs last; w_ij is the weight from unit j into unit i. For the
course's 2-3-1 network (inputs 1, 2; hidden 3, 4, 5; output 6):

    forward   s3 = w31·x1 + w32·x2 + b3,  a3 = f(s3),  ...,  s6 = w63·a3 + w64·a4 + w65·a5 + b6
    loss      L = ½(y − a6)²
    backward  δ6 = ∂L/∂a6 · f′(s6),  δ3 = f′(s3)·w63·δ6  (a hidden unit: f′(s) times Σ w·δ above)
    gradients ∂L/∂w32 = δ3·x2,  ∂L/∂b3 = δ3

With --notation layer the units are numbered within each layer instead: w(l)_jk is the weight
from unit k of layer l−1 into unit j of layer l, and the outputs are ŷ_j.

Every number is checked against torch autograd (s and a against the torch forward pass, δ
against s.grad) and the weight gradients against central finite differences; --out also writes
the trace as Markdown with LaTeX. With no file it traces the bundled course example and checks
every bundled example.

A network file (YAML or JSON, read with a safe loader; anchors and aliases are refused):

    name: course
    input: [2.0, -1.0]            # x1, x2
    target: [1.0]                 # y
    loss: half_squared_error      # half_squared_error | squared_error | mse | bce | cross_entropy
    layers:                       # each layer: one row of weights per unit it computes,
      - activation: relu          #   one number per unit of the layer below
        weights: [[0.5, -0.4], [-0.3, 0.8], [0.2, 0.6]]   # rows: units 3, 4, 5; (w31, w32), ...
        biases: [0.1, -0.2, 0.5]
      - activation: identity      # identity | relu | leaky_relu | elu | sigmoid | tanh | softmax
        weights: [[0.7, -0.5, 1.2]]                       # unit 6: (w63, w64, w65)
        biases: [-0.2]
    ask:                          # optional: the gradients a question asks for (unit numbers)
      - {to: 3, from: 2, expected: -0.147}    # ∂L/∂w32
      - {to: 6, bias: true}                   # ∂L/∂b6
      - {layer: 1, to: 3, from: 2}            # numbered within layer 1 instead: w(1)32 = w52

softmax (output layer only) goes with cross_entropy, L = −Σ y_i log a_i, whose output delta is
a_i − y_i; the target is then a probability vector (one-hot for a class).

Start your own: backproplab backprop --print-example course > my_net.yaml, edit it, then
backproplab backprop my_net.yaml. List the bundled examples: backproplab backprop --example list.
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

ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax")
LOSSES = ("half_squared_error", "squared_error", "mse", "bce", "cross_entropy")
NOTATIONS = ("global", "layer")
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
    """A gradient a question asks for: ∂L/∂w into unit ``to`` of ``layer`` from unit ``source`` of the
    layer below, or ∂L/∂b of unit ``to`` (``source`` None); units 1-based within their layer,
    whatever numbering the file used."""

    layer: int
    to: int
    source: int | None  # None: the bias
    expected: float | None = None
    tolerance: float = 1e-6

    def symbol(self, nt: Notation, tex: bool = False) -> str:
        """∂L/∂w₃₂ (or its LaTeX) in the notation ``nt``."""
        sym = nt.grad_b(self.layer, self.to) if self.source is None else nt.grad_w(self.layer, self.to, self.source)
        return sym[1] if tex else sym[0]


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


def _integer(value: Any, where: str, source: str, lo: int, hi: int, what: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"{_where(source)}{where}: expected an integer from {lo} to {hi}{what}, "
                         f"got {_excerpt(value)}")
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
    layers = _layers(data["layers"], len(x), source)
    y = _vector(data["target"], "target", source, length=layers[-1].weights.shape[0])
    _check_loss(loss, layers, y, source)
    raw_asks = data.get("ask", [])
    if isinstance(raw_asks, dict):
        raw_asks = [raw_asks]
    if not isinstance(raw_asks, list):
        raise InputError(f"{_where(source)}ask: expected a mapping or a list of mappings, got {_excerpt(raw_asks)}")
    sizes = [len(x)] + [layer.weights.shape[0] for layer in layers]
    asks = [_ask(raw, f"ask[{i}]", sizes, source) for i, raw in enumerate(raw_asks)]
    return Network(name, x, y, loss, layers, asks, description, source)


def _layers(raw_layers: Any, fan_in: int, source: str) -> list[Layer]:
    """The ``layers`` list: each a mapping of weights [units][fan_in], biases [units], activation."""
    if not isinstance(raw_layers, list) or not raw_layers:
        raise InputError(f"{_where(source)}layers: expected a non-empty list of layers, got {_excerpt(raw_layers)}")
    if len(raw_layers) > MAX_LAYERS:
        raise InputError(f"{_where(source)}layers: at most {MAX_LAYERS} layers, got {len(raw_layers)}")
    layers = []
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
        if act == "softmax" and i != len(raw_layers) - 1:
            raise InputError(f"{_where(source)}{where}.activation: softmax is only for the output layer")
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
    return layers


def _check_loss(loss: str, layers: list[Layer], y: np.ndarray, source: str) -> None:
    """The loss fits the output layer and the target: bce a sigmoid and y in [0, 1], cross-entropy a
    softmax and y a probability distribution (one-hot for a class label)."""
    out = layers[-1].activation
    last = f"layers[{len(layers) - 1}]"
    if loss == "bce":
        if out != "sigmoid":
            raise InputError(f"{_where(source)}loss bce needs a sigmoid output layer (probabilities), "
                             f"got activation {out!r} in {last}")
        if np.any((y < 0) | (y > 1)):
            raise InputError(f"{_where(source)}target: bce needs targets in [0, 1], got {y.tolist()}")
    if (loss == "cross_entropy") != (out == "softmax"):
        raise InputError(f"{_where(source)}loss cross_entropy and a softmax output layer go together, "
                         f"got loss {loss!r} with activation {out!r} in {last}")
    if loss == "cross_entropy" and (np.any(y < 0) or abs(float(np.sum(y)) - 1.0) > 1e-9):
        raise InputError(f"{_where(source)}target: cross_entropy needs probabilities that sum to 1 "
                         f"(one-hot for a class), got {y.tolist()}")


def _ask(raw: Any, where: str, sizes: list[int], source: str) -> Ask:
    """One asked gradient. Without ``layer``, ``to``/``from`` are global unit numbers (inputs 1..n₀,
    then each layer's units); with ``layer: l`` they count within layer l and the layer below."""
    if not isinstance(raw, dict):
        raise InputError(f"{_where(source)}{where}: expected a mapping like "
                         f"{{to: 3, from: 2}}, got {_excerpt(raw)}")
    _unknown(raw, _ASK_KEYS, where, source)
    if "to" not in raw:
        raise InputError(f"{_where(source)}{where}: needs to (and from, or bias: true); "
                         "layer: l switches to numbering within layer l")
    is_bias = raw.get("bias", False)
    if not isinstance(is_bias, bool):
        raise InputError(f"{_where(source)}{where}.bias: expected true or false, got {_excerpt(is_bias)}")
    if is_bias == ("from" in raw):
        raise InputError(f"{_where(source)}{where}: give either from (a weight) or bias: true, "
                         "not both or neither")
    if "layer" in raw:
        layer = _integer(raw["layer"], f"{where}.layer", source, 1, len(sizes) - 1)
        to = _integer(raw["to"], f"{where}.to", source, 1, sizes[layer])
        src = None if is_bias else _integer(raw["from"], f"{where}.from", source, 1, sizes[layer - 1])
    else:
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        unit = _integer(raw["to"], f"{where}.to", source, sizes[0] + 1, sum(sizes),
                        " (a unit above the inputs, numbered through the network)")
        layer = max(i for i in range(len(sizes)) if offsets[i] < unit)
        to = unit - offsets[layer]
        lo, hi = offsets[layer - 1] + 1, offsets[layer - 1] + sizes[layer - 1]
        src = None if is_bias else _integer(raw["from"], f"{where}.from", source, lo, hi,
                                            f" (the units of the layer below unit {unit})") - offsets[layer - 1]
    expected = raw.get("expected")
    expected = None if expected is None else _number(expected, f"{where}.expected", source)
    tol = _number(raw.get("tolerance", 1e-6), f"{where}.tolerance", source)
    if tol <= 0:
        raise InputError(f"{_where(source)}{where}.tolerance: expected a positive number, got {tol!r}")
    return Ask(layer, to, src, expected, tol)


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
            raise InputError(f"notation: expected one of {', '.join(NOTATIONS)}, got {_excerpt(kind)}")
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


def _activate(name: str, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, f'(s)) by backproplab.scratch.functional; for softmax f' is not elementwise (returns NaN:
    the output delta of softmax with cross-entropy is a − y, see :func:`_trace`)."""
    if name == "softmax":
        return np.asarray(F.softmax(s), dtype=np.float64), np.full_like(s, np.nan, dtype=np.float64)
    f, fprime = F.get_activation(name)
    return np.asarray(f(s), dtype=np.float64), np.asarray(fprime(s), dtype=np.float64)


def _act_strings(name: str, nt: Notation, layer: int, j: int, s: np.ndarray) -> tuple[str, str, str, str]:
    """(text formula, text substituted, tex formula, tex substituted) of a = f(s) for unit j."""
    S, TS = nt.s(layer, j)
    v = float(s[j - 1])
    if name == "identity":
        return S, _num(v), TS, _tnum(v)
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
    notation : the Notation the steps are written in
    """

    network: Network
    s: list[np.ndarray]
    a: list[np.ndarray]
    delta: list[np.ndarray]
    grad_w: list[np.ndarray]
    grad_b: list[np.ndarray]
    loss: float
    steps: list[Step]
    notation: Notation


def notation_for(net: Network, kind: str = "global") -> Notation:
    """The :class:`Notation` of ``kind`` for ``net``'s layer sizes."""
    return Notation(kind, [len(net.x)] + [layer.weights.shape[0] for layer in net.layers])


def loss_value(net: Network, s_out: np.ndarray, yhat: np.ndarray) -> tuple[float, np.ndarray]:
    """(L, ∂L/∂ŷ) for the output's pre-activations ``s_out`` and activations ``yhat`` [n_out].

    For cross-entropy ∂L/∂ŷ is not used (the output delta is ŷ − y) and is returned as NaN.
    """
    y, n = net.y, len(net.y)
    with np.errstate(all="ignore"):
        if net.loss == "bce":  # PyTorch's conventions: logs clamped at -100, denominator at 1e-12
            log_p = np.maximum(np.log(yhat), -100.0)
            log_q = np.maximum(np.log1p(-yhat), -100.0)
            loss = float(-np.mean(y * log_p + (1 - y) * log_q))
            return loss, (yhat - y) / np.maximum(yhat * (1 - yhat), 1e-12) / n
        if net.loss == "cross_entropy":  # from the logits: finite even where a softmax output is 0
            return float(-np.sum(y * F.log_softmax(s_out))), np.full(n, np.nan)
        if net.loss == "half_squared_error":
            return float(0.5 * np.sum((y - yhat) ** 2)), yhat - y
        if net.loss == "squared_error":
            return float(np.sum((y - yhat) ** 2)), 2 * (yhat - y)
        return float(np.mean((y - yhat) ** 2)), 2 * (yhat - y) / n


def _loss_terms(net: Network, nt: Notation, yhat: np.ndarray) -> tuple[list[Sym], list[Sym], list[tuple]]:
    """Per output j: the loss term (text, tex), substituted (text, tex), and ∂L/∂ŷ_j's four strings."""
    n = len(net.y)
    terms, subs, dparts = [], [], []
    for j in range(1, n + 1):
        (Y, TY), (P, TP) = nt.y(j), nt.a(nt.depth, j)
        yv, pv, tyv, tpv = _num(net.y[j - 1]), _num(yhat[j - 1]), _tnum(net.y[j - 1]), _tnum(yhat[j - 1])
        if net.loss == "bce":
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


def _loss_step(net: Network, nt: Notation, loss: float, yhat: np.ndarray) -> tuple[Step, list[tuple]]:
    """The loss as a Step, and per output the strings of ∂L/∂ŷ_j (of δ_j for cross-entropy)."""
    n = len(net.y)
    terms, subs, dparts = _loss_terms(net, nt, yhat)
    if net.loss == "bce":
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
    return Step("loss", "L", formula, subst, loss, "L", tex_formula, tex_subst), dparts


def trace(net: Network, notation: str = "global") -> Trace:
    """Forward and backward pass of ``net``, unit by unit, with printable steps.

    Parameters
    ----------
    net : Network
    notation : ``"global"`` (units numbered through the network, as the JKU course) or ``"layer"``
        (numbered within each layer, the layer in a superscript); see :class:`Notation`.

    Returns
    -------
    Trace
        Overflowing or saturating numbers give inf/nan in the trace (and fail the torch checks)
        rather than a NumPy warning.
    """
    nt = notation_for(net, notation)
    with np.errstate(all="ignore"):
        s_all, a_all, steps = _forward(net, nt)
        loss, dyhat = loss_value(net, s_all[-1], a_all[-1])
        loss_step, dparts = _loss_step(net, nt, loss, a_all[-1])
        steps.append(loss_step)
        delta = _backward(net, nt, s_all, a_all, dyhat, dparts, steps)
        grad_w, grad_b = _gradients(net, nt, a_all, delta, steps)
    return Trace(net, s_all, a_all, delta, grad_w, grad_b, loss, steps, nt)


def _forward(net: Network, nt: Notation) -> tuple[list[np.ndarray], list[np.ndarray], list[Step]]:
    """s and a of every layer, and their steps: s_j = Σ_k w_jk a_k + b_j, a_j = f(s_j)."""
    steps: list[Step] = []
    s_all, a_all = [], []
    a_prev = net.x
    for li, layer in enumerate(net.layers, start=1):
        s = layer.weights @ a_prev + layer.biases
        a, _ = _activate(layer.activation, s)
        for j in range(1, len(s) + 1):
            terms, subs = [], []
            for k in range(1, len(a_prev) + 1):
                (W, TW), (A, TA) = nt.w(li, j, k), nt.a(li - 1, k)
                terms.append((f"{W}·{A}", f"{TW} {TA}"))
                subs.append((f"{_num(layer.weights[j - 1, k - 1])}·{_num(a_prev[k - 1])}",
                             rf"{_tnum(layer.weights[j - 1, k - 1])} \cdot {_tnum(a_prev[k - 1])}"))
            terms.append(nt.b(li, j))
            subs.append((_num(layer.biases[j - 1]), _tnum(layer.biases[j - 1])))
            S, TS = nt.s(li, j)
            steps.append(Step("s", S, " + ".join(t for t, _ in terms), " + ".join(t for t, _ in subs),
                              float(s[j - 1]), TS, " + ".join(t for _, t in terms), " + ".join(t for _, t in subs),
                              index=(li, j)))
            A, TA = nt.a(li, j)
            ft, fs, tft, tfs = _act_strings(layer.activation, nt, li, j, s)
            steps.append(Step("a", A, ft, fs, float(a[j - 1]), TA, tft, tfs, index=(li, j)))
        s_all.append(s)
        a_all.append(a)
        a_prev = a
    return s_all, a_all, steps


def _backward(net: Network, nt: Notation, s_all: list[np.ndarray], a_all: list[np.ndarray], dyhat: np.ndarray,
              dparts: list[tuple], steps: list[Step]) -> list[np.ndarray]:
    """δ = ∂L/∂s of every layer, top down, appending their steps.

    Output: δ_j = ∂L/∂ŷ_j · f'(s_j) (softmax with cross-entropy: δ_j = ŷ_j − y_j);
    below: δ_k = f'(s_k) Σ_j w_jk δ_j over the units j of the layer above.
    """
    L = len(net.layers)
    delta: list[np.ndarray] = [np.zeros(0)] * L
    for li in range(L, 0, -1):
        layer = net.layers[li - 1]
        s, a = s_all[li - 1], a_all[li - 1]
        _, fprime = _activate(layer.activation, s)
        if li == L and net.loss == "cross_entropy":
            delta[li - 1] = a - net.y + 0.0
        else:
            upstream = dyhat if li == L else net.layers[li].weights.T @ delta[li]
            delta[li - 1] = upstream * fprime + 0.0  # + 0.0 turns -0.0 into 0.0 for printing
        for j in range(1, len(s) + 1):
            D, TD = nt.delta(li, j)
            if li == L and net.loss == "cross_entropy":
                up_f, up_s, tup_f, tup_s = dparts[j - 1]
                steps.append(Step("delta", D, up_f, up_s, float(delta[li - 1][j - 1]), TD, tup_f, tup_s,
                                  index=(li, j)))
                continue
            if li == L:
                up_f, up_s, tup_f, tup_s = dparts[j - 1]
            else:
                up_f, up_s, tup_f, tup_s = _upstream_strings(net, nt, li, j, delta[li])
            dsym, tdsym = _deriv_symbol(nt, layer.activation, li, j)
            dval, tdval = _deriv_strings(layer.activation, float(s[j - 1]), float(a[j - 1]))
            steps.append(Step("delta", D, f"{up_f}·{dsym}", f"{up_s}·{dval}", float(delta[li - 1][j - 1]), TD,
                              rf"{tup_f} \cdot {tdsym}", rf"{tup_s} \cdot {tdval}", index=(li, j)))
    return delta


def _upstream_strings(net: Network, nt: Notation, li: int, j: int, delta_above: np.ndarray) -> tuple[str, ...]:
    """(text formula, text substituted, tex formula, tex substituted) of Σ_m w_mj δ_m above unit j of ``li``."""
    above = net.layers[li].weights
    syms = [(nt.w(li + 1, m, j), nt.delta(li + 1, m)) for m in range(1, above.shape[0] + 1)]
    up_f = " + ".join(f"{w}·{d}" for (w, _), (d, _) in syms)
    tup_f = " + ".join(f"{tw} {td}" for (_, tw), (_, td) in syms)
    up_s = " + ".join(f"{_num(above[m, j - 1])}·{_num(delta_above[m])}" for m in range(above.shape[0]))
    tup_s = " + ".join(rf"{_tnum(above[m, j - 1])} \cdot {_tnum(delta_above[m])}" for m in range(above.shape[0]))
    return f"({up_f})", f"({up_s})", rf"\left({tup_f}\right)", rf"\left({tup_s}\right)"


def _gradients(net: Network, nt: Notation, a_all: list[np.ndarray], delta: list[np.ndarray],
               steps: list[Step]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """∂L/∂w_jk = δ_j a_k and ∂L/∂b_j = δ_j of every layer, appending their steps."""
    grad_w, grad_b = [], []
    for li in range(1, len(net.layers) + 1):
        a_prev = net.x if li == 1 else a_all[li - 2]
        d = delta[li - 1]
        grad_w.append(np.outer(d, a_prev) + 0.0)
        grad_b.append(d.copy())
        for j in range(1, len(d) + 1):
            D, TD = nt.delta(li, j)
            for k in range(1, len(a_prev) + 1):
                (G, TG), (A, TA) = nt.grad_w(li, j, k), nt.a(li - 1, k)
                steps.append(Step("dw", G, f"{D}·{A}", f"{_num(d[j - 1])}·{_num(a_prev[k - 1])}",
                                  float(d[j - 1] * a_prev[k - 1]) + 0.0, TG, f"{TD} {TA}",
                                  rf"{_tnum(d[j - 1])} \cdot {_tnum(a_prev[k - 1])}", index=(li, j, k)))
            G, TG = nt.grad_b(li, j)
            steps.append(Step("db", G, D, "", float(d[j - 1]), TG, TD, "", index=(li, j)))
    return grad_w, grad_b


# --------------------------------------------------------------------------- checks


def torch_reference(net: Network) -> dict[str, Any]:
    """The same pass in torch (float64, autograd): s, a, loss, δ = ∂L/∂s, ∂L/∂W, ∂L/∂b.

    The loss uses torch's own functions (``mse_loss``, ``binary_cross_entropy``, ``cross_entropy`` on
    the output's pre-activations), so the check does not share code with :func:`trace`.
    """
    import torch
    import torch.nn.functional as TF

    acts = {"identity": lambda t: t, "relu": torch.relu, "leaky_relu": lambda t: TF.leaky_relu(t, 0.01),
            "elu": lambda t: TF.elu(t, 1.0), "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "softmax": lambda t: torch.softmax(t, dim=0)}
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
    elif net.loss == "cross_entropy":  # from the logits, with probability targets
        loss = TF.cross_entropy(ss[-1].unsqueeze(0), y.unsqueeze(0))
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
        a = s = net.x
        for layer in layers:
            s = layer.weights @ a + layer.biases
            a, _ = _activate(layer.activation, s)
        return loss_value(net, s, a)[0]

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


LOSS_WORDS = {"half_squared_error": "½ Σ (y − ŷ)²", "squared_error": "Σ (y − ŷ)²", "mse": "mean (y − ŷ)²",
              "bce": "binary cross-entropy", "cross_entropy": "cross-entropy −Σ y log ŷ of a softmax"}


def _heading(net: Network) -> tuple[str, str]:
    sizes = " → ".join([str(len(net.x))] + [f"{layer.weights.shape[0]} {layer.activation}"
                                             for layer in net.layers])
    return sizes, LOSS_WORDS[net.loss]


def _titles(nt: Notation) -> dict[str, str]:
    """Section titles of the text trace, in the notation's index letters."""
    i, j = ("i", "j") if nt.kind == "global" else ("j", "k")
    return {"s": f"Forward pass: s_{i} = Σ_{j} w_{i}{j}·a_{j} + b_{i}, a_{i} = f(s_{i})", "loss": "Loss",
            "delta": "Backward pass: δ = ∂L/∂s (output: ∂L/∂ŷ·f′(s), or ŷ − y for softmax with "
                     "cross-entropy; hidden: f′(s)·Σ w·δ above)",
            "dw": f"Gradients: ∂L/∂w_{i}{j} = δ_{i}·a_{j}, ∂L/∂b_{i} = δ_{i}"}


def format_text(tr: Trace, ref_checked: bool = True) -> str:
    """The trace for a terminal: one line per quantity, with torch's value beside it."""
    net, nt = tr.network, tr.notation
    sizes, loss_words = _heading(net)
    lines = [f"Network {net.name!r}: {sizes}; loss {loss_words}",
             f"  x = {net.x.tolist()}, y = {net.y.tolist()}", f"  Notation: {nt.describe()}"]
    if net.description:
        lines.append(f"  {net.description}")
    titles = _titles(nt)
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
        lines.append(f"Asked: {ask.symbol(nt)} = {_num(value).strip('()')}{expect}")
    return "\n".join(lines)


def format_markdown(tr: Trace) -> str:
    """The trace as Markdown with LaTeX (``$$ … $$`` display maths)."""
    net, nt = tr.network, tr.notation
    sizes, loss_words = _heading(net)
    lines = [f"## Backpropagation trace: `{net.name.replace('`', chr(39))}`", "",
             f"Architecture {sizes}; loss {loss_words}; "
             f"$x = ({', '.join(f'{v:g}' for v in net.x)})$, $y = ({', '.join(f'{v:g}' for v in net.y)})$. "
             f"Notation: {nt.describe()}.", ""]
    if net.description:
        lines += [net.description.replace("$", r"\$"), ""]  # the user's text, not maths
    i, j = ("i", "j") if nt.kind == "global" else ("j", "k")
    titles = {"s": rf"### Forward pass: $s_{i} = \sum_{j} w_{{{i}{j}}} a_{j} + b_{i}$, $a_{i} = f(s_{i})$",
              "loss": "### Loss",
              "delta": rf"### Backward pass: $\delta_{i} = \partial L / \partial s_{i}$",
              "dw": rf"### Gradients: $\partial L/\partial w_{{{i}{j}}} = \delta_{i} a_{j}$, "
                    rf"$\partial L/\partial b_{i} = \delta_{i}$"}
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
            lines.append(f"$$ {ask.symbol(nt, tex=True)} = {asked_value(tr, ask):.6g} $$")
    return "\n".join(lines) + "\n"


def _figure(tr: Trace) -> Any:
    """The network drawn with a, δ per unit and ∂L/∂w per edge (width ∝ |gradient|)."""
    from matplotlib.figure import Figure

    net, nt = tr.network, tr.notation
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
            if nt.kind == "global":
                label = f"unit {nt.unit(li, j + 1)}\n{label}"
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
        value, symbol = asked_value(tr, ask), ask.symbol(tr.notation)
        if ask.expected is not None:
            claims.append(Claim.close_to(f"{prefix}asked {symbol} equals the expected answer", value,
                                         ask.expected, ask.tolerance))
        else:
            kind, index = ("db", (ask.layer, ask.to)) if ask.source is None else ("dw", (ask.layer, ask.to, ask.source))
            step = next(st for st in tr.steps if st.kind == kind and st.index == index)
            claims.append(Claim.close_to(f"{prefix}asked {symbol} equals torch autograd", value,
                                         step.torch, 1e-10))
    return claims


def run(quick: bool = False, seed: int = 0, out: str | Path | None = None, network: str | Path | None = None,
        example: str | None = None, notation: str = "global") -> LessonResult:
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
    notation : ``"global"`` or ``"layer"``
        How units and weights are numbered (see :class:`Notation`); default global, as the course.
    """
    if network is not None and example is not None:
        raise InputError("give either a network file or --example, not both")
    if notation not in NOTATIONS:
        raise InputError(f"notation: expected one of {', '.join(NOTATIONS)}, got {_excerpt(notation)}")
    net = load_network(network) if network is not None else load_example(example or DEFAULT_EXAMPLE)
    tr = trace(net, notation)
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
            other = trace(load_network(path), notation)
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
                "notation": notation, "quick": quick, "seed": seed},
        claims=claims, figures=figures, tables=tables, text=text)


def describe_examples() -> str:
    """One line per bundled example: name, architecture, loss, and what it shows."""
    lines = []
    for name, path in examples().items():
        net = load_network(path)
        first = net.description.split(". ")[0].rstrip(".")
        lines.append(f"{name:<22} {_heading(net)[0]}; {net.loss}: {first}.")
    return "\n".join(lines)


class _ExampleAction(argparse.Action):
    """``--example NAME`` stores the name; ``--example list`` prints the examples and exits."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if values == "list":
            print(describe_examples())
            print("\nTrace one: backproplab backprop --example NAME; start your own: "
                  "backproplab backprop --print-example course > my_net.yaml")
            parser.exit(0)
        setattr(namespace, self.dest, values)


class _PrintExampleAction(argparse.Action):
    """``--print-example NAME`` prints the bundled file as it is (a starter to edit) and exits."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(examples()[values].read_text(encoding="utf-8"), end="")
        parser.exit(0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI: ``backproplab backprop [NETWORK] [--example NAME|list] [--print-example NAME] [--notation]``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the docstring's layout
    names = list(examples())
    parser.add_argument("network", nargs="?", default=None, type=Path,
                        help="a YAML or JSON network file (default: the bundled course example)")
    parser.add_argument("--example", default=None, choices=names + ["list"], action=_ExampleAction,
                        metavar="NAME", help=f"trace a bundled example instead ({', '.join(names)}); "
                                             "'list' describes them")
    parser.add_argument("--print-example", choices=names, action=_PrintExampleAction, metavar="NAME",
                        default=argparse.SUPPRESS,  # never reaches run()
                        help="print a bundled example's file and exit: a starter to edit, e.g. "
                             "'backproplab backprop --print-example course > my_net.yaml'")
    parser.add_argument("--notation", default="global", choices=list(NOTATIONS),
                        help="global (default, as the JKU course): units numbered 1, 2, ... through the "
                             "network, w_ij from unit j into unit i; layer: numbered within each layer, "
                             "w(l)_jk from unit k of layer l-1 into unit j of layer l")
