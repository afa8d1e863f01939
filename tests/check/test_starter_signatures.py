"""Every starter a student is handed (``backproplab check --init``) has the contract's signatures
(CONTRACTS.md), names, order and defaults, read from its source."""

from __future__ import annotations

import ast

import pytest

from backproplab.check.templates import notebook
from backproplab.check.templates.purdue import source

TRAIN = "self, X_train, y_train, X_val, y_val, epochs, batch_size"
CONTRACT = {
    "purdue-numpy-ann": {  # A1
        "NumpyANN.__init__": "self, input_size, hidden_size, output_size, lr, seed", "NumpyANN._relu": "self, x",
        "NumpyANN._relu_grad": "self, x", "NumpyANN._cross_entropy": "self, y_true, y_pred",
        "NumpyANN._forward": "self, x, training", "NumpyANN._backward": "self, X, y_true", "NumpyANN.train": TRAIN,
        "NumpyANN.predict": "self, X", "NumpyANN.accuracy": "self, X, y_true"},
    "purdue-pytorch-ann": {  # A2
        "PyTorchANN.__init__": "self, input_size, hidden_size, output_size, seed", "PyTorchANN.forward": "self, X",
        "PyTorchANN.train": TRAIN + ", learning_rate", "PyTorchANN.predict": "self, X",
        "PyTorchANN.plot_train_val_metrics": "self", "PyTorchANN.report_my_judgement": "self"},
    "purdue-pytorch-cnn": {  # A3
        "PyTorchCNN.__init__": "self, num_classes, seed", "PyTorchCNN.train": TRAIN + ", learning_rate",
        "PyTorchCNN.report_my_judgement": "self"},
    "jku-a7": {  # B 3.2
        "ANN_sigmoid.__init__": "self, d_in, d_out", "ANN_relu.__init__": "self, d_in, d_out",
        "train_and_test": "model, hyperparameters"},
    "radboud-a1": {  # C
        "optimize_f": "x, y, step_size, steps", "sigmoid": "x", "relu": "x", "bce_loss": "y, y_hat",
        "model1": "x", "network": "x, params", "make_layer": "d0, d1, activation",
        "enable_gradients": "params", "add_gradients": "params, step", "clear_gradients": "params",
        "evaluate": "params, x, y", "train_epoch": "params, x_train, y_train, learning_rate, batch_size",
        "fit": "params, x, y, learning_rate, batch_size, epochs=25"},
}


def _signatures(text: str) -> dict[str, str]:
    found = {}
    for node in ast.parse(text).body:
        inner = [(f"{node.name}.", n) for n in node.body] if isinstance(node, ast.ClassDef) else [("", node)]
        for prefix, fn in inner:
            if isinstance(fn, ast.FunctionDef):
                found[prefix + fn.name] = ast.unparse(fn.args)
    return found


def _starter(assignment: str) -> str:
    if assignment.startswith("purdue"):
        return source(assignment, solution=False)
    return "\n".join(c.source for c in notebook(assignment).cells if c.cell_type == "code" and "def " in c.source)


@pytest.mark.parametrize("assignment", sorted(CONTRACT))
def test_the_starters_signatures_are_the_contracts(assignment):
    found = _signatures(_starter(assignment))
    assert {name: found.get(name) for name in CONTRACT[assignment]} == CONTRACT[assignment]
