"""The arithmetic of a 2-D convolution layer: output sizes, parameter counts, the convolution as loops.

Along one axis of length ``n`` a convolution (or pooling) layer's output has

    floor((n + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1

positions, and a ``Conv2d`` owns ``out_channels * in_channels * kh * kw`` weights plus one bias per
output channel. :func:`conv2d` writes the layer itself as plain loops (a cross-correlation, as
PyTorch computes it); :func:`shape_walk` lists a model's layer output shapes. The lesson that
teaches these is :mod:`backproplab.lessons.conv_arithmetic`.

Shapes: ``conv2d(x [N, C_in, H, W] or [C_in, H, W], w [C_out, C_in, kh, kw], b [C_out])``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from backproplab.errors import InputError

__all__ = ["conv_output_size", "conv_params", "conv2d", "shape_walk", "output_size_formula", "params_formula",
           "coverage_note", "int_pair"]


def _int(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; InputError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def int_pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each >= ``minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InputError(f"{name} must be an integer or a pair (height, width), got {value!r}")
        return _int(value[0], f"{name}[0]", minimum), _int(value[1], f"{name}[1]", minimum)
    v = _int(value, name, minimum)
    return v, v


def conv_output_size(n: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """Output length of a convolution (or pooling) along one axis, as ``torch.nn.Conv2d`` computes it.

    Parameters
    ----------
    n : int
        Input length along the axis (>= 1), e.g. the image height.
    kernel : int
        Kernel length (>= 1).
    padding : int
        Zeros added on *each* side (>= 0).
    stride : int
        Step between kernel positions (>= 1).
    dilation : int
        Spacing between kernel taps (>= 1); the kernel spans ``dilation*(kernel-1)+1`` inputs.

    Returns
    -------
    int
        ``(n + 2*padding - dilation*(kernel-1) - 1) // stride + 1``.

    Raises
    ------
    InputError (a ValueError)
        When an argument is not an integer in range, or when the (dilated) kernel is larger than
        the padded input, so that not even one output position exists.

    Examples
    --------
    >>> conv_output_size(28, 3, padding=1)
    28
    >>> conv_output_size(32, 5, stride=2)
    14
    """
    n = _int(n, "n", 1)
    kernel = _int(kernel, "kernel", 1)
    padding = _int(padding, "padding", 0)
    stride = _int(stride, "stride", 1)
    dilation = _int(dilation, "dilation", 1)
    span = dilation * (kernel - 1) + 1
    padded = n + 2 * padding
    if span > padded:
        what = f"kernel {kernel}" if dilation == 1 else f"kernel {kernel} with dilation {dilation} (span {span})"
        raise InputError(f"{what} is larger than the padded input: n={n} with padding={padding} per side "
                         f"is {padded} wide; expected a kernel span <= n + 2*padding")
    return (padded - span) // stride + 1


def conv_params(in_channels: int, out_channels: int, kernel: int | tuple[int, int], bias: bool = True) -> int:
    """Number of learnable parameters of a ``Conv2d(in_channels, out_channels, kernel)`` layer.

    Each of the ``out_channels`` filters has one ``kh x kw`` kernel per input channel, plus (with
    ``bias``) one bias: ``out_channels * (in_channels * kh * kw + bias)``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts (>= 1).
    kernel : int or (int, int)
        Kernel size; an int means a square kernel.
    bias : bool
        Whether the layer has a bias per output channel.

    Returns
    -------
    int

    Examples
    --------
    >>> conv_params(1, 32, 3)      # 32 filters of 1x3x3, plus 32 biases
    320
    >>> conv_params(3, 64, 3)      # an RGB input: each filter is 3x3x3
    1792
    """
    in_channels = _int(in_channels, "in_channels", 1)
    out_channels = _int(out_channels, "out_channels", 1)
    kh, kw = int_pair(kernel, "kernel", 1)
    if not isinstance(bias, (bool, np.bool_)):
        raise InputError(f"bias must be True or False, got {bias!r}")
    return out_channels * (in_channels * kh * kw + int(bool(bias)))


def output_size_formula(n: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> str:
    """:func:`conv_output_size` written out with the numbers substituted, e.g.
    ``"⌊(10 + 2·2 − 6)/2⌋ + 1 = 5"`` (the dilated span ``d·(k−1)+1`` appears when ``dilation > 1``)."""
    out = conv_output_size(n, kernel, padding, stride, dilation)
    span = str(kernel) if dilation == 1 else f"({dilation}·({kernel} − 1) + 1)"
    return f"⌊({n} + 2·{padding} − {span})/{stride}⌋ + 1 = {out}"


def coverage_note(n: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> str:
    """What the output-size formula hides along one axis, in words ('' when nothing is hidden).

    The floor in :func:`conv_output_size` silently drops the input positions past the last window
    when the stride does not divide ``n + 2*padding - span``, and a dilated kernel with a stride can
    skip positions between windows too: those inputs are never read by any tap (their gradient is
    always 0). An unread position is named "after the last window" only when it lies past the last
    window's last tap (the floor's remainder, ``(n + 2*padding - span) mod stride``, is larger than the
    right padding); one before it, even when that window's taps there land in the padding, lies
    "between windows". With a padding of at least the kernel's span, windows at the edges read only
    zeros, so their output is just the bias. Positions are 0-based indices into the unpadded input.
    """
    out = conv_output_size(n, kernel, padding, stride, dilation)
    taps = (np.arange(out)[:, None] * stride + np.arange(kernel)[None, :] * dilation) - padding
    inside = (taps >= 0) & (taps < n)
    unread = np.setdiff1d(np.arange(n), taps[inside])
    notes = []
    if not inside.any():
        return (f"no tap of any window lands on one of the {n} input positions (the dilated kernel steps over "
                f"them into the padding): all {out} outputs are just the bias")
    if unread.size:
        shown = ", ".join(str(int(i)) for i in unread[:8]) + (", …" if unread.size > 8 else "")
        # the last window's last tap, wherever it lands (in the input or in the right padding): only the
        # positions past it are dropped by the floor; the others lie between windows or between taps
        last = int(taps.max())
        between, after = unread[unread < last], unread[unread > last]
        why = []
        if between.size:
            why.append(f"{_list(between)} fall between windows or between the taps of a window (stride "
                       f"{stride}, dilation {dilation})")
        if after.size:
            rest = (n + 2 * padding - (dilation * (kernel - 1) + 1)) % stride
            why.append(f"{_list(after)} after the last window: the stride {stride} leaves "
                       f"(n + 2·padding − span) mod stride = {rest} at the end, which the floor drops")
        notes.append(f"{unread.size} of the {n} input positions (0-based: {shown}) are never read by the kernel "
                     f"({'; '.join(why)})")
    empty = int((~inside.any(axis=1)).sum())
    if empty:
        notes.append(f"{empty} of the {out} output positions see only zero padding (their output is the bias)")
    return "; ".join(notes)


def _list(indices: np.ndarray) -> str:
    """Up to 6 indices, 'a, b, …' beyond."""
    return ", ".join(str(int(i)) for i in indices[:6]) + (", …" if indices.size > 6 else "")


def params_formula(in_channels: int, out_channels: int, kernel: int | tuple[int, int], bias: bool = True) -> str:
    """:func:`conv_params` written out, e.g. ``"1·(3·3·3 + 1) = 28"`` (filters·(channels·kh·kw + bias))."""
    total = conv_params(in_channels, out_channels, kernel, bias)
    kh, kw = int_pair(kernel, "kernel", 1)
    inner = f"{in_channels}·{kh}·{kw}"
    return f"{out_channels}·({inner} + 1) = {total}" if bias else f"{out_channels}·{inner} = {total}"


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1) -> np.ndarray:
    """2-D convolution written as loops — a cross-correlation, exactly as ``torch.nn.functional.conv2d``.

    ``out[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * xpad[n, c, i*stride + p*dilation, j*stride + q*dilation]``

    The kernel is *not* flipped (that is what deep-learning libraries call convolution).

    Parameters
    ----------
    x : array [N, C, H, W] or [C, H, W]
        Input batch (an unbatched image gives an unbatched output).
    w : array [O, C, kh, kw]
        Filters.
    b : array [O] or None
        Bias per output channel.
    stride, padding, dilation : int or (int, int)
        As in ``torch.nn.Conv2d``; padding adds zeros on each side.

    Returns
    -------
    array [N, O, H_out, W_out] (or [O, H_out, W_out]), float64 unless the inputs are float32,
    with ``H_out = conv_output_size(H, kh, padding, stride, dilation)`` and likewise for W.
    """
    x = np.asarray(x)
    w = np.asarray(w)
    for arr, name in ((x, "x"), (w, "w")):
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise InputError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    if x.ndim != 4:
        raise InputError(f"x must have shape [N, C, H, W] or [C, H, W], got shape {x.shape}")
    if w.ndim != 4:
        raise InputError(f"w must have shape [O, C, kh, kw], got shape {w.shape}")
    n_batch, c_in, h, wd = x.shape
    c_out, c_w, kh, kw = w.shape
    if c_w != c_in:
        raise InputError(f"w has {c_w} input channel(s) (shape {w.shape}) but x has {c_in} (shape {x.shape})")
    if b is not None:
        b = np.asarray(b)
        if b.shape != (c_out,):
            raise InputError(f"b must have shape [{c_out}] (one bias per filter), got shape {b.shape}")
    sh, sw = int_pair(stride, "stride", 1)
    ph, pw = int_pair(padding, "padding", 0)
    dh, dw = int_pair(dilation, "dilation", 1)
    h_out = conv_output_size(h, kh, ph, sh, dh)
    w_out = conv_output_size(wd, kw, pw, sw, dw)

    dtype = np.result_type(x.dtype, w.dtype, np.float32 if x.dtype == np.float32 else np.float64)
    xpad = np.zeros((n_batch, c_in, h + 2 * ph, wd + 2 * pw), dtype=dtype)
    xpad[:, :, ph:ph + h, pw:pw + wd] = x
    out = np.zeros((n_batch, c_out, h_out, w_out), dtype=dtype)
    for i in range(h_out):
        for j in range(w_out):
            top, left = i * sh, j * sw
            # the receptive field of output (i, j): [N, C, kh, kw]
            patch = xpad[:, :, top:top + dh * (kh - 1) + 1:dh, left:left + dw * (kw - 1) + 1:dw]
            # every filter o against that patch: sum over channels and kernel taps
            for o in range(c_out):
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b.astype(dtype)[None, :, None, None]
    return out[0] if unbatched else out


def shape_walk(model: Any, input_shape: tuple[int, ...] = (1, 1, 28, 28)) -> list[dict[str, Any]]:
    """Pass a zero batch of ``input_shape`` through ``model``; one row per leaf module, in order.

    Each row: ``layer`` (its dotted name), ``type``, ``output_shape`` (list), ``params`` (learnable
    parameters the module itself owns) and, for Conv2d/MaxPool2d, the ``predicted`` spatial size from
    :func:`conv_output_size`.
    """
    import torch

    rows: list[dict[str, Any]] = []
    hooks = []

    def record(name: str):
        def hook(module, inputs, output):
            row: dict[str, Any] = {
                "layer": name,
                "type": type(module).__name__,
                "input_shape": list(inputs[0].shape),
                "output_shape": list(output.shape),
                "params": int(sum(p.numel() for p in module.parameters(recurse=False) if p.requires_grad)),
            }
            if isinstance(module, (torch.nn.Conv2d, torch.nn.MaxPool2d)):
                k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
                p = module.padding if isinstance(module.padding, int) else module.padding[0]
                s = module.stride if isinstance(module.stride, int) else module.stride[0]
                d = module.dilation if isinstance(module.dilation, int) else module.dilation[0]
                row["predicted"] = conv_output_size(int(inputs[0].shape[-2]), k, p, s, d)
            if isinstance(module, torch.nn.Conv2d):
                row["formula_params"] = conv_params(module.in_channels, module.out_channels,
                                                    tuple(module.kernel_size), module.bias is not None)
            rows.append(row)
        return hook

    for name, module in model.named_modules():
        if next(iter(module.children()), None) is None and name:
            hooks.append(module.register_forward_hook(record(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(input_shape))
    finally:
        for handle in hooks:
            handle.remove()
        model.train(was_training)
    return rows
