"""The Purdue files (CONTRACTS.md part A): the solution files in ``solutions/`` and the starters made
from them.

A starter keeps the solution's imports and class header, and for every method the course's
reference class also has (:mod:`backproplab.courses.purdue`) the signature with the reference's
docstring and a ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` body; helper methods of the
solution are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

from backproplab.check.templates import EMPTY_BODY, _docstring, _indent

SOLUTIONS = Path(__file__).with_name("solutions")
CLASSES = {"purdue-numpy-ann": ("numpy_ann.py", "NumpyANN"), "purdue-pytorch-ann": ("pytorch_ann.py", "PyTorchANN"),
           "purdue-pytorch-cnn": ("pytorch_cnn.py", "PyTorchCNN")}


def _parameters(method) -> list[str]:
    import inspect

    try:
        return list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return []


def _method_stub(text: str, node: ast.FunctionDef, reference: type) -> str:
    lines = text.splitlines()
    header = "\n".join(lines[node.lineno - 1:node.body[0].lineno - 1]).rstrip()
    if ast.get_docstring(node) is not None:  # the header ends where the body starts: drop the docstring lines
        header = "\n".join(lines[node.lineno - 1:node.body[0].lineno - 1])
    method = getattr(reference, node.name)
    kept = {a.arg for a in node.args.args}
    doc = _docstring(method, [n for n in _parameters(method) if n not in kept])
    return header + "\n" + _indent((doc + "\n" if doc else "") + EMPTY_BODY, "        ")


def source(assignment: str, solution: bool) -> str:
    """The text of the file: the solution, or the starter made from it."""
    from backproplab.courses import purdue

    filename, cls = CLASSES[assignment]
    text = (SOLUTIONS / filename).read_text(encoding="utf-8")
    if solution:
        return text
    reference = getattr(purdue, cls)
    tree = ast.parse(text)
    lines = text.splitlines()
    out = [f'"""{filename}: class {cls} (starter handed out by backproplab check --init)."""', ""]
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(ast.get_source_segment(text, node))
        elif isinstance(node, ast.ClassDef) and node.name == cls:
            out += ["", "", lines[node.lineno - 1], _indent(_docstring(reference))]
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and hasattr(reference, item.name):
                    out += ["", _method_stub(text, item, reference)]
    return "\n".join(out) + "\n"
