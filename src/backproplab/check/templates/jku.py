"""The JKU assignment 7 notebook (CONTRACTS.md part B): its cells, starter and solution.

Graded cells: ``ANN_sigmoid``, ``ANN_relu``, ``train_and_test`` and the answers ``a_`` … ``e_``; their
starters come from :mod:`backproplab.courses.jku`'s references. Tasks 1 and 2 are written answers
(markdown cells, marked by hand). The run-this cells load Fashion-MNIST through the lab's data layer
(:func:`backproplab.courses.jku.fashion_loaders`) and take the course's ``train`` and ``test`` from
:mod:`backproplab.courses.jku`.
"""

from __future__ import annotations

from backproplab.check.templates import EMPTY_BODY, CellSpec, stub_class, stub_function

SETUP = """%matplotlib inline
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import matplotlib.pyplot as plt"""

DATA = """# Run this cell: Fashion-MNIST through the lab's data layer (no download), batch size 64,
# and the course's train(model, train_loader, optimizer, epoch) and test(model, test_loader).
from backproplab.courses.jku import fashion_loaders, train, test

train_loader, test_loader = fashion_loaders(batch_size=64)
print(len(train_loader.dataset), "training and", len(test_loader.dataset), "test images")"""

SHOW = """# Run this cell: 20 training images with their class names.
from backproplab.data import FASHION_CLASSES

images, labels = next(iter(train_loader))
fig, axes = plt.subplots(2, 10, figsize=(12, 3))
for ax, image, label in zip(axes.flat, images[:20], labels[:20]):
    ax.imshow(image.reshape(28, 28), cmap="gray")
    ax.set_title(FASHION_CLASSES[int(label)], fontsize=7)
    ax.axis("off")
plt.show()"""

ANN_SIGMOID = '''class ANN_sigmoid(nn.Module):
    """784→512→1024→512→d_out, a sigmoid after each of the first three layers."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.fc1 = nn.Linear(d_in, 512)
        self.fc2 = nn.Linear(512, 1024)
        self.fc3 = nn.Linear(1024, 512)
        self.fc4 = nn.Linear(512, d_out)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        x = torch.sigmoid(self.fc1(x))
        x = torch.sigmoid(self.fc2(x))
        x = torch.sigmoid(self.fc3(x))
        return self.fc4(x)'''

ANN_RELU = ANN_SIGMOID.replace("ANN_sigmoid", "ANN_relu").replace("torch.sigmoid", "torch.relu").replace(
    "a sigmoid after", "a ReLU after")

TRAIN_AND_TEST = '''def train_and_test(model, hyperparameters):
    """SGD with hyperparameters["lr"] and ["momentum"]; per epoch train(...) then test(...); a plot of
    the mean |gradient| of the three hidden layers over the batches."""
    optimizer = optim.SGD(model.parameters(), lr=hyperparameters["lr"], momentum=hyperparameters["momentum"])
    grads = [[], [], []]
    for epoch in range(1, hyperparameters["epochs"] + 1):
        epoch_grads = train(model, train_loader, optimizer, epoch)
        for k in range(3):
            grads[k] += list(epoch_grads[k])
        test(model, test_loader)
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in range(3):
        ax.plot(grads[k], label=f"layer {k + 1}")
    ax.set(yscale="log", xlabel="batch", ylabel="mean |gradient|")
    ax.legend()
    plt.show()'''

ANSWERS = """a_ = True
b_ = False
c_ = True
d_ = True
e_ = False"""

RUN_SIGMOID = """# Run this cell (about a minute on a CPU): one epoch of the sigmoid network.
train_and_test(ANN_sigmoid(784, 10), {"lr": 0.01, "momentum": 0.5, "epochs": 1})"""


def _ann_stub(name: str) -> str:
    from backproplab.courses import jku

    cls = getattr(jku, name)
    # CONTRACTS.md B 3.2a: `ANN_sigmoid(d_in, d_out)`, no defaults (the reference's 784 and 10 are its own)
    return stub_class(cls, "nn.Module", {"__init__": ["self", "d_in", "d_out"], "forward": ["self", "x"]},
                      defaults=False)


def _train_and_test_stub() -> str:
    from backproplab.courses import jku

    return stub_function(jku.train_and_test, ["model", "hyperparameters"])


def _task2() -> str:
    """Task 2's question, the network stated as a YAML block in the tracer's format (made from the course
    example, :func:`backproplab.tracer.network_yaml`): the block the checker reads
    (:mod:`backproplab.check.stated_network`), and the form a student states other numbers in."""
    from backproplab.lessons.backprop_trace import load_example
    from backproplab.tracer import network_yaml

    return ("## Task 2: backpropagation by hand (25 points, written)\n\nA 2-3-1 network: ReLU hidden units, an "
            "identity output, the loss ½(y − ŷ)². Units are numbered globally: inputs 1, 2; hidden 3, 4, 5; output "
            "6; wᵢⱼ is the weight from unit j into unit i. The network (each row of `weights` holds one unit's "
            "weights from the units of the layer below, then `biases` one bias per unit):\n\n"
            f"```yaml\n{network_yaml(load_example('course'))}```\n\n"
            "Give every s, a, δ and ∂L/∂w₃₂, with the formulas for s₃, δ₃ and ∂L/∂w₃₂.\n\n"
            "If you are given other numbers, state the network you worked with at the end of your answer in the "
            "same form (a block that starts with ```yaml and ends with ```): the marker's reference answers "
            "are computed for the last such block of this task.")


def CELLS() -> list[CellSpec]:  # noqa: N802 - a table, named as the other templates' tables
    """The notebook's cells, in order."""
    md = lambda i, t: CellSpec(i, "markdown", t)  # noqa: E731
    code = lambda i, t: CellSpec(i, "code", t)  # noqa: E731
    return [
        md("jku-title", "# Assignment 7: Neural networks and a glimpse at PyTorch\n\nFill in the cells marked "
           "`# YOUR CODE HERE` (remove the `raise NotImplementedError()`). Do not add or remove cells, and do "
           "not use variables of one cell inside another cell's functions. Check your work with "
           "`backproplab check jku-a7 jku_a7.ipynb`."),
        code("jku-setup", SETUP),
        md("jku-task1", "## Task 1: XOR (25 points, written)\n\n1.1 Show that no weight vector w makes x·w (no "
           "bias) fit XOR exactly; give the least-squares solution and its mean squared error, without and "
           "with a bias.\n\n1.2 Give a two-layer ReLU network that computes XOR exactly."),
        md("jku-task1-answer", "YOUR ANSWER HERE"),
        md("jku-task2", _task2()),
        md("jku-task2-answer", "YOUR ANSWER HERE"),
        md("jku-task31", "## Task 3.1: the data (run the cells)"),
        code("jku-data", DATA),
        code("jku-show", SHOW),
        md("jku-task32a", "## Task 3.2a: `ANN_sigmoid(d_in, d_out)` (10 points)\n\nFour `nn.Linear` created "
           "in the order 784→512→1024→512→d_out, a sigmoid after the first three; flatten the input."),
        CellSpec("jku-ann-sigmoid", "code", starter=lambda: _ann_stub("ANN_sigmoid"), solution=ANN_SIGMOID),
        md("jku-task32b", "## Task 3.2b: `ANN_relu(d_in, d_out)` (10 points)\n\nThe same with ReLU."),
        CellSpec("jku-ann-relu", "code", starter=lambda: _ann_stub("ANN_relu"), solution=ANN_RELU),
        md("jku-task32c", "## Task 3.2c: `train_and_test(model, hyperparameters)` (20 points)\n\nBuild "
           "`optim.SGD(model.parameters(), lr, momentum)` from the dictionary, run `epochs` epochs calling "
           "`train(model, train_loader, optimizer, epoch)` and `test(model, test_loader)`, then plot the "
           "gradient magnitudes of the three hidden layers over the batches."),
        CellSpec("jku-train-and-test", "code", starter=_train_and_test_stub, solution=TRAIN_AND_TEST),
        code("jku-run-sigmoid", RUN_SIGMOID),
        code("jku-run-relu", RUN_SIGMOID.replace("sigmoid", "ReLU", 1).replace("ANN_sigmoid", "ANN_relu")),
        md("jku-task33", "## Task 3.3: true or false (10 points)\n\nSet each of `a_` … `e_` to `True` or "
           "`False`.\n\n(a) The sigmoid network performs poorly after one epoch.\n(b) The sigmoid network's "
           "gradients are larger in the lower (first) layers, a sign of vanishing gradients.\n(c) sigmoid′ never "
           "exceeds 1/4, one reason for vanishing gradients.\n(d) ReLU is much better after one epoch.\n"
           "(e) Other activations train more stably because their derivatives are always larger than 1."),
        CellSpec("jku-answers", "code", starter=lambda: EMPTY_BODY, solution=ANSWERS),
    ]
