"""Backpropagation traced by hand: a small network, every s, a, δ, ∂L/∂w with formula and numbers.

The parts, in the order data flows through them:

- :mod:`~backproplab.tracer.reading`: a YAML/JSON file or text -> plain values (safe loader, no
  aliases, bounded size and nesting); :mod:`~backproplab.tracer.writing` the way back, as YAML;
- :mod:`~backproplab.tracer.network`: plain values -> a validated :class:`Network` (errors name
  the field);
- :mod:`~backproplab.tracer.notation`: how quantities are named (global unit numbers as the JKU
  course, or per layer) and written, as text and LaTeX;
- :mod:`~backproplab.tracer.trace`: the forward and backward pass, unit by unit -> :class:`Trace`;
- :mod:`~backproplab.tracer.checks`: the same numbers from torch autograd and finite differences;
- :mod:`~backproplab.tracer.render`: the trace as terminal text, Markdown, and a figure.

The lesson (``backproplab backprop``, its bundled examples and claims) is
:mod:`backproplab.lessons.backprop_trace`.
"""

from backproplab.tracer.checks import asked_value, check_trace, finite_difference_weights, torch_reference
from backproplab.tracer.network import (
    ACTIVATIONS,
    LOSSES,
    MAX_LAYERS,
    MAX_UNITS,
    Ask,
    Layer,
    Network,
    network_from_dict,
    slug,
)
from backproplab.tracer.notation import NOTATIONS, Notation, Step
from backproplab.tracer.reading import MAX_FILE_BYTES, MAX_NESTING, load_network, network_from_text
from backproplab.tracer.render import figure, format_markdown, format_text
from backproplab.tracer.trace import Trace, loss_value, notation_for, trace
from backproplab.tracer.writing import network_yaml

__all__ = ["ACTIVATIONS", "LOSSES", "MAX_FILE_BYTES", "MAX_LAYERS", "MAX_NESTING", "MAX_UNITS", "NOTATIONS",
           "Ask", "Layer", "Network", "Notation", "Step", "Trace", "asked_value", "check_trace", "figure",
           "finite_difference_weights", "format_markdown", "format_text", "load_network", "loss_value",
           "network_from_dict", "network_from_text", "network_yaml", "notation_for", "slug", "torch_reference", "trace"]
