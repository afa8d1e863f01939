"""The argument order of the Purdue methods (CONTRACTS.md part A), read from the submission's source.

The course's autograder calls every method positionally, in the contract's order, so a method whose
parameters are the contract's in another order (``train(..., epochs, learning_rate, batch_size)``)
gets the wrong values or raises. The checker's probes call it the same way and the item loses its
points; this module names the cause. The source is parsed (:mod:`ast`), never run. Only a
permutation of the contract's own names counts: a parameter named differently (``x`` for ``X``) is
the student's choice and says nothing about the order.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from backproplab.check.notebook import AST_LOCK
from backproplab.check.result import ItemResult

_TRAIN = ("X_train", "y_train", "X_val", "y_val", "epochs", "batch_size")

#: Per class, the contract's positional parameters of each method (``self`` left out).
CONTRACT: dict[str, dict[str, tuple[str, ...]]] = {
    "NumpyANN": {
        "__init__": ("input_size", "hidden_size", "output_size", "lr", "seed"),
        "_cross_entropy": ("y_true", "y_pred"), "_forward": ("x", "training"), "_backward": ("X", "y_true"),
        "train": _TRAIN, "accuracy": ("X", "y_true")},
    "PyTorchANN": {"__init__": ("input_size", "hidden_size", "output_size", "seed"),
                   "train": _TRAIN + ("learning_rate",)},
    "PyTorchCNN": {"__init__": ("num_classes", "seed"), "train": _TRAIN + ("learning_rate",)},
}

#: Per item, the methods its probe calls with more than one argument.
ITEM_METHODS: dict[str, tuple[str, ...]] = {
    "1.1": ("__init__",), "1.4": ("_cross_entropy",), "1.5": ("_forward",), "1.6": ("_backward",),
    "1.7": ("train",), "1.9": ("accuracy",), "1.10": ("__init__", "train"),
    "2.1": ("__init__",), "2.3": ("train",), "2.5": ("train",), "2.6": ("__init__", "train"),
    "2.7": ("train",), "3.1": ("__init__", "train"), "3.2": ("__init__", "train"), "3.3": ("train",),
}


def misordered(source: str, cls: str) -> dict[str, str]:
    """Per method of ``cls`` in ``source`` whose parameters are the contract's in another order, what
    to tell the student; ``{}`` when the source does not parse or every order is the contract's."""
    try:
        with AST_LOCK:  # batches grade in threads; see AST_LOCK
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # absurd nesting too: then say nothing
        return {}
    contract = CONTRACT.get(cls, {})
    found: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.ClassDef) and node.name == cls):
            continue
        for fn in node.body:
            want = contract.get(getattr(fn, "name", ""))
            if not isinstance(fn, ast.FunctionDef) or want is None:
                continue
            args = [a.arg for a in fn.args.posonlyargs + fn.args.args][1:len(want) + 1]
            if sorted(args) == sorted(want) and tuple(args) != want:
                found[fn.name] = (f"{cls}.{fn.name} takes ({', '.join(args)}), the contract's parameters in "
                                  f"another order: ({', '.join(want)}); the course's autograder passes them "
                                  "by position, in the contract's order")
    return found


def name_misordered(results: Sequence[ItemResult], source: str, cls: str) -> None:
    """On every item that lost points and calls a misordered method, the order as the likely cause (on
    its error, and on the hint of each failed assertion, after the hint it had)."""
    found = misordered(source, cls)
    if not found:
        return
    for res in results:
        causes = [found[m] for m in ITEM_METHODS.get(res.id, ()) if m in found]
        if not causes or res.passed:
            continue
        cause = "; ".join(causes)
        if res.error:
            res.error += f" — likely cause: {cause}"
        for assertion in res.graded:
            if not assertion.passed:
                assertion.hint = f"{assertion.hint}; {cause}" if assertion.hint else cause
