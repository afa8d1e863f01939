"""A network file's contents, validated: layers, input, target, loss and the asked gradients.

Every error names the field (``layers[1].weights[0]`` …), what was expected and a bounded excerpt
of what was given (a file can hold a large or deeply nested value; messages never expand it).
"""

from __future__ import annotations

import math
import re
import reprlib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backproplab.errors import InputError

if TYPE_CHECKING:
    from backproplab.tracer.notation import Notation

ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax")
LOSSES = ("half_squared_error", "squared_error", "mse", "bce", "cross_entropy")
MAX_LAYERS = 8
MAX_UNITS = 32
MAX_ASKS = 64
MAX_NAME_CHARS = 1000  # shown shortened in figures; file names use slug(name)

_TOP_KEYS = {"name", "description", "input", "target", "loss", "layers", "ask"}
_LAYER_KEYS = {"activation", "weights", "biases", "units", "name"}
_ASK_KEYS = {"layer", "to", "from", "bias", "expected", "tolerance"}
# Text that reads as a number (YAML 1.2 and JSON both read it so when it is not quoted).
_NUMBER_TEXT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")


@dataclass
class Layer:
    """One dense layer ``a = f(a_prev @ W + b)``, in the scratch engine's layout.

    ``W`` has shape [inputs, units] (``backproplab.scratch.Dense``'s [d_in, d_out]) and ``b`` shape
    [units]. The course writes the same weight as w_jk, from unit k of the layer below into unit j:
    ``W[k - 1, j - 1]``. A network file lists one row per unit (the course's w_j1, w_j2, ...), so
    reading it transposes once; everything after that sees the one layout.
    """

    W: np.ndarray
    b: np.ndarray
    activation: str

    @property
    def units(self) -> int:
        """How many units the layer computes (``W.shape[1]``)."""
        return self.W.shape[1]


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


def excerpt(value: Any, limit: int = 80) -> str:
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
        raise InputError(f"{_where(source)}{key}: expected text, got {excerpt(value)}")
    allowed = "\n\t" if newlines else ""
    for i, char in enumerate(value):
        if unicodedata.category(char) == "Cc" and char not in allowed:
            raise InputError(f"{_where(source)}{key}: control character {char!r} at position {i} is not "
                             "allowed; remove it")
    return value


def _number(value: Any, where: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = ""
        if isinstance(value, str) and _NUMBER_TEXT.match(value.strip()):
            hint = " (a number in quotes is text; write it without quotes)"
        raise InputError(f"{_where(source)}{where}: expected a number, got {excerpt(value)}{hint}")
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
        raise InputError(f"{_where(source)}{where}: expected a non-empty list of numbers, got {excerpt(value)}")
    if len(value) > MAX_UNITS:
        raise InputError(f"{_where(source)}{where}: at most {MAX_UNITS} numbers (the tracer prints each), "
                         f"got {len(value)}")
    if length is not None and len(value) != length:
        raise InputError(f"{_where(source)}{where}: expected {length} numbers, got {len(value)}")
    return np.array([_number(v, f"{where}[{i}]", source) for i, v in enumerate(value)])


def _integer(value: Any, where: str, source: str, lo: int, hi: int, what: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"{_where(source)}{where}: expected an integer from {lo} to {hi}{what}, "
                         f"got {excerpt(value)}")
    return value


def _unknown(keys: Any, allowed: set[str], where: str, source: str) -> None:
    extra = sorted(k[:30] if isinstance(k, str) else excerpt(k, 30) for k in keys if k not in allowed)
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
        raise InputError(f"{_where(source)}loss: expected one of {', '.join(LOSSES)}, got {excerpt(loss)}")
    x = _vector(data["input"], "input", source)
    layers = _layers(data["layers"], len(x), source)
    y = _vector(data["target"], "target", source, length=layers[-1].units)
    _check_loss(loss, layers, y, source)
    raw_asks = data.get("ask", [])
    if isinstance(raw_asks, dict):
        raw_asks = [raw_asks]
    if not isinstance(raw_asks, list):
        raise InputError(f"{_where(source)}ask: expected a mapping or a list of mappings, got {excerpt(raw_asks)}")
    if len(raw_asks) > MAX_ASKS:
        raise InputError(f"{_where(source)}ask: at most {MAX_ASKS} asked gradients, got {len(raw_asks)}")
    sizes = [len(x)] + [layer.units for layer in layers]
    asks = [_ask(raw, f"ask[{i}]", sizes, source) for i, raw in enumerate(raw_asks)]
    return Network(name, x, y, loss, layers, asks, description, source)


def _layers(raw_layers: Any, fan_in: int, source: str) -> list[Layer]:
    """The ``layers`` list: each a mapping of weights [units][fan_in], biases [units], activation."""
    if not isinstance(raw_layers, list) or not raw_layers:
        raise InputError(f"{_where(source)}layers: expected a non-empty list of layers, got {excerpt(raw_layers)}")
    if len(raw_layers) > MAX_LAYERS:
        raise InputError(f"{_where(source)}layers: at most {MAX_LAYERS} layers, got {len(raw_layers)}")
    layers = []
    for i, raw in enumerate(raw_layers):
        where = f"layers[{i}]"
        if not isinstance(raw, dict):
            raise InputError(f"{_where(source)}{where}: expected a mapping with weights, biases, "
                             f"activation, got {excerpt(raw)}")
        _unknown(raw, _LAYER_KEYS, where, source)
        for key in ("weights", "biases", "activation"):
            if key not in raw:
                raise InputError(f"{_where(source)}{where}: missing required key {key!r}")
        act = raw["activation"]
        if act not in ACTIVATIONS:
            raise InputError(f"{_where(source)}{where}.activation: expected one of {', '.join(ACTIVATIONS)}, "
                             f"got {excerpt(act)}")
        if act == "softmax" and i != len(raw_layers) - 1:
            raise InputError(f"{_where(source)}{where}.activation: softmax is only for the output layer")
        rows = raw["weights"]
        if not isinstance(rows, list) or not rows:
            raise InputError(f"{_where(source)}{where}.weights: expected a list of rows (one per unit), "
                             f"got {excerpt(rows)}")
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
        layers.append(Layer(np.ascontiguousarray(W.T), b, act))  # rows per unit -> [inputs, units]
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
        why = "has a negative entry" if np.any(y < 0) else f"sums to {float(np.sum(y)):g}"
        raise InputError(f"{_where(source)}target: cross_entropy needs probabilities that sum to 1 "
                         f"(one-hot for a class), got {y.tolist()}, which {why}")


def _ask(raw: Any, where: str, sizes: list[int], source: str) -> Ask:
    """One asked gradient. Without ``layer``, ``to``/``from`` are global unit numbers (inputs 1..n₀,
    then each layer's units); with ``layer: l`` they count within layer l and the layer below."""
    if not isinstance(raw, dict):
        raise InputError(f"{_where(source)}{where}: expected a mapping like "
                         f"{{to: 3, from: 2}}, got {excerpt(raw)}")
    _unknown(raw, _ASK_KEYS, where, source)
    if "to" not in raw:
        raise InputError(f"{_where(source)}{where}: needs to (and from, or bias: true); "
                         "layer: l switches to numbering within layer l")
    is_bias = raw.get("bias", False)
    if not isinstance(is_bias, bool):
        raise InputError(f"{_where(source)}{where}.bias: expected true or false, got {excerpt(is_bias)}")
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
