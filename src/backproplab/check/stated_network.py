"""The network a JKU notebook states for Task 2 (backpropagation by hand), read without running anything.

The rule (docs/checking.md, "Task 2: the network the notebook states"): in the notebook's Task 2
section — from the heading that names Task 2 to the one that names Task 3, the whole notebook when
no heading names Task 2 — a fenced block marked ``yaml`` (or ``yml``, ``json``) in a markdown cell
states a network in the format of ``backproplab backprop`` (the handed-out Task 2 cell holds one;
a student who works with other numbers states them the same way in the answer cell). In a ``.py``
export the markdown is in comment lines, which are read the same way. The last block of the section
is the network the answers are for (an answer comes after its question); a block that cannot be
used is reported, naming what is wrong, and the block before it is tried, then the course example.

Blocks are parsed as data by the tracer's reader (:func:`backproplab.tracer.network_from_text`:
``json.loads`` or a YAML safe loader without aliases, bounded in size and nesting) and validated with
its field-by-field errors; nothing in the notebook is executed.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections import deque
from dataclasses import dataclass

import numpy as np

from backproplab.check.notebook import Cell
from backproplab.errors import InputError
from backproplab.tracer import Ask, Network, network_from_text

#: Largest block read (bytes): a commented 2-3-1 network is about 600 bytes.
MAX_BLOCK_BYTES = 16_384
#: Blocks tried, the last of the section first; the ones before are not read.
MAX_TRIED = 4
#: The task's network: 2 inputs, 3 hidden units, 1 output (units 1, 2; 3, 4, 5; 6).
SIZES = [2, 3, 1]
TASK = ("relu", "identity", "half_squared_error")
FORMATS = {"yaml": False, "yml": False, "json": True}

_HEADING = re.compile(r"^ {0,3}#{1,6}\s*task\s*(\d+)", re.IGNORECASE)
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)")


@dataclass(frozen=True)
class Block:
    """A fenced block in the Task 2 section: where it is (``cell 6 (id jku-task2-answer), line 3``),
    its text (empty when ``too_large``: only its first :data:`MAX_BLOCK_BYTES` were looked at), and
    whether it is JSON (else YAML)."""

    where: str
    text: str
    is_json: bool
    too_large: bool = False


class _Found:
    """The last :data:`MAX_TRIED` network blocks met, as (where, is JSON, raw lines, too large): those in
    the Task 2 section and those of the whole notebook (which are wanted is known only at the end: whether
    a heading names Task 2), with how many of each were met. Memory stays bounded however many blocks
    the notebook has; only the kept ones are ever dedented."""

    def __init__(self) -> None:
        self.task2: deque = deque(maxlen=MAX_TRIED)
        self.anywhere: deque = deque(maxlen=MAX_TRIED)
        self.counts = [0, 0]  # in Task 2's section, anywhere
        self.section, self.named = 0, False

    def add(self, info: str, where: str, body: list[str], too_large: bool) -> None:
        if info not in FORMATS:
            return
        entry = (where, FORMATS[info], body, too_large)
        self.anywhere.append(entry)
        self.counts[1] += 1
        if self.section == 2:
            self.task2.append(entry)
            self.counts[0] += 1

    def result(self) -> tuple[list[Block], int]:
        """The kept blocks of the wanted part, in the notebook's order, and how many that part has."""
        kept, count = (self.task2, self.counts[0]) if self.named else (self.anywhere, self.counts[1])
        return [Block(where, "" if big else textwrap.dedent("\n".join(body)), is_json, big)
                for where, is_json, body, big in kept], count


@dataclass
class Stated:
    """What the notebook states: the network (None: none usable), where, and what the marker should
    know about it (one line each)."""

    network: Network | None
    where: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)


def _prose(cell: Cell, export: bool) -> list[tuple[int, list[str]]]:
    """The text of ``cell`` a notebook's reader sees, as runs of (first line number, lines): a
    markdown or raw cell whole; in a ``.py`` export, each run of comment lines, uncommented."""
    lines = cell.source.splitlines()
    if not export:
        return [(1, lines)] if cell.kind in ("markdown", "raw") else []
    runs: list[tuple[int, list[str]]] = []
    for n, line in enumerate(lines, start=1):
        if not line.startswith("#"):
            continue
        text = line[2:] if line.startswith("# ") else line[1:]
        if runs and runs[-1][0] + len(runs[-1][1]) == n:
            runs[-1][1].append(text)
        else:
            runs.append((n, [text]))
    return runs


def _label(n: int, cell: Cell, line: int) -> str:
    return f"cell {n}" + (f" (id {cell.id})" if cell.id else "") + f", line {line}"


def _scan(first: int, lines: list[str], label, found: _Found) -> None:
    """Add the blocks of one run of text to ``found``, which carries, from run to run, the section and
    whether a heading named Task 2; a heading inside a fence is not a heading. A fence body stops being
    collected once past :data:`MAX_BLOCK_BYTES` (the block is then too large to be read)."""
    fence, info, start, body, size = None, "", 0, [], 0
    for k, line in enumerate(lines):
        if fence is None:
            opening = _FENCE.match(line)
            heading = _HEADING.match(line)
            if opening:
                fence, info, start, body, size = opening.group(2), opening.group(3).lower(), k, [], 0
            elif heading:
                found.section = int(heading.group(1)[:6])
                found.named = found.named or found.section == 2
            continue
        if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            found.add(info, label(first + start), body, size > MAX_BLOCK_BYTES)
            fence = None
        elif size <= MAX_BLOCK_BYTES and info in FORMATS:
            size += len(line.encode("utf-8", errors="replace")) + 1
            body.append(line)
    if fence is not None:  # an unclosed fence runs to the end of the cell, as in Markdown
        found.add(info, label(first + start), body, size > MAX_BLOCK_BYTES)


def _collect(cells: list[Cell], export: bool) -> tuple[list[Block], int]:
    """The last :data:`MAX_TRIED` network blocks of the Task 2 section, in the notebook's order, and
    how many blocks the section has (see the module docstring)."""
    found = _Found()
    for n, cell in enumerate(cells, start=1):
        for first, lines in _prose(cell, export):
            _scan(first, lines, lambda line, n=n, cell=cell: _label(n, cell, line), found)
    return found.result()


def blocks(cells: list[Cell], export: bool) -> list[Block]:
    """The network blocks of the Task 2 section that are tried: the last :data:`MAX_TRIED`, in order."""
    return _collect(cells, export)[0]


def _usable(block: Block) -> Network:
    """The block's network with the task's shape, asking ∂L/∂w₃₂; :class:`InputError` naming what is wrong."""
    if block.too_large:
        raise InputError(f"network {block.where}: the block is over {MAX_BLOCK_BYTES:,} bytes; a 2-3-1 network "
                         "needs under 1,000")
    net = network_from_text(block.text, is_json=block.is_json, source=block.where)
    sizes = [len(net.x)] + [layer.units for layer in net.layers]
    if sizes != SIZES:
        raise InputError(f"network {block.where}: it is a {'-'.join(map(str, sizes))} network; Task 2 is about "
                         "a 2-3-1 network (inputs 1, 2; hidden units 3, 4, 5; output 6)")
    return dataclasses.replace(net, description="", asks=[Ask(layer=1, to=1, source=2)])


def _reason(message: str, block: Block) -> str:
    """The reader's error without its ``network <where>`` prefix (the note names the block already)."""
    prefix = f"network {block.where}"
    if message.startswith(prefix + ": "):
        return message[len(prefix) + 2:]
    return "it" + message[len(prefix):] if message.startswith(prefix + " ") else message


def same_numbers(a: Network, b: Network) -> bool:
    """Whether two networks have the same input, target, loss and layers (names aside)."""
    return (a.loss == b.loss and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
            and len(a.layers) == len(b.layers)
            and all(p.activation == q.activation and np.array_equal(p.W, q.W) and np.array_equal(p.b, q.b)
                    for p, q in zip(a.layers, b.layers, strict=True)))


def stated_network(cells: list[Cell], export: bool) -> Stated:
    """The network the notebook states for Task 2, or None with the reason, and notes for the marker."""
    found, count = _collect(cells, export)
    notes = []
    for block in reversed(found):
        try:
            net = _usable(block)
        except InputError as err:
            notes.append(f"the network block in {block.where} could not be used: {_reason(str(err), block)}")
            continue
        kinds = (net.layers[0].activation, net.layers[1].activation, net.loss)
        if kinds != TASK:
            notes.append(f"the network in {block.where} has hidden {kinds[0]}, output {kinds[1]} and loss "
                         f"{kinds[2]}; the task says relu, identity and half_squared_error (½(y − ŷ)²): the "
                         "answers below are for the network as stated")
        return Stated(net, block.where, notes)
    if count > MAX_TRIED:
        notes.append(f"{count - MAX_TRIED} earlier network block(s) were not read (the last {MAX_TRIED} are)")
    return Stated(None, "", notes)
