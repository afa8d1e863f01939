"""The Radboud deep-learning assignment 1 notebook (CONTRACTS.md part C): its cells, starter and solution.

Graded cells take their signatures and docstrings from :mod:`backproplab.courses.radboud`; the
written items (1.1b–f, 1.3d, 1.7) are markdown answer cells marked by hand. The digits come from the
lab's data layer (:func:`backproplab.courses.radboud.digits_tensors`).
"""

from __future__ import annotations

from backproplab.check.templates import CellSpec, stub_function

SETUP = """%matplotlib inline
import math
import numpy as np
import torch
import matplotlib.pyplot as plt"""

SOLUTIONS = {
    "optimize_f": '''
    def f(x, y):
        return x ** 2 + y ** 2 + x * (y + 2) + math.cos(3 * x)

    x_hist, y_hist = [x], [y]
    for _ in range(steps):
        dx, dy = 2 * x - 3 * math.sin(3 * x) + y + 2, x + 2 * y
        x, y = x - step_size * dx, y - step_size * dy
        x_hist.append(x)
        y_hist.append(y)
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return t(x), t(y), t(f(x, y)), t(x_hist), t(y_hist)''',
    "sigmoid": "\n    return torch.sigmoid(x)",
    "relu": "\n    return torch.clamp(x, min=0)",
    "bce_loss": '''
    tiny = torch.finfo(y_hat.dtype).tiny
    y = y.to(y_hat.dtype)
    return -(torch.xlogy(y, y_hat.clamp(min=tiny)) + torch.xlogy(1 - y, (1 - y_hat).clamp(min=tiny))).mean() + 0.0''',
    "model1": "\n    return sigmoid(x @ w + b)",
    "network": '''
    z = x
    for w, b, h in params:
        z = h(z @ w + b)
    return z.squeeze(-1) if z.shape[-1] == 1 else z''',
    "make_layer": '''
    w = torch.randn(d0, d1) * math.sqrt(2.0 / d1)
    return w, torch.zeros(d1), activation''',
    "enable_gradients": '''
    for w, b, _ in params:
        w.requires_grad_(True)
        b.requires_grad_(True)
    return params''',
    "add_gradients": '''
    with torch.no_grad():
        for w, b, _ in params:
            w += step * w.grad
            b += step * b.grad''',
    "clear_gradients": '''
    for w, b, _ in params:
        for t in (w, b):
            if t.grad is not None:
                t.grad.zero_()''',
    "evaluate": '''
    with torch.no_grad():
        y_hat = network(x, params)
        return float(bce_loss(y, y_hat)), float(((y_hat > 0.5) == (y > 0.5)).double().mean())''',
    "train_epoch": '''
    perm = torch.randperm(len(x_train))
    loss_sum, correct = 0.0, 0.0
    for start in range(0, len(x_train), batch_size):
        idx = perm[start:start + batch_size]
        y_hat = network(x_train[idx], params)
        loss = bce_loss(y_train[idx], y_hat)
        loss.backward()
        add_gradients(params, -learning_rate)
        clear_gradients(params)
        loss_sum += float(loss.detach()) * len(idx)
        correct += float(((y_hat.detach() > 0.5) == (y_train[idx] > 0.5)).sum())
    return loss_sum / len(x_train), correct / len(x_train)''',
    "fit": '''
    enable_gradients(params)
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for _ in range(epochs):
        tl, ta = train_epoch(params, x["train"], y["train"], learning_rate, batch_size)
        vl, va = evaluate(params, x["val"], y["val"])
        for key, value in zip(history, (tl, ta, vl, va)):
            history[key].append(value)
    return history''',
}

PARAMS = {"optimize_f": ["x", "y", "step_size", "steps"], "model1": ["x"],
          "make_layer": ["d0", "d1", "activation"], "train_epoch": ["params", "x_train", "y_train", "learning_rate",
                                                                   "batch_size"],
          "fit": ["params", "x", "y", "learning_rate", "batch_size", "epochs"]}


def _stub(name: str) -> str:
    from backproplab.courses import radboud

    return stub_function(getattr(radboud, name), PARAMS.get(name))


def _solution(name: str) -> str:
    return _stub(name).split("    # YOUR CODE HERE")[0].rstrip() + SOLUTIONS[name]


def _graded(cell_id: str, *names: str) -> CellSpec:
    return CellSpec(cell_id, "code", starter=lambda: "\n\n\n".join(_stub(n) for n in names),
                    solution="\n\n\n".join(_solution(n) for n in names))


M1 = """# Run this cell: the weights and bias model1 uses (the notebook's globals).
torch.manual_seed(0)
w = torch.randn(4)
b = torch.randn(())
print(model1(torch.tensor([1.0, 2.0, 3.0, 4.0])))"""

DIGITS = """# Run this cell: scikit-learn's digits as the course's binary task, through the lab's data layer.
from backproplab.courses.radboud import digits_tensors

x, y = digits_tensors()
torch.manual_seed(1)
params = [make_layer(64, 32, relu), make_layer(32, 1, sigmoid)]
history = fit(params, x, y, learning_rate=0.2, batch_size=16, epochs=25)
print("validation accuracy", history["val_acc"][-1])"""


def CELLS() -> list[CellSpec]:  # noqa: N802 - a table, named as the other templates' tables
    """The notebook's cells, in order."""
    md = lambda i, t: CellSpec(i, "markdown", t)  # noqa: E731
    return [
        md("rad-title", "# Deep Learning, assignment 1\n\nFill in the cells marked `# YOUR CODE HERE`. Check "
           "your work with `backproplab check radboud-a1 radboud_a1.ipynb`."),
        CellSpec("rad-setup", "code", SETUP),
        md("rad-11", "## 1.1 Gradient descent on f(x, y) = x² + y² + x(y + 2) + cos 3x\n\n(a) `optimize_f` "
           "(1 point): plain gradient descent, returning `(x, y, f(x, y), x_hist, y_hist)` with the start in "
           "the histories."),
        _graded("rad-optimize-f", "optimize_f"),
        md("rad-11bf", "(b)–(f) (5 points, written): from (3, 2), is the minimum you find local or global? "
           "What happens with a much smaller or larger step size?"),
        md("rad-11bf-answer", "YOUR ANSWER HERE"),
        md("rad-13", "## 1.3 Activations and the loss\n\n(a) `sigmoid`, (b) `relu` (1 point each), (e) "
           "`bce_loss(y, y_hat)` (1 point), (f, g) finite, and 0 on perfect predictions (2 points)."),
        _graded("rad-activations", "sigmoid", "relu"),
        md("rad-13d", "(d) (1 point, written): which activation suits outputs in [0, 1], and why?"),
        md("rad-13d-answer", "YOUR ANSWER HERE"),
        _graded("rad-bce", "bce_loss"),
        md("rad-14", "## 1.4 `model1(x)` (2 points): σ(x·w + b) with the notebook's `w` and `b`."),
        _graded("rad-model1", "model1"),
        CellSpec("rad-model1-run", "code", M1),
        md("rad-15", "## 1.5 (a) `network(x, params)` (2 points), (b) `make_layer(d0, d1, activation)` "
           "(3 points)"),
        _graded("rad-network", "network", "make_layer"),
        md("rad-16", "## 1.6 Training on digits (17 points)"),
        _graded("rad-training", "enable_gradients", "add_gradients", "clear_gradients", "evaluate", "train_epoch",
                "fit"),
        CellSpec("rad-digits-run", "code", DIGITS),
        md("rad-17", "## 1.7 Questions (6 points, written): learning rate too low or too high; minibatch size; "
           "zero weights and zero biases."),
        md("rad-17-answer", "YOUR ANSWER HERE"),
    ]
