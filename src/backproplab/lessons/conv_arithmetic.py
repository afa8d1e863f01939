"""Convolution arithmetic: output sizes, parameter counts, a convolution by hand, a CNN's shapes.

A 2-D convolution layer slides ``out_channels`` kernels of shape ``[in_channels, k, k]`` over its
(zero-padded) input. Along one axis of length ``n`` the output has

    floor((n + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1

positions, and the layer owns ``out_channels * in_channels * kh * kw`` weights plus one bias per
output channel. This lesson computes both by formula, checks them against ``torch.nn.Conv2d``,
writes the convolution itself as plain loops (a cross-correlation, as PyTorch computes it), and
walks an image through :class:`backproplab.torchnn.PyTorchCNN` layer by layer.

The arithmetic itself lives in :mod:`backproplab.convolution` (re-exported here); this module
is the lesson.

Run it: ``backproplab conv`` — or ask your own question:
``backproplab conv --size 32 --kernel 5 --padding 2 --stride 2 --in-channels 3 --out-channels 16``;
``--size H W`` for a non-square input (height × width), e.g. ``--size 10 12 --kernel 6 --padding 2
--stride 2`` → 5×6. Every answer prints its formula with the numbers substituted.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from backproplab.checks import check_seed, short_repr
from backproplab.convolution import (
    conv2d,
    conv_output_size,
    conv_params,
    coverage_note,
    int_pair,
    output_size_formula,
    params_formula,
    shape_walk,
)
from backproplab.errors import InputError
from backproplab.lessons.result import Claim, LessonResult

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.

NAME = "conv"
TITLE = "Convolution arithmetic: output sizes, parameter counts, a convolution by hand"
ORDER = 50

__all__ = ["conv_output_size", "conv_params", "conv2d", "shape_walk", "output_size_formula", "params_formula",
           "coverage_note", "run"]


def _size_pair(size: Any) -> tuple[int, int] | None:
    """``--size N`` or ``--size H W`` (a list from the CLI, an int or a pair in Python) as (height, width)."""
    if size is None:
        return None
    if isinstance(size, (tuple, list)) and len(size) == 1:
        size = size[0]
    if isinstance(size, (tuple, list)) and len(size) != 2:
        raise InputError(f"size must be one number N (square) or two numbers H W (height, width), got {list(size)}")
    return int_pair(size, "size", 1)


# The questions a course asks, with the answers worked by hand.
#   (question, function, kwargs, answer worked by hand)
COURSE_QUESTIONS: list[tuple[str, str, dict[str, Any], int]] = [
    ("28x28 input, 3x3 kernel, no padding, stride 1 -> output size (28-3+1)",
     "size", {"n": 28, "kernel": 3}, 26),
    ("28x28 input, 3x3 kernel, padding 1, stride 1 -> 'same' size", "size",
     {"n": 28, "kernel": 3, "padding": 1}, 28),
    ("32x32 input, 5x5 kernel, padding 0, stride 1 -> 28 (LeNet's first layer)",
     "size", {"n": 32, "kernel": 5}, 28),
    ("32x32 input, 5x5 kernel, padding 2, stride 2 -> floor((32+4-5)/2)+1", "size",
     {"n": 32, "kernel": 5, "padding": 2, "stride": 2}, 16),
    ("7x7 input, 3x3 kernel, stride 2, no padding -> 3", "size", {"n": 7, "kernel": 3, "stride": 2}, 3),
    ("227x227 input, 11x11 kernel, stride 4 -> 55 (AlexNet conv1)", "size",
     {"n": 227, "kernel": 11, "stride": 4}, 55),
    ("28x28 input, 2x2 max-pool, stride 2 -> 14", "pool", {"n": 28, "kernel": 2, "stride": 2}, 14),
    ("7x7 input, 2x2 max-pool, stride 2 -> 3 (the last row and column are dropped)", "pool",
     {"n": 7, "kernel": 2, "stride": 2}, 3),
    ("7x7 input, 3x3 kernel, dilation 2 -> 3 (the kernel spans 5)", "size",
     {"n": 7, "kernel": 3, "dilation": 2}, 3),
    ("single channel: Conv2d(1, 1, 3) has 3*3 + 1 parameters", "params",
     {"in_channels": 1, "out_channels": 1, "kernel": 3}, 10),
    ("Conv2d(1, 32, 3) has 32*(1*3*3) + 32 parameters", "params",
     {"in_channels": 1, "out_channels": 32, "kernel": 3}, 320),
    ("RGB input: Conv2d(3, 64, 3) has 64*(3*3*3) + 64 parameters", "params",
     {"in_channels": 3, "out_channels": 64, "kernel": 3}, 1792),
    ("Conv2d(3, 6, 5) (LeNet) has 6*(3*5*5) + 6 parameters", "params",
     {"in_channels": 3, "out_channels": 6, "kernel": 5}, 456),
    ("Conv2d(64, 128, 3) has 128*(64*3*3) + 128 parameters", "params",
     {"in_channels": 64, "out_channels": 128, "kernel": 3}, 73856),
    ("Conv2d(16, 32, 1, bias=False) (a 1x1 conv mixes channels) has 32*16 parameters", "params",
     {"in_channels": 16, "out_channels": 32, "kernel": 1, "bias": False}, 512),
]


def _torch_size(n: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    return _torch_size_hw(n, n, kernel, padding, stride, dilation)[1]


def _torch_size_hw(h: int, w: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1
                   ) -> tuple[int, int]:
    """(height, width) of ``torch.nn.Conv2d``'s output for an ``h``×``w`` input."""
    import torch

    layer = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation, bias=False)
    with torch.no_grad():
        shape = layer(torch.zeros(1, 1, h, w)).shape
    return int(shape[-2]), int(shape[-1])


def _torch_pool_size(n: int, kernel: int, stride: int) -> int:
    import torch

    with torch.no_grad():
        return int(torch.nn.MaxPool2d(kernel, stride=stride)(torch.zeros(1, 1, n, n)).shape[-1])


def _torch_params(in_channels: int, out_channels: int, kernel: int, bias: bool = True) -> int:
    """torch's parameter count of ``Conv2d(in_channels, out_channels, kernel)``, built on the meta
    device: shapes only, no memory, so a real network's widest layer costs nothing to count."""
    import torch

    layer = torch.nn.Conv2d(in_channels, out_channels, kernel, bias=bias, device="meta")
    return int(sum(p.numel() for p in layer.parameters()))


def _demo_image(size: int = 28) -> np.ndarray:
    """A synthetic grey image [size, size]: a bright square with a diagonal bar across it."""
    img = np.zeros((size, size))
    a, b = size // 4, 3 * size // 4
    img[a:b, a:b] = 1.0
    idx = np.arange(size)
    img[idx, idx] = 0.5
    return img


MAX_OWN_ELEMENTS = 2**22
"""Largest padded input or output (values per channel, 16 MiB as float32) torch builds for one's own layer."""
MAX_OWN_WORK = 2**25
"""Largest number of multiply-adds (output positions x kernel taps) of one's own layer's torch check."""
MAX_OWN_PARAMS = 2**40
"""Largest parameter count of one's own ``Conv2d`` (torch counts it on the meta device, at no cost;
this only keeps its 64-bit sizes far from overflow)."""


def _check_own_layer_cost(size: tuple[int, int] | None, kernel: int | None, padding: int,
                          own_size: tuple[int, int] | None, own_params: int | None) -> None:
    """Refuse one's own layer when torch's cross-check would need absurd memory or work (before any).

    The torch check builds a ``[1, 1, H + 2*padding, W + 2*padding]`` input and a
    ``Conv2d(in_channels, out_channels, kernel)``; the input and output are held to ``MAX_OWN_ELEMENTS``
    values, the convolution to ``MAX_OWN_WORK`` multiply-adds, the layer to ``MAX_OWN_PARAMS`` parameters. ``size`` and ``own_size`` are (height, width).
    """
    if size is not None:
        (h, w), (oh, ow) = size, own_size
        padded = (h + 2 * padding) * (w + 2 * padding)
        square = h == w
        given = f"n={short_repr(h)}" if square else f"H={short_repr(h)}, W={short_repr(w)}"
        if max(padded, oh * ow) > MAX_OWN_ELEMENTS:
            bound = (f"(n + 2*padding)^2 <= {MAX_OWN_ELEMENTS} (n + 2*padding <= {int(MAX_OWN_ELEMENTS**0.5)})"
                     if square else f"(H + 2*padding)*(W + 2*padding) <= {MAX_OWN_ELEMENTS}")
            raise InputError(f"size: {given} with padding={short_repr(padding)} makes an input of "
                             f"{_big(padded)} values; expected {bound}")
        work = oh * ow * kernel**2
        if work > MAX_OWN_WORK:
            raise InputError(f"kernel: {short_repr(kernel)} over a {oh}x{ow} output is {_big(work)} "
                             f"multiply-adds; expected output_size^2 * kernel^2 <= {MAX_OWN_WORK}")
    if own_params is not None and own_params > MAX_OWN_PARAMS:
        raise InputError(f"--in-channels, --out-channels and --kernel: this Conv2d would hold {_big(own_params)} "
                         f"parameters (in * out * kernel^2 + out); expected at most {_big(MAX_OWN_PARAMS)}")


def _big(n: int) -> str:
    """A count as exact digits up to 10^15 (``1,099,511,627,777``: a refused count just over its bound must
    not read the same as the bound), ``1.23e+18`` beyond, ``about 2^N`` beyond float range."""
    if n < 10**15:
        return f"{n:,}"
    return f"{float(n):.3g}" if n.bit_length() < 1000 else f"about 2^{n.bit_length()}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for asking one's own question: ``--size --kernel --padding --stride ...``."""
    group = parser.add_argument_group("your own layer (answered as extra claims)")
    group.add_argument("--size", type=int, nargs="+", default=None, metavar="N",
                       help="input size: N for N×N, or H W for height × width (e.g. --size 10 12)")
    group.add_argument("--kernel", type=int, default=None, help="kernel size k")
    group.add_argument("--padding", type=int, default=0, help="zero padding per side (default 0)")
    group.add_argument("--stride", type=int, default=1, help="stride (default 1)")
    group.add_argument("--dilation", type=int, default=1, help="dilation (default 1)")
    group.add_argument("--in-channels", dest="in_channels", type=int, default=None, help="input channels")
    group.add_argument("--out-channels", dest="out_channels", type=int, default=None, help="output channels")


def run(*, quick: bool = False, seed: int = 0,
        size: int | tuple[int, int] | None = None,
        kernel: int | None = None, padding: int = 0, stride: int = 1, dilation: int = 1,
        in_channels: int | None = None, out_channels: int | None = None) -> LessonResult:
    """Run the convolution-arithmetic lesson.

    Parameters
    ----------
    quick : bool
        Fewer random configurations in the torch cross-check (same claims).
    seed : int
        Seed of the random configurations, inputs and filters.
    size, kernel, padding, stride, dilation, in_channels, out_channels
        Optionally one's own layer: with ``size`` (N for N×N, or a pair (H, W): height × width) and
        ``kernel`` the output size is computed, printed with its formula and checked against torch;
        with ``in_channels`` and ``out_channels`` too, the parameter count.
        A kernel larger than the padded input raises :class:`~backproplab.errors.InputError`.
    """
    seed = check_seed(seed)
    # Validate the user's own question first, so bad input fails before any work.
    if (in_channels is None) != (out_channels is None):
        raise InputError("in_channels and out_channels must be given together")
    if kernel is None and (size is not None or in_channels is not None):
        raise InputError("kernel must be given with size or with in_channels/out_channels (e.g. --kernel 3)")
    if kernel is not None and size is None and in_channels is None:
        raise InputError("kernel needs size (for an output size) or in_channels and out_channels "
                         "(for a parameter count)")
    shaping = {"padding": padding, "stride": stride, "dilation": dilation}
    if size is None and shaping != {"padding": 0, "stride": 1, "dilation": 1}:  # were ignored without a word
        given = ", ".join(f"{k}={short_repr(v)}" for k, v in shaping.items() if v != (0 if k == "padding" else 1))
        raise InputError(f"{given}: padding, stride and dilation only shape an output size, and none is asked; "
                         "give size and kernel with them (e.g. --size 28 --kernel 3)")
    size = _size_pair(size)
    own_size = tuple(conv_output_size(n, kernel, padding, stride, dilation) for n in size) if size else None
    for name in ("stride", "dilation"):  # checked integers by now; torch cannot take 2**63 and beyond
        if size and shaping[name] > MAX_OWN_ELEMENTS:
            raise InputError(f"{name} must be at most {MAX_OWN_ELEMENTS} (no input the lesson checks is larger), "
                             f"got {short_repr(shaping[name])}")
    own_params = conv_params(in_channels, out_channels, kernel) if in_channels is not None else None
    _check_own_layer_cost(size, kernel, padding, own_size, own_params)
    from backproplab.torchnn.threads import one_torch_thread  # imports torch: only once the input is valid

    with one_torch_thread():
        return _run(quick, seed, size, kernel, padding, stride, dilation, in_channels, out_channels,
                    own_size, own_params)


def _run(quick: bool, seed: int, size: tuple[int, int] | None, kernel: int | None, padding: int, stride: int,
         dilation: int, in_channels: int | None, out_channels: int | None, own_size: tuple[int, int] | None,
         own_params: int | None) -> LessonResult:
    import torch

    rng = np.random.default_rng(seed)
    result = LessonResult(NAME, TITLE, params={"quick": quick, "seed": seed})
    claims = result.claims

    # 1. The course's questions, one claim each: the formula against the hand-worked answer, and torch.
    result.tables["course_questions"] = _course_questions(claims)

    # 2. Random layers: formula vs torch.nn.Conv2d for output size and parameter count.
    n_random = 60 if quick else 300
    mismatches = 0
    for _ in range(n_random):
        k = int(rng.integers(1, 6))
        d = int(rng.integers(1, 3))
        p = int(rng.integers(0, 3))
        s = int(rng.integers(1, 4))
        n = int(rng.integers(max(1, d * (k - 1) + 1 - 2 * p), 33))
        cin, cout = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        bias = bool(rng.integers(0, 2))
        layer = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, bias=bias)
        with torch.no_grad():
            shape = layer(torch.zeros(1, cin, n, n)).shape
        n_params = sum(q.numel() for q in layer.parameters())
        mismatches += int(shape[-1] != conv_output_size(n, k, p, s, d))
        mismatches += int(n_params != conv_params(cin, cout, k, bias))
    claims.append(Claim.at_most(f"formula vs torch.nn.Conv2d on {n_random} random layers: mismatches",
                                mismatches, 0))

    # 3. The loop convolution equals torch.nn.functional.conv2d.
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    worst = 0.0
    for s, p, d in [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 1)]:
        ours = conv2d(x, w, b, stride=s, padding=p, dilation=d)
        ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                                         stride=s, padding=p, dilation=d).numpy()
        if ours.shape != ref.shape:
            worst = float("inf")
            break
        worst = max(worst, float(np.abs(ours - ref).max()))
    claims.append(Claim.at_most("loop conv2d vs torch.nn.functional.conv2d (float64): max |difference|",
                                worst, 1e-12, evidence="4 stride/padding/dilation settings, batch 2, 3->4 channels"))

    # an edge detector on a picture, by hand and by torch
    img = _demo_image()
    sobel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    edges = conv2d(img[None], sobel[None, None], padding=1)[0]
    edges_t = torch.nn.functional.conv2d(torch.from_numpy(img)[None, None], torch.from_numpy(sobel)[None, None],
                                         padding=1)[0, 0].numpy()
    flipped = conv2d(img[None], sobel[::-1, ::-1].copy()[None, None], padding=1)[0]
    claims.append(Claim.holds("it is cross-correlation: a true (flipped-kernel) convolution gives -1 x the "
                              "Sobel response here", bool(np.allclose(flipped, -edges)),
                              value=float(np.abs(flipped + edges).max())))

    # 4. The shape walk through PyTorchCNN.
    walk, total = _walk_claims(result, seed)

    # 5. The user's own question, answered first: what they asked should not sit under twenty other lines.
    own: list[Claim] = []
    if own_size is not None:
        own.append(_own_size_claim(size, own_size, kernel, padding, stride, dilation))
        result.params.update(size=list(size) if size[0] != size[1] else size[0], kernel=kernel, padding=padding,
                             stride=stride, dilation=dilation)
    if own_params is not None:
        theirs = _torch_params(in_channels, out_channels, kernel)
        own.append(Claim.close_to(f"your layer: Conv2d({in_channels}, {out_channels}, {kernel}) parameters "
                                  f"(torch: {theirs})", own_params, theirs, 0,
                                  evidence=params_formula(in_channels, out_channels, kernel)))
        result.params.update(in_channels=in_channels, out_channels=out_channels)
    claims[:0] = own

    result.figures.update(_figures(img, sobel, edges, edges_t, walk, total))
    return result


def _walk_claims(result: LessonResult, seed: int) -> tuple[list[dict[str, Any]], int]:
    """Walk an image through PyTorchCNN: its table, text and claims go into ``result``; (walk, total)."""
    from backproplab.torchnn import PyTorchCNN

    claims = result.claims
    model = PyTorchCNN(num_classes=10, seed=seed)
    walk = shape_walk(model, (1, 1, 28, 28))
    result.tables["pytorchcnn_shape_walk"] = walk
    total = sum(r["params"] for r in walk)
    torch_total = sum(q.numel() for q in model.parameters() if q.requires_grad)
    claims.append(Claim.close_to("PyTorchCNN: parameters summed over the walk == model.parameters()",
                                 total, torch_total, 0))
    predicted_ok = all(r["predicted"] == r["output_shape"][-1] for r in walk if "predicted" in r)
    formula_ok = all(r["formula_params"] == r["params"] for r in walk if "formula_params" in r)
    n_spatial = sum("predicted" in r for r in walk)
    claims.append(Claim.holds(f"PyTorchCNN: conv_output_size predicts all {n_spatial} conv/pool output sizes",
                              predicted_ok and n_spatial > 0,
                              value=" -> ".join(str(r["output_shape"][-1]) for r in walk if "predicted" in r)))
    claims.append(Claim.holds("PyTorchCNN: conv_params predicts every conv layer's parameter count", formula_ok,
                              value=[r["params"] for r in walk if "formula_params" in r]))
    claims.append(Claim.holds("PyTorchCNN maps [1, 1, 28, 28] to [1, 10]", walk[-1]["output_shape"] == [1, 10],
                              value=str(walk[-1]["output_shape"])))
    result.text["print_shape_walk"] = _format_walk(walk, total)
    return walk, total


def _course_questions(claims: list[Claim]) -> list[dict[str, Any]]:
    """One claim per course question (appended to ``claims``); returns the table's rows."""
    rows = []
    for question, kind, kwargs, answer in COURSE_QUESTIONS:
        if kind == "size":
            ours, theirs, layer = conv_output_size(**kwargs), _torch_size(**kwargs), "Conv2d"
        elif kind == "pool":
            ours, theirs, layer = conv_output_size(**kwargs), _torch_pool_size(**kwargs), "MaxPool2d"
        else:
            ours, theirs, layer = conv_params(**kwargs), _torch_params(**kwargs), "Conv2d"
        worked = params_formula(**kwargs) if kind == "params" else output_size_formula(**kwargs)
        rows.append({"question": question, "formula": ours, "worked": worked, "by hand": answer, "torch": theirs,
                     "agree": ours == answer == theirs})
        claims.append(Claim(question, ours, f"= {answer} (by hand) = torch", ours == answer == theirs,
                            evidence=f"{worked}; torch.nn.{layer} gives {theirs}"))
    return rows


def _figures(img: np.ndarray, sobel: np.ndarray, edges: np.ndarray, edges_t: np.ndarray,
             walk: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """The edge detector by hand and by torch, and where PyTorchCNN's parameters live."""
    import matplotlib.figure

    fig = matplotlib.figure.Figure(figsize=(11, 3.2))
    axes = fig.subplots(1, 4)
    diff = edges - edges_t
    panels = [(img, "input 28x28"), (sobel, "kernel (Sobel x)"), (edges, "loop conv2d, padding 1"),
              (diff, f"loop - torch (max |diff| {np.max(np.abs(diff)):.1e})")]
    for ax, (data, label) in zip(axes, panels, strict=True):
        im = ax.imshow(data, cmap="gray" if data is img else "RdBu_r")
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle("A convolution by hand equals torch's (cross-correlation: the kernel is not flipped)")

    fig2 = matplotlib.figure.Figure(figsize=(9, 4))
    ax = fig2.subplots()
    owning = [r for r in walk if r["params"] > 0]
    ax.barh([f"{r['layer']} ({r['type']})" for r in owning][::-1], [r["params"] for r in owning][::-1])
    ax.set_xscale("log")
    ax.set_xlabel("learnable parameters (log scale)")
    ax.set_title(f"PyTorchCNN: {total:,} parameters; image side after each block's pooling "
                 + " -> ".join(str(r["output_shape"][-1]) for r in walk if r["type"] == "MaxPool2d"), fontsize=9)
    fig2.tight_layout()
    return {"conv_by_hand": fig, "pytorchcnn_params": fig2}


def _own_size_claim(size: tuple[int, int], own: tuple[int, ...], kernel: int, padding: int, stride: int,
                    dilation: int) -> Claim:
    """The user's output-size question as a claim, each axis's formula in the evidence."""
    theirs = _torch_size_hw(size[0], size[1], kernel, padding, stride, dilation)
    setting = f"kernel={kernel}, padding={padding}, stride={stride}, dilation={dilation}"
    if size[0] == size[1]:
        note = coverage_note(size[0], kernel, padding, stride, dilation)
        worked = output_size_formula(size[0], kernel, padding, stride, dilation)
        return Claim.close_to(f"your layer: n={size[0]}, {setting} -> output size (torch: {theirs[1]})",
                              own[1], theirs[1], 0,
                              evidence=worked + (f"; along each axis (rows and columns): {note}" if note else ""))
    worked = "; ".join(f"{axis}: {output_size_formula(n, kernel, padding, stride, dilation)}"
                       + (f" ({note})" if (note := coverage_note(n, kernel, padding, stride, dilation)) else "")
                       for axis, n in zip(("height", "width"), size, strict=True))
    return Claim(f"your layer: {size[0]}×{size[1]} input (height × width), {setting} -> output height × width "
                 f"(torch: {theirs[0]}×{theirs[1]})", f"{own[0]}×{own[1]}", f"= torch's {theirs[0]}×{theirs[1]}",
                 tuple(own) == theirs, evidence=worked)


def _format_walk(walk: list[dict[str, Any]], total: int) -> str:
    lines = ["PyTorchCNN shape walk (input [1, 1, 28, 28])",
             f"  {'layer':<22} {'type':<12} {'output shape':<20} {'params':>9}"]
    for r in walk:
        lines.append(f"  {r['layer']:<22} {r['type']:<12} {str(r['output_shape']):<20} {r['params']:>9,}")
    lines.append(f"  {'total':<22} {'':<12} {'':<20} {total:>9,}")
    return "\n".join(lines)
