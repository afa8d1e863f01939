"""JKU Task 2's marker answers come from the network the notebook states (a ```yaml block in the Task 2
section, the tracer's format), else from the course example; a block that cannot be used is named with
what is wrong, and no block, however hostile, ends in an exception or unbounded work."""

from __future__ import annotations

import json

import jsonschema
import nbformat
import numpy as np
import pytest

from backproplab.check.jku import backprop_for
from backproplab.check.notebook import Cell
from backproplab.check.stated_network import MAX_TRIED, blocks, same_numbers, stated_network
from backproplab.check.templates import init
from backproplab.lessons.backprop_trace import load_example
from backproplab.tracer import Ask, asked_value, network_from_text, network_yaml, trace

from .test_outputs import GRADESCOPE_SCHEMA

# A 2-3-1 network with numbers of its own; by hand: s = (1, 2, −7), a = (1, 2, 0), ŷ = s₆ = 1 + 4 + 0 = 5,
# δ₆ = ŷ − y = 4, δ₃ = w₆₃·δ₆ = 4, δ₄ = 2·4 = 8, δ₅ = 0 (unit 5 is off), ∂L/∂w₃₂ = δ₃·x₂ = 4·2 = 8.
OWN = """input: [1, 2]
target: [1]
loss: half_squared_error
layers:
  - activation: relu
    weights: [[1, 0], [0, 1], [1, 1]]
    biases: [0, 0, -10]
  - activation: identity
    weights: [[1, 2, 3]]
    biases: [0]
"""
OWN_JSON = json.dumps({"input": [1, 2], "target": [1], "layers": [
    {"activation": "relu", "weights": [[1, 0], [0, 1], [1, 1]], "biases": [0, 0, -10]},
    {"activation": "identity", "weights": [[1, 2, 3]], "biases": [0]}]})


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    root = tmp_path_factory.mktemp("jku")
    init("jku-a7", root)
    return root / "jku_a7.ipynb"


def _notebook(starter, tmp_path, answer: str | None = None, question=None, name="jku_a7.ipynb"):
    """The starter with Task 2's answer cell set to ``answer`` and its question cell edited by ``question``."""
    nb = nbformat.read(str(starter), as_version=4)
    cells = {c["id"]: c for c in nb.cells}
    if answer is not None:
        cells["jku-task2-answer"].source = answer
    if question is not None:
        cells["jku-task2"].source = question(cells["jku-task2"].source)
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def _without_block(text: str) -> str:
    return text.split("```yaml")[0] + text.split("```\n", 1)[1]


def test_the_handed_out_question_states_the_course_example(starter):
    found = blocks([Cell(c.id, c.cell_type, c.source) for c in nbformat.read(str(starter), 4).cells], export=False)
    assert [b.where for b in found] == ["cell 5 (id jku-task2), line 5"]
    assert same_numbers(network_from_text(found[0].text), load_example("course"))
    text, notes = backprop_for(starter)
    assert notes == ["Task 2's network: the course example, as stated in cell 5 (id jku-task2), line 5"]
    assert "∂L/∂w₃₂ = δ₃·x₂ = 0.147·(−1) = −0.147" in text


def test_the_docs_show_the_handed_out_block():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "checking.md").read_text()
    shown = docs.split("### JKU Task 2")[1].split("```yaml\n")[1].split("```")[0]
    assert shown == network_yaml(load_example("course"))


@pytest.mark.parametrize("fence, body", [("yaml", OWN), ("json", OWN_JSON), ("yml", OWN)])
def test_a_stated_network_gets_its_own_numbers(starter, tmp_path, fence, body):
    path = _notebook(starter, tmp_path, f"My derivation: s₃ = w₃₁x₁ + w₃₂x₂ + b₃ …\n\n```{fence}\n{body}\n```\n")
    text, notes = backprop_for(path)
    assert notes == ["Task 2's network: the one stated in cell 6 (id jku-task2-answer), line 3 (numbers of "
                     "its own, not the course example's)"]
    assert "∂L/∂w₃₂ = δ₃·x₂ = 4·2 = 8" in text and "δ₄ = (w₆₄·δ₆)·[s₄ > 0] = (2·4)·1 = 8" in text
    assert "s₅ = w₅₁·x₁ + w₅₂·x₂ + b₅ = 1·1 + 1·2 + (−10) = −7" in text and "Asked: ∂L/∂w₃₂ = 8" in text
    net = network_from_text(OWN)  # the one source of the math agrees with the hand value
    assert asked_value(trace(net), Ask(layer=1, to=1, source=2)) == pytest.approx(8.0, abs=1e-12)


def test_a_py_export_states_its_network_in_comments(starter, tmp_path):
    """nbconvert's script export writes markdown as comment lines, between the code cells' markers."""
    nb = nbformat.read(str(_notebook(starter, tmp_path, f"Mine:\n```yaml\n{OWN}```")), as_version=4)
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            parts.append(f"# In[ ]:\n\n\n{cell.source}\n\n")
        else:
            parts.append("\n".join(f"# {line}".rstrip() for line in cell.source.splitlines()) + "\n\n")
    path = tmp_path / "A7 export.py"
    path.write_text("#!/usr/bin/env python\n# coding: utf-8\n\n" + "".join(parts))
    text, notes = backprop_for(path)
    assert "numbers of its own" in notes[0] and "∂L/∂w₃₂ = δ₃·x₂ = 4·2 = 8" in text


def test_no_stated_network_means_the_course_example(starter, tmp_path):
    path = _notebook(starter, tmp_path, "I did it on paper.", question=_without_block)
    text, notes = backprop_for(path)
    assert notes == ["Task 2's network: the course example, as the notebook states no network for Task 2 (a "
                     "```yaml block in the Task 2 section, as in the handed-out question)"]
    assert "∂L/∂w₃₂ = δ₃·x₂ = 0.147·(−1) = −0.147" in text


def test_a_network_in_another_task_or_a_code_cell_is_not_task_2s():
    cells = [Cell("a", "markdown", "## Task 1\n```yaml\n" + OWN + "```"), Cell("b", "markdown", "## Task 2\nnone"),
             Cell("c", "code", "# ```yaml\n# input: [1]\n# ```"), Cell("d", "markdown", "## Task 3.1\n```json\n{}\n```")]
    assert blocks(cells, export=False) == []
    assert [b.where for b in blocks(cells[:1], export=False)] == ["cell 1 (id a), line 2"]  # no Task 2 heading


BAD_ROW = OWN.replace("[[1, 0], [0, 1], [1, 1]]", "[[1, 0], [0, 1, 5], [1, 1]]")
HOSTILE = [
    ("a malformed row", BAD_ROW, "layers[0].weights[1]: expected 2 numbers, got 3"),
    ("not a number", OWN.replace("biases: [0, 0, -10]", "biases: [0, zero, -10]"),
     "layers[0].biases[1]: expected a number, got 'zero'"),
    ("NaN", OWN.replace("input: [1, 2]", "input: [1, .nan]"), "input[1]: expected a finite number, got nan"),
    ("another shape", OWN.replace("[[1, 0], [0, 1], [1, 1]]", "[[1, 0], [0, 1]]").replace("[0, 0, -10]", "[0, 0]")
     .replace("[[1, 2, 3]]", "[[1, 2]]"), "it is a 2-2-1 network; Task 2 is about a 2-3-1 network"),
    ("huge layers", "input: [1, 2]\ntarget: [1]\nlayers:\n  - activation: relu\n    weights: "
     + json.dumps([[1, 2]] * 40) + "\n    biases: [0]\n", "layers[0].weights: at most 32 units, got 40"),
    ("deep nesting", "input: " + "[" * 200 + "]" * 200, "nested more than 16 levels deep"),
    ("an alias bomb", "a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b]", "anchors and aliases"),
    ("a python tag", "input: !!python/object/apply:os.system ['true']", "not valid YAML"),
    ("a huge integer", OWN.replace("input: [1, 2]", "input: [1, " + "9" * 5000 + "]"), "could not be read"),
    ("a huge block", OWN + "#" + "x" * 20_000 + "\n", "the block is over 16,384 bytes"),
    ("not a mapping", "- 1\n- 2", "expected a mapping with keys input, target, loss, layers, got list"),
    ("broken YAML", "input: [1, 2\ntarget: {", "not valid YAML at line"),
]


@pytest.mark.parametrize("label, body, words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_block_that_cannot_be_used_is_named_and_the_course_example_used(starter, tmp_path, label, body, words):
    path = _notebook(starter, tmp_path, f"Mine:\n\n```yaml\n{body}\n```\n")
    text, notes = backprop_for(path)
    assert notes[0] == "Task 2's network: the course example, as stated in cell 5 (id jku-task2), line 5"
    assert notes[1].startswith("the network block in cell 6 (id jku-task2-answer), line 3 could not be used: ")
    assert words in notes[1], notes[1]
    assert len(notes[1]) < 400 and "Traceback" not in notes[1]  # bounded excerpts, never a traceback
    assert "∂L/∂w₃₂ = δ₃·x₂ = 0.147·(−1) = −0.147" in text
    _, alone = backprop_for(_notebook(starter, tmp_path, f"```yaml\n{body}\n```", question=_without_block))
    assert alone[0] == "Task 2's network: the course example, as no network block in the notebook could be used"


@pytest.mark.parametrize("body, words", [
    ("[" * 8_000 + "]" * 8_000, "nested too deeply"),
    (OWN_JSON.replace('"input": [1, 2]', '"input": [1, NaN]'), "input[1]: expected a finite number, got nan"),
    (OWN_JSON.replace('"input": [1, 2]', '"input": [1, 1e999]'), "input[1]: expected a finite number, got inf"),
    (OWN_JSON.replace('"input": [1, 2]', '"input": [1, "2"]'), "input[1]: expected a number, got '2'"),
    ('{"input": [1, 2], "target": [1], "layers": [], "extra": {"a": 1}}', "unknown key(s) extra"),
])
def test_json_blocks_are_checked_as_strictly(body, words):
    stated = stated_network([Cell("", "markdown", f"## Task 2\n~~~json\n{body}\n~~~")], export=False)
    assert stated.network is None and words in stated.notes[0], stated.notes


def test_numbers_that_overflow_are_traced_and_said(starter, tmp_path):
    huge = OWN.replace("input: [1, 2]", "input: [1.0e+308, 1.0e+308]")
    text, notes = backprop_for(_notebook(starter, tmp_path, f"```yaml\n{huge}```"))
    assert "numbers of its own" in notes[0] and notes[1].startswith("its numbers overflow")
    assert "s₃ = w₃₁·x₁ + w₃₂·x₂ + b₃ = 1·1e+308 + 0·1e+308 + 0 = 1e+308" in text and "Asked: ∂L/∂w₃₂ = inf" in text


def test_only_the_last_blocks_are_read():
    cells = [Cell("", "markdown", "## Task 2\n" + "```json\n[]\n```\n" * 1000)]
    stated = stated_network(cells, export=False)
    assert stated.network is None and len(stated.notes) == MAX_TRIED + 1
    assert stated.notes[-1] == f"{1000 - MAX_TRIED} earlier network block(s) were not read (the last {MAX_TRIED} are)"


def test_the_writer_and_the_reader_round_trip():
    for name in ("course", "softmax-cross-entropy", "tanh-two-hidden"):
        net = load_example(name)
        back = network_from_text(network_yaml(net, name=True))
        assert back.name == net.name and same_numbers(back, net)
    assert "      - [0.5, -0.4]    # unit 3: w31, w32" in network_yaml(load_example("course"))
    weird = network_from_text(OWN.replace("[1, 2]", "[1.0e-05, 123456789012.5]"))
    assert np.array_equal(network_from_text(network_yaml(weird)).x, [1e-5, 123456789012.5])


@pytest.mark.usefixtures("needs_fashion")
def test_the_reports_carry_the_stated_networks_answers(starter, tmp_path, capsys):
    from backproplab.cli import main

    path = _notebook(starter, tmp_path, f"```yaml\n{BAD_ROW}```\nand then\n```yaml\n{OWN}```",
                     name="Aufgabe 7 – Müller.ipynb")
    code = main(["check", "jku-a7", str(path), "--item", "3.3", "--json", str(tmp_path / "r.json"),
                 "--gradescope", str(tmp_path / "g.json")])
    assert code == 1  # the starter's 3.3 is not implemented
    table = capsys.readouterr().out
    assert "note — Task 2's network: the one stated in cell 6 (id jku-task2-answer), line 14" in table
    assert "∂L/∂w₃₂ = δ₃·x₂ = 4·2 = 8" in table
    record = json.loads((tmp_path / "r.json").read_text())
    task2 = next(m for m in record["manual"] if m["id"] == "2")
    assert "numbers of its own" in task2["notes"][0] and "= 8" in task2["reference"]
    payload = json.loads((tmp_path / "g.json").read_text())
    jsonschema.validate(payload, GRADESCOPE_SCHEMA)
    hidden = next(t for t in payload["tests"] if t["number"] == "2")
    assert hidden["visibility"] == "hidden" and hidden["max_score"] == 0 and "4·2 = 8" in hidden["output"]
    assert "stated in cell 6 (id jku-task2-answer), line 14" in payload["output"]  # a student sees which block
    assert "4·2 = 8" not in payload["output"]
    visible = [t for t in payload["tests"] if t["visibility"] == "visible"]
    assert visible and not any("Reference:" in t["output"] for t in visible)


def test_many_blocks_are_read_in_bounded_memory():
    """Only the last MAX_TRIED blocks are kept (a 19 MB export with 826,086 blocks once held them all):
    the peak while reading 20,000 cells of blocks stays far below what keeping each block would take."""
    import tracemalloc

    body = "```yaml\n" + "# a comment line that makes the block about 300 bytes long\n" * 5 + "[]\n```"
    cells = [Cell("", "markdown", f"## Task 2\n{body}") for _ in range(20_000)]
    total = sum(len(c.source) for c in cells)
    tracemalloc.start()
    try:
        stated = stated_network(cells, export=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stated.network is None and stated.notes[-1].startswith(f"{20_000 - MAX_TRIED} earlier network block")
    assert peak < total / 20, (peak, total)  # keeping every block's text alone would be about ``total``


def test_a_block_past_the_size_limit_is_not_collected_whole():
    big = "```yaml\n" + "# filler\n" * 200_000 + OWN + "```"
    cells = [Cell("", "markdown", f"## Task 2\n```yaml\n{OWN}```\n{big}")]
    found = blocks(cells, export=False)
    assert [b.too_large for b in found] == [False, True] and found[1].text == ""
    stated = stated_network(cells, export=False)
    assert stated.where == "cell 1, line 2" and "over 16,384 bytes" in stated.notes[0], stated.notes


def test_a_jku_notebook_is_read_once_per_check(starter, monkeypatch):
    """The preparer's cells go on to Task 2's manual item; the notebook is not parsed a second time."""
    from backproplab.check import check, notebook

    calls = []
    read = notebook.read_cells
    monkeypatch.setattr(notebook, "read_cells", lambda path: calls.append(path) or read(path))
    result = check("jku-a7", starter, items=["3.3"])
    assert calls == [starter]
    task2 = next(m for m in result.manual if m.id == "2")
    assert "∂L/∂w₃₂ = δ₃·x₂ = 0.147·(−1) = −0.147" in task2.reference
