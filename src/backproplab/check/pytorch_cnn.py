"""``purdue-pytorch-cnn``: the items of CONTRACTS.md A3 (``pytorch_cnn.py``, ``PyTorchCNN``, 10 points).

Expected values come from :class:`backproplab.courses.purdue.PyTorchCNN` built with the same
arguments (layout, parameter count, seeded weights) and, with known weights, run in eval mode on
the same images; "training as in 2.3" is the weights after one and two SGD steps from known
weights, both models' dropout layers set to p = 0 so that the step has no random part.
"""

from __future__ import annotations

import numpy as np
import torch

from backproplab.check import torch_common as tc
from backproplab.check.assignment import Assignment, Context, FashionRun, Item
from backproplab.check.child.torch_probes import without_dropout
from backproplab.check.probes import PROBES
from backproplab.check.references import points, target
from backproplab.check.result import Assertion
from backproplab.check.runner import ProbeOutput
from backproplab.courses.purdue import CNN_PARAMETERS

INIT = (10, 0)
SMALL = (10, 0)
KNOWN_SEED = 3
LR = 0.05


def reference(*args):
    from backproplab.check.references import pytorch_cnn

    return pytorch_cnn()(*args)


def make_inputs() -> dict[str, np.ndarray]:
    """Known weights (the reference's init for another seed), images and labels (seeded)."""
    rng = np.random.default_rng(20240613)
    inp = {"init.args": np.array(INIT), "init.attrs": np.array([], dtype=str), "small.args": np.array(SMALL),
           "train.lr": np.array(LR)}
    inp.update(tc.known_inputs(reference(10, KNOWN_SEED)))
    for key, n in (("X", 6), ("one.X", 16), ("val.X", 8)):
        inp[key] = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    for key, n in (("one.y", 16), ("val.y", 8)):
        inp[key] = rng.integers(0, 10, n).astype(np.int64)
    inp.update(tc.batch_inputs(inp, 4))
    return inp


def judge_model(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    checks = tc.judge_init(ctx, out, reference(*INIT), f"PyTorchCNN{INIT}", model_named=False)  # A3 names no attribute
    if "known!" in out.values:  # the checks below fail alike, each with the error; the layout's above stand
        return checks + [Assertion(name, False, f"PyTorchCNN{SMALL} with known weights raised {out.values['known!']}")
                         for name in ("forward(X) returns logits", "weights after 1 epoch(s)",
                                      "weights after 2 epoch(s)", "one step per batch")]
    ref = tc.load_known(reference(*SMALL), ctx.inputs)
    torch.nn.Module.train(ref, False)
    X = ctx.inputs["X"]
    with torch.no_grad():
        expected = ref.forward(torch.from_numpy(X)).double().numpy()
    checks += tc.judge_logits(ctx, out, expected, f"forward(X) in eval mode with known weights, X {X.shape}")
    def known() -> torch.nn.Module:
        return without_dropout(tc.load_known(reference(*SMALL), ctx.inputs))

    checks += tc.judge_sgd_steps(ctx, out, known, LR, setting=", dropout off (p = 0)")
    checks += tc.judge_batches(ctx, out, known, LR, setting=", dropout off (p = 0)")
    return checks


FULL_RUN = FashionRun(n_train=50_000, n_val=10_000, n_test=10_000, epochs=5, batch_size=64, lr=0.05,
                      hidden=0, bound=target("PyTorchCNN"))
QUICK_RUN = FashionRun(n_train=2_000, n_val=300, n_test=500, epochs=2, batch_size=64, lr=0.05,
                       hidden=0, bound=0.55)

ASSIGNMENT = Assignment(
    name="purdue-pytorch-cnn", filename="pytorch_cnn.py", module="pytorch_cnn", cls="PyTorchCNN",
    probes=PROBES["purdue-pytorch-cnn"],
    items=(
        Item("3.1", f"__init__ and forward: four conv blocks, {CNN_PARAMETERS:,} parameters, SGD training", points("3.1"), judge_model),
        Item("3.2", f"run on Fashion-MNIST: test accuracy ≥ {target('PyTorchCNN')}", points("3.2"),
             lambda ctx, out: tc.judge_fashion(ctx, out, "PyTorchCNN"), training=True, uses=("3.1",)),
        Item("3.3", "report_my_judgement agrees with the curves", points("3.3"), tc.judge_judgement, training=True,
             after="3.2"),
    ),
    make_inputs=make_inputs, full_run=FULL_RUN, quick_run=QUICK_RUN, item_timeout=90.0,
    training_timeout=3600.0, memory_mb=16384, quick_training_timeout=300.0,
)
