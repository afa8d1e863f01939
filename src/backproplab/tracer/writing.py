"""A network written back as the file format: YAML that :func:`~backproplab.tracer.load_network`
(or :func:`~backproplab.tracer.network_from_text`) reads into the same network.

The comments name every number in the course's global numbering (inputs 1..n₀, then the units of
each layer in turn; w_ij from unit j into unit i), so the text can be handed to a student as the
statement of a network: the JKU notebook's Task 2 cell is made with :func:`network_yaml`.
"""

from __future__ import annotations

import json

from backproplab.tracer.network import Network


def _num(value: float) -> str:
    """A number as YAML reads it back exactly (``repr`` of a float: ``-0.4``, ``2.0``, ``1e-05``)."""
    text = repr(float(value))
    return text if "e" not in text or "." in text.split("e")[0] else text.replace("e", ".0e", 1)


def _row(values) -> str:
    return "[" + ", ".join(_num(v) for v in values) + "]"


def network_yaml(net: Network, *, name: bool = False) -> str:
    """``net`` as YAML: input, target, loss, then each layer's activation, weights (one row per unit,
    its weights from the units below) and biases, every line commented with the global unit numbers.

    ``name``: write the network's name too. The description and asked gradients are left out (a
    statement of a network, not of its answers).
    """
    sizes = [len(net.x)] + [layer.units for layer in net.layers]
    first = [1 + sum(sizes[:i]) for i in range(len(sizes))]  # global number of each layer's first unit
    units = lambda li: range(first[li], first[li] + sizes[li])  # noqa: E731
    inputs = ", ".join(f"x{u}" for u in units(0))
    outputs = list(units(len(sizes) - 1))
    lines = [f"name: {json.dumps(net.name, ensure_ascii=False)}"] if name else []
    lines += [f"input: {_row(net.x)}    # {inputs} (units {', '.join(map(str, units(0)))})",
              f"target: {_row(net.y)}    # y (unit{'s' if len(outputs) > 1 else ''} "
              f"{', '.join(map(str, outputs))})", f"loss: {net.loss}", "layers:"]
    for li, layer in enumerate(net.layers, start=1):
        below = list(units(li - 1))
        lines += [f"  - activation: {layer.activation}", "    weights:"]
        for j, unit in enumerate(units(li)):
            names = ", ".join(f"w{unit}{k}" for k in below)
            lines.append(f"      - {_row(layer.W[:, j])}    # unit {unit}: {names}")
        lines.append(f"    biases: {_row(layer.b)}    # {', '.join(f'b{u}' for u in units(li))}")
    return "\n".join(lines) + "\n"
