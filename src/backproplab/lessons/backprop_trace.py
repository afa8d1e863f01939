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
import os
import shlex
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import tracer
from backproplab.checks import path_arg
from backproplab.errors import InputError
from backproplab.files import atomic_write_text, safe_stem
from backproplab.lessons.result import Claim, LessonResult
from backproplab.tracer import *  # noqa: F403 -- the tracer's public names, re-exported (see __all__)
from backproplab.tracer import (
    NOTATIONS,
    Network,
    Trace,
    asked_value,
    check_trace,
    finite_difference_weights,
    format_markdown,
    format_text,
    load_network,
    slug,
    trace,
)
from backproplab.tracer.checks import max_abs_diff
from backproplab.tracer.network import excerpt
from backproplab.tracer.render import figure, heading

# The lesson's own names, and every public name of the tracer: notebooks and tests written before
# the tracer became a package import them from here (bp.trace, bp.network_from_dict, ...).
__all__ = ["examples", "load_example", "run", *tracer.__all__]

NAME = "backprop"
TITLE = "Backpropagation traced by hand and checked against autograd"
ORDER = 20
DEFAULT_EXAMPLE = "course"


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


def _kink_note(tr: Trace, near: float = 1e-5) -> str:
    """Why finite differences may disagree: the ReLU / leaky-ReLU units whose s sits on the kink at 0.

    There ∂L/∂w is not defined; the trace and autograd take f'(0) from the s < 0 side (relu'(0) = 0,
    leaky'(0) = 0.01), while a central difference with step h straddles the kink (|s| < ``near``) and
    averages the two one-sided slopes, so the two checks cannot agree. '' when no unit is there.
    """
    on_kink = [f"{tr.notation.s(layer, j + 1)[0]} = {s:.3g}" for layer, (spec, values) in
               enumerate(zip(tr.network.layers, tr.s, strict=True), start=1)
               if spec.activation in ("relu", "leaky_relu") for j, s in enumerate(values) if abs(s) < near]
    if not on_kink:
        return ""
    return (f"; {', '.join(on_kink)} lies on relu's kink, where ∂L/∂w is not defined: the trace and autograd "
            "take relu'(0) = 0 (leaky: 0.01), central differences average the slopes on its two sides, so "
            "the weights feeding it (and those below) cannot agree there")


def _overflow_note(tr: Trace) -> str:
    """Why a check's difference is NaN: the first step of the trace that is not a finite number ('' if none).

    A network whose sums pass float64's largest number (about 1.8e308) computes s = inf, and inf − inf
    (or anything − NaN) is NaN: the checks fail because the numbers overflowed, not because a rule is wrong.
    """
    bad = next((st for st in tr.steps if not np.isfinite(st.value)), None)
    if bad is None:
        return ""
    return (f"; {bad.symbol} = {bad.value} is past float64's range (about ±1.8e308), and a difference of "
            "infinities is NaN: choose smaller weights or inputs")


def _claims_for(tr: Trace, checks: dict[str, tuple[float, int]], prefix: str, fd: bool) -> list[Claim]:
    words = {"s": "pre-activations s", "a": "activations a", "loss": "loss L", "delta": "deltas δ = ∂L/∂s",
             "grad_w": "weight gradients ∂L/∂w", "grad_b": "bias gradients ∂L/∂b"}
    overflow = _overflow_note(tr)

    def note(diff: float) -> str:
        return overflow if not np.isfinite(diff) else ""

    claims = [Claim.at_most(f"{prefix}{words[key]} match torch autograd (max abs difference)", diff, 1e-10,
                            f"{count} number{'s' if count > 1 else ''}{note(diff)}")
              for key, (diff, count) in checks.items()]
    if fd:
        num = finite_difference_weights(tr.network)
        diff, count = max_abs_diff(tr.grad_w, num)
        claims.append(Claim.at_most(f"{prefix}weight gradients match central finite differences", diff, 1e-6,
                                    f"{count} numbers, h = 1e-6" + _kink_note(tr) + note(diff)))
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


def run(*, quick: bool = False, seed: int = 0, out: str | Path | None = None, network: str | Path | None = None,
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
    if out is not None:
        _check_out(Path(out))
    if notation not in NOTATIONS:
        raise InputError(f"notation: expected one of {', '.join(NOTATIONS)}, got {excerpt(notation)}")
    net = load_network(network) if network is not None else load_example(example or DEFAULT_EXAMPLE)
    tr = trace(net, notation)
    checks = check_trace(tr)
    claims = _claims_for(tr, checks, "", fd=True)
    tables = {"trace": [{"quantity": st.symbol, "formula": st.formula, "substituted": st.substituted,
                         "value": st.value, "torch": st.torch} for st in tr.steps]}
    text = {"print_trace": format_text(tr), "backprop_trace": format_markdown(tr)}
    figure_name = f"backprop_{slug(net.name)}"  # never the raw name: it is the user's text
    if out is not None and network is not None:
        _refuse_overwriting_input(Path(network), Path(out), figure_name)
    figures = {figure_name: figure(tr)}
    if network is None and example is None:  # also check every other bundled example
        tables["examples"] = _other_examples(net.name, notation, claims, text)
    if out is not None:
        markdown = "\n".join(v for k, v in text.items() if k.startswith("backprop_trace"))
        try:
            atomic_write_text(Path(out) / "backprop_trace.md", markdown)
        except OSError as err:
            raise InputError(f"out: could not write {str(Path(out) / 'backprop_trace.md')!r}: "
                             f"{err.strerror or err}") from None
    return LessonResult(
        name=NAME, title=TITLE,
        params={"network": str(network) if network is not None else None,
                "example": example or (None if network is not None else DEFAULT_EXAMPLE),
                "notation": notation, "quick": quick, "seed": seed},
        claims=claims, figures=figures, tables=tables, text=text)


def _other_examples(done: str, notation: str, claims: list[Claim], text: dict[str, str]) -> list[dict]:
    """Trace and check every bundled example but ``done``: appends claims and Markdown, returns the
    summary table's rows."""
    summary = []
    for name, path in examples().items():
        if name == done:
            continue
        other = trace(load_network(path), notation)
        other_checks = check_trace(other)
        worst = max(d for d, _ in other_checks.values())
        count = sum(c for _, c in other_checks.values())
        claims.append(Claim.at_most(f"example {name!r}: every s, a, L, δ, ∂L/∂w, ∂L/∂b equals torch "
                                    "(max abs difference)", worst, 1e-10, f"{count} numbers"))
        claims += _claims_for(other, {}, f"example {name!r}: ", fd=False)
        summary.append({"example": name, "architecture": heading(other.network)[0],
                        "loss": other.network.loss, "L": other.loss, "max_abs_diff_torch": worst})
        text[f"backprop_trace_{name}"] = format_markdown(other)
    return summary


def _refuse_overwriting_input(network: Path, out: Path, figure_name: str) -> None:
    """Refuse an ``out`` where a file this lesson writes is the network file itself (``backprop
    backprop_trace.md --out .`` replaced the user's network with its trace)."""
    for written in (out / "backprop_trace.md", out / f"{safe_stem(figure_name)}.png"):
        try:
            same = os.path.samefile(written, network)
        except OSError:
            continue
        if same:
            raise InputError(f"out: writing {str(written)!r} would overwrite the network file {str(network)!r}; "
                             "choose another --out or rename the network file")


def _check_out(out: Path) -> None:
    """Refuse an ``out`` that cannot become a directory before any work: an existing file, or a path
    below one."""
    for place in (out, *out.parents):
        if place.exists():
            if not place.is_dir():
                what = "is a file" if place == out else f"is below {str(place)!r}, which is a file"
                raise InputError(f"out: {str(out)!r} {what}; expected a directory (it is created if missing)")
            return


def describe_examples() -> str:
    """One line per bundled example: name, architecture, loss, and what it shows."""
    lines = []
    for name, path in examples().items():
        net = load_network(path)
        first = net.description.split(". ")[0].rstrip(".")
        lines.append(f"{name:<22} {heading(net)[0]}; {net.loss}: {first}.")
    return "\n".join(lines)


def early_output(options: dict[str, Any]) -> str | None:
    """What the CLI prints instead of a trace: ``--example list`` or ``--print-example NAME``; else None.

    Both only print, so each is refused (:class:`InputError`, naming both arguments and what to
    run instead) beside a network FILE, another ``--example`` or ``--out``, which it would
    otherwise ignore without a word.
    """
    printed, example = options.get("print_example"), options.get("example")
    if printed is None and example != "list":
        return None
    ask, does = ((f"--print-example {printed}", "only prints a starter file") if printed is not None
                 else ("--example list", "only lists the bundled examples"))
    conflict = _conflict(options, ask, printed)
    if conflict is not None:
        other, instead = conflict
        raise InputError(f"{ask} cannot be combined with {other}: {ask} {does} and would ignore it; {instead}")
    if printed is not None:
        return examples()[printed].read_text(encoding="utf-8")
    return (f"{describe_examples()}\n\nTrace one: backproplab backprop --example NAME; start your own: "
            "backproplab backprop --print-example course > my_net.yaml\n")


def _conflict(options: dict[str, Any], ask: str, printed: str | None) -> tuple[str, str] | None:
    """The first argument ``--print-example``/``--example list`` would ignore, and what to do instead."""
    if options.get("network") is not None:
        network = str(options["network"])
        return (f"the network file {network!r}",
                f"to trace your file run: backproplab backprop {shlex.quote(network)}")
    if printed is not None and options.get("example") is not None:
        return f"--example {options['example']}", "give only one of them"
    if options.get("out") is not None:
        return (f"--out {excerpt(str(options['out']))}",
                f"to save what it prints, redirect it: backproplab backprop {ask} > FILE")
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI: ``backproplab backprop [NETWORK] [--example NAME|list] [--print-example NAME] [--notation]``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the docstring's layout
    names = list(examples())
    parser.add_argument("network", nargs="?", default=None, type=path_arg("network file"),
                        help="a YAML or JSON network file (default: the bundled course example)")
    parser.add_argument("--example", default=None, choices=names + ["list"],
                        metavar="NAME", help=f"trace a bundled example instead ({', '.join(names)}); "
                                             "'list' describes them")
    parser.add_argument("--print-example", dest="print_example", choices=names, metavar="NAME",
                        default=argparse.SUPPRESS,  # never reaches run(): early_output() prints it
                        help="print a bundled example's file (no trace): a starter to edit, e.g. "
                             "'backproplab backprop --print-example course > my_net.yaml'")
    parser.add_argument("--notation", default="global", choices=list(NOTATIONS),
                        help="global (default, as the JKU course): units numbered 1, 2, ... through the "
                             "network, w_ij from unit j into unit i; layer: numbered within each layer, "
                             "w(l)_jk from unit k of layer l-1 into unit j of layer l")
