"""The questions lesson's Purdue A4 Q3 (convolutions), and the two helpers every answer is written with.

Q3: output sizes (10×12 → 5×6; the filter for "same" output), parameter counts, and which conv
quantities are hyperparameters (vary each, count learned parameters, see what one SGD step changes),
with the Q3.2(b) panel that plots that change. :func:`yes_no` and :func:`answer_claim` live here, below
:mod:`backproplab.lessons.questions`, which uses and re-exports them, so nothing here imports the lesson.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backproplab.lessons.conv_arithmetic import output_size_formula, params_formula
from backproplab.lessons.result import Claim

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.


def yes_no(flag: bool) -> str:
    """``"yes"`` or ``"no"``."""
    return "yes" if flag else "no"


def answer_claim(question: str, measured: Any, key: Any, evidence: str) -> Claim:
    """A claim whose value is the measured answer and whose bound is the course's key."""
    measured = yes_no(measured) if isinstance(measured, (bool, np.bool_)) else measured
    key = yes_no(key) if isinstance(key, bool) else key
    return Claim(question, measured, f"{key} (the course's answer)", measured == key, evidence)


# -- Purdue A4 Q3 ---------------------------------------------------------------------------------
def n_params(*layers) -> int:
    return int(sum(p.numel() for layer in layers for p in layer.parameters()))


def conv_sizes_and_counts() -> list[Claim]:
    import torch
    from torch import nn


    with torch.no_grad():
        out = nn.Conv2d(1, 1, 6, stride=2, padding=2)(torch.zeros(1, 1, 10, 12)).shape[-2:]
    same = {}
    for padding in (2, 4):
        with torch.no_grad():
            same[padding] = [k for k in range(1, 33) if k <= 32 + 2 * padding
                             and nn.Conv2d(1, 1, k, padding=padding)(torch.zeros(1, 1, 32, 32)).shape[-1] == 32]
    c_bias, c_none = n_params(nn.Conv2d(3, 1, 3)), n_params(nn.Conv2d(3, 1, 3, bias=False))
    e_total = n_params(nn.Conv2d(1, 4, 6), nn.Conv2d(4, 3, 3))
    return [
        answer_claim("Purdue Q3.1(b): 10×12 input (height × width), 6×6 filter, padding 2, stride 2 → output "
                     "height × width", f"{out[0]}×{out[1]}", "5×6",
                     f"torch.nn.Conv2d on [1, 1, 10, 12]; height {output_size_formula(10, 6, 2, 2)}, width "
                     f"{output_size_formula(12, 6, 2, 2)}"),
        answer_claim("Purdue Q3.2(a): 32×32 input, stride 1, padding 2: which filter size n keeps 32×32?",
                     "/".join(map(str, same[2])), "5", f"torch over n = 1…32: {output_size_formula(32, 5, 2, 1)}"),
        answer_claim("Purdue Q3.2(a): and with the padding doubled to 4?", "/".join(map(str, same[4])), "9",
                     f"torch over n = 1…32: {output_size_formula(32, 9, 4, 1)}; n = 2·padding + 1"),
        answer_claim("Purdue Q3.2(c): a colour 12×12 image, one 3×3 filter: parameters with / without bias",
                     f"{c_bias}/{c_none}", "28/27",
                     f"torch.nn.Conv2d(3, 1, 3): {params_formula(3, 1, 3)}; without bias "
                     f"{params_formula(3, 1, 3, False)}"),
        answer_claim("Purdue Q3.2(d): a 40×40×1 image, one 4×4 filter: parameters", n_params(nn.Conv2d(1, 1, 4)),
                     17, f"torch.nn.Conv2d(1, 1, 4): {params_formula(1, 1, 4)}; the image size does not enter"),
        answer_claim("Purdue Q3.2(e): 28×28×1; four 6×6 filters, then three 3×3 filters: parameters", e_total, 259,
                     f"torch: {params_formula(1, 4, 6)} and {params_formula(4, 3, 3)} (the second layer's filters "
                     "span the 4 channels)"),
    ]


#: The learning rate of the one SGD step Q3.2(b) takes on a conv layer.
SGD_STEP_LR = 0.1


def conv_hyperparameters(seed: int) -> tuple[list[Claim], list[dict[str, Any]]]:
    """Vary each conv quantity, count learned parameters, and see what one SGD step changes."""
    import torch
    from torch import nn

    varied = {"stride": [nn.Conv2d(1, 1, 3, stride=s, padding=1) for s in (1, 2, 3)],
              "padding": [nn.Conv2d(1, 1, 3, padding=p) for p in (0, 1, 2)],
              "filter size": [nn.Conv2d(1, 1, k) for k in (3, 5, 7)]}
    values = {"stride": "1, 2, 3", "padding": "0, 1, 2", "filter size": "3, 5, 7", "input size": "28, 32, 64"}
    layer = nn.Conv2d(1, 1, 3, padding=1)
    sizes = (28, 32, 64)

    def output_shapes() -> list[tuple[int, ...]]:
        with torch.no_grad():
            return [tuple(layer(torch.zeros(1, 1, n, n)).shape[-2:]) for n in sizes]

    def settings() -> dict[str, Any]:
        """What one SGD step could change, read off the layer (the input size: the output shape for each)."""
        return {"stride": layer.stride, "padding": layer.padding, "filter size": layer.kernel_size,
                "input size": output_shapes(), "weights": layer.weight.detach().clone()}

    shapes = output_shapes()
    gen = torch.Generator().manual_seed(seed)
    before = settings()
    opt = torch.optim.SGD(layer.parameters(), lr=SGD_STEP_LR)
    layer(torch.randn(1, 1, 8, 8, generator=gen)).pow(2).mean().backward()
    opt.step()
    after = settings()
    # the largest |after − before| of each quantity over one SGD step
    change = {q: float(np.max(np.abs(np.asarray(after[q], dtype=float) - np.asarray(before[q], dtype=float))))
              for q in before}
    weight_moved = change["weights"]
    rows = [{"quantity": q, "values tried": values[q], "learned parameters": [n_params(m) for m in ms],
             "set when the layer is built": "yes", "change from one SGD step": change[q],
             "changed by an SGD step": yes_no(change[q] > 0), "hyperparameter": yes_no(change[q] == 0)}
            for q, ms in varied.items()]
    size_is_data = len(set(shapes)) == 3  # one layer, three input sizes, three output sizes
    rows.append({"quantity": "input size", "values tried": values["input size"],
                 "learned parameters": [n_params(layer)] * 3, "set when the layer is built": yes_no(not size_is_data),
                 "change from one SGD step": change["input size"],
                 "changed by an SGD step": yes_no(change["input size"] > 0),
                 "hyperparameter": yes_no(not size_is_data)})
    rows.append({"quantity": "weights", "values tried": "one SGD step", "learned parameters": [n_params(layer)],
                 "set when the layer is built": "no (drawn)", "change from one SGD step": weight_moved,
                 "changed by an SGD step": yes_no(weight_moved > 0), "hyperparameter": yes_no(weight_moved == 0)})
    keys = {"stride": True, "padding": True, "filter size": True, "input size": False, "weights": False}
    why = {"input size": f"one layer ran on 28, 32 and 64 pixel inputs (outputs {shapes}): the size is the data's",
           "weights": f"one SGD step moved them by up to {weight_moved:.3g}: they are learned"}
    verb = {"weights": "are the weights"}
    claims = [answer_claim(f"Purdue Q3.2(b): {verb.get(row['quantity'], 'is the ' + row['quantity'])} a "
                           "hyperparameter of a conv layer?",
                           row["hyperparameter"] == "yes", keys[row["quantity"]],
                           why.get(row["quantity"], f"chosen when the layer is built, kept by training; learned "
                                   f"parameters for {row['values tried']}: {row['learned parameters']}"))
              for row in rows]
    return claims, rows


def plot_sgd_step(ax, rows: list[dict[str, Any]]) -> None:
    """Q3.2(b): one bar per quantity, the largest change one SGD step made to it (blue: it changed).

    What separates a hyperparameter from a learned parameter is whether training changes it; the
    learned-parameter counts do not (stride, padding and input size all leave 10).
    """
    quantities = [r["quantity"] for r in rows]
    changes = [r["change from one SGD step"] for r in rows]
    moved = [r["changed by an SGD step"] == "yes" for r in rows]
    top = max(changes) or 1.0
    ax.bar(range(len(rows)), changes, color=["#4c72b0" if m else "#999999" for m in moved])
    for i, (c, m) in enumerate(zip(changes, moved, strict=True)):
        ax.text(i, c + 0.02 * top, f"{c:.3g}" if m else "0: unchanged", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(rows)), quantities)
    changed = [q for q, m in zip(quantities, moved, strict=True) if m]
    kept = [q for q, m in zip(quantities, moved, strict=True) if not m]
    ax.set(ylabel="largest |after − before|", ylim=(0, 1.2 * top),
           title=f"Q3.2(b): what one SGD step (lr {SGD_STEP_LR:g}) changes in a conv layer\n"
                 f"changed: {', '.join(changed) or 'nothing'}; unchanged: {', '.join(kept) or 'nothing'}")
    ax.title.set_fontsize(10)
