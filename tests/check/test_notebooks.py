"""The notebook assignments jku-a7 and radboud-a1: the generated starter scores 0 ("not implemented"),
the generated solution full marks, each common mistake loses exactly its items, a changed cell
structure is reported, and hostile notebooks cost only their items."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from backproplab.check import check
from backproplab.check.notebook import extract, read_cells
from backproplab.check.templates import expected_ids, init

pytestmark = pytest.mark.usefixtures("needs_fashion")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The starter and solution notebooks of both assignments, written by --init."""
    root = tmp_path_factory.mktemp("notebooks")
    for name in ("jku-a7", "radboud-a1"):
        init(name, root / "starter")
        init(name, root / "solution", solution=True)
    return root


FILES = {"jku-a7": "jku_a7.ipynb", "radboud-a1": "radboud_a1.ipynb"}


def _variant(made, tmp_path, assignment: str, edit) -> str:
    """The solution notebook changed by ``edit(cells)``, written under tmp_path."""
    nb = nbformat.read(str(made / "solution" / FILES[assignment]), as_version=4)
    edit(nb.cells)
    path = tmp_path / FILES[assignment]
    nbformat.write(nb, str(path))
    return str(path)


def _replace(cell_id: str, old: str, new: str):
    def edit(cells):
        cell = next(c for c in cells if c["id"] == cell_id)
        assert old in cell.source, (old, cell.source)
        cell.source = cell.source.replace(old, new)

    return edit


@pytest.mark.parametrize("assignment, points", [("jku-a7", 50), ("radboud-a1", 30)])
def test_starter_scores_zero_not_implemented(made, assignment, points):
    for kind in ("starter", "solution"):
        nb = nbformat.read(str(made / kind / FILES[assignment]), as_version=4)
        nbformat.validate(nb)  # a valid nbformat 4.5 notebook, cell IDs included
        assert [c["id"] for c in nb.cells] == expected_ids(assignment)
    result = check(assignment, made / "starter" / FILES[assignment])
    assert (result.score, result.max_score) == (0, points)
    for item in result.items:
        assert "not implemented" in item.failures()[0], (item.id, item.failures())
    assert not any("cell structure" in m for m in result.messages)


@pytest.mark.parametrize("assignment, points", [("jku-a7", 50), ("radboud-a1", 30)])
def test_solution_full_marks(made, assignment, points):
    result = check(assignment, made / "solution" / FILES[assignment])
    assert (result.score, result.max_score) == (points, points), result.lost()
    assert not any("not defined when grading" in m for m in result.messages), result.messages
    assert result.manual  # the written items, with their reference answers, for the marker


EPOCH_RETURN = "return loss_sum / len(x_train), correct / len(x_train)"
MISTAKES = [
    ("jku-a7", _replace("jku-ann-relu", "torch.relu(self.fc2(x))", "torch.sigmoid(self.fc2(x))"), ["3.2b"],
     "seeded outputs"),
    ("jku-a7", _replace("jku-ann-sigmoid", "self.fc2 = nn.Linear(512, 1024)\n        self.fc3 = nn.Linear(1024, 512)",
                        "self.fc3 = nn.Linear(1024, 512)\n        self.fc2 = nn.Linear(512, 1024)"), ["3.2a"],
     "seeded outputs"),
    # CONTRACTS.md B 3.2b: "`ANN_relu(d_in, d_out)` | 10 | the same with ReLU" (sigmoid/ReLU after the first three only)
    ("jku-a7", _replace("jku-ann-relu", "return self.fc4(x)", "return torch.softmax(self.fc4(x), dim=1)"), ["3.2b"],
     "the outputs are a softmax of the contract's: no activation after the fourth Linear"),
    ("jku-a7", _replace("jku-train-and-test", ', momentum=hyperparameters["momentum"]', ""), ["3.2c"], "momentum"),
    ("jku-a7", _replace("jku-train-and-test", "        test(model, test_loader)\n", ""), ["3.2c"], "test"),
    # was 0 / 20 with only "TypeError: 'SGD' object is not iterable", raised in the checker's stand-in train
    ("jku-a7", _replace("jku-train-and-test", "train(model, train_loader, optimizer, epoch)",
                        "train(model, optimizer, train_loader, epoch)"), ["3.2c"],
     "train_loader and optimizer are swapped: the course's train takes (model, train_loader, optimizer, epoch)"),
    ("jku-a7", _replace("jku-answers", "b_ = False", 'b_ = "False"'), ["3.3"], "bool"),
    # 3.2c "then plots the gradient magnitudes per layer over the batches": made-up lines, or the last epoch's
    ("jku-a7", _replace("jku-train-and-test", "ax.plot(grads[k],", "ax.plot([1, 2, 3],"), ["3.2c"],
     "no line holds the 8 values train returned for hidden layer(s) 1, 2, 3 over the 2 epochs"),
    ("jku-a7", _replace("jku-train-and-test", "grads[k] += list(epoch_grads[k])", "grads[k] = list(epoch_grads[k])"),
     ["3.2c"], "extend one list per layer with them"),
    # no flatten: the four right Linears scored 0 on "architecture" too (a wrong layer order scores 3.33)
    ("jku-a7", _replace("jku-ann-relu", "        x = x.reshape(x.shape[0], -1)\n", ""), ["3.2b"],
     "flatten them to [N, 784] first"),
    # ReLU where the sigmoid belongs: the hint named order, init, activation and flattening all at once
    ("jku-a7", _replace("jku-ann-sigmoid", "x = torch.sigmoid(", "x = torch.relu("), ["3.2a"],
     "the outputs are ANN_relu's: ANN_sigmoid applies ReLU where the contract has sigmoid"),
    # torch.flatten(x) makes the batch one row of 1568: no hint at all
    ("jku-a7", _replace("jku-ann-relu", "x = x.reshape(x.shape[0], -1)", "x = torch.flatten(x)"), ["3.2b"],
     "the whole batch was flattened into one row"),
    ("jku-a7", _replace("jku-ann-relu", "        super().__init__()\n", ""), ["3.2b"],
     "call super().__init__() at the start of __init__"),
    # Adam: "the optimizer's momentum is -1.0" (the probe's stand-in for a setting the optimizer lacks)
    ("jku-a7", _replace("jku-train-and-test", 'optim.SGD(model.parameters(), lr=hyperparameters["lr"], '
                        'momentum=hyperparameters["momentum"])', 'optim.Adam(model.parameters(), '
                        'lr=hyperparameters["lr"])'), ["3.2c"], "the Adam optimizer has no momentum setting; expected"),
    # numpy's bool is named "bool" too: a right np.True_ was told "see the contract's reasoning for this statement"
    ("jku-a7", _replace("jku-answers", "a_ = True", "a_ = np.True_"), ["3.3"],
     "(numpy.bool_); each answer is a Python bool" if np.__version__ < "2" else
     "a_ is np.True_ (numpy.bool); each answer is a Python bool"),
    ("radboud-a1", _replace("rad-network", "math.sqrt(2.0 / d1)", "(2.0 / d1)"), ["1.5b"], "variance"),
    ("radboud-a1", _replace("rad-training", "add_gradients(params, -learning_rate)",
                            "add_gradients(params, learning_rate)"), ["1.6"], "-learning_rate"),
    # dx and dy swapped: histories of the right lengths drew "the histories hold steps + 1 = 11 entries each"
    ("radboud-a1", _replace("rad-optimize-f", "x, y = x - step_size * dx, y - step_size * dy",
                            "x, y = x - step_size * dy, y - step_size * dx"), ["1.1a"], "(shape (22,)) within 1e-06"),
    # the returns of an epoch that climbed were blamed on the averaging ("not the mean over the epoch's samples")
    ("radboud-a1", _replace("rad-training", "add_gradients(params, -learning_rate)",
                            "add_gradients(params, learning_rate)"), ["1.6"],
     "the epoch trained differently from the reference (its parameters after the epoch differ, above), so its "
     "losses differ too: mend the training step first"),
    ("radboud-a1", _replace("rad-bce", "torch.xlogy(y, y_hat.clamp(min=tiny)) + torch.xlogy(1 - y, (1 - y_hat)"
                            ".clamp(min=tiny))", "y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)"),
     ["1.3f,g"], "0·log 0"),
    # CONTRACTS.md C 1.3e: "`bce_loss(y, y_hat)` | 1 | truth first; mean over samples of ..."
    ("radboud-a1", _replace("rad-bce", ".mean() + 0.0", ".sum() + 0.0"), ["1.3e"], "summed over the 8 samples"),
    # CONTRACTS.md C 1.4: "`model1(x)` | 2 | σ(x·w + b), a 0-d output"
    ("radboud-a1", _replace("rad-model1", "return sigmoid(x @ w + b)", "return x @ w + b"), ["1.4"],
     "model1 returned x·w + b: apply the sigmoid"),
    # CONTRACTS.md C 1.3a: "`sigmoid(x)` | 1 | tensor in, tensor out"
    ("radboud-a1", _replace("rad-activations", "return torch.sigmoid(x)", "return torch.sigmoid(x).numpy()"),
     ["1.3a"], "tensor in, tensor out"),
    ("radboud-a1", _replace("rad-network", "return z.squeeze(-1) if z.shape[-1] == 1 else z", "return z"),
     ["1.5a"], "squeeze"),
    ("radboud-a1", _replace("rad-training", EPOCH_RETURN, "return float(loss.detach()), correct / len(x_train)"),
     ["1.6"], "expected either reading of the contract within 1e-6: the mean over the epoch's batches as they were "
              "trained {during}, or the loss and accuracy on the training set after the epoch {after}"),
    # the last batch's loss: neither reading (the readings' numbers are those of the submission's own draws)
]


@pytest.mark.slow
@pytest.mark.parametrize("assignment, edit, lost, words", MISTAKES)
def test_common_mistake_loses_exactly_its_items(made, tmp_path, assignment, edit, lost, words):
    path = _variant(made, tmp_path, assignment, edit)
    result = check(assignment, path)
    assert result.lost() == lost
    if "{during}" in words:
        words = words.format(**_epoch_readings(path))
    text = "\n".join(f for it in result.items for f in it.failures())
    assert words in text, text
    if lost == ["1.1a"]:
        assert "entries each" not in text, text  # the lengths were right: no hint about them
    if "swapped" in words:  # one check of the item's six, not the whole item
        assert next(it for it in result.items if it.id == "3.2c").score > 0
    if "flatten them" in words:  # the architecture it has still counts
        item = next(it for it in result.items if it.id == "3.2b")
        assert item.score > 0 and not any("architecture" in f for f in item.failures()), item.failures()


SEQUENTIAL = '''class ANN_relu(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(d_in, 512), nn.ReLU(), nn.Linear(512, 1024), nn.ReLU(),
                                 nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, d_out))

    def forward(self, x):
        return self.net(x)'''


def _set(cell_id: str, source: str):
    def edit(cells):
        next(c for c in cells if c["id"] == cell_id).source = source

    return edit


ACCEPTED = [
    ("jku-a7", _set("jku-ann-relu", SEQUENTIAL)),
    ("jku-a7", _replace("jku-train-and-test", 'range(1, hyperparameters["epochs"] + 1)',
                        'range(hyperparameters["epochs"])')),
    ("jku-a7", _replace("jku-train-and-test", 'for k in range(3):\n        ax.plot(grads[k], label=f"layer {k + 1}")',
                        "ax.plot(torch.tensor(grads).T)")),  # three lines from one call
    # one figure per layer, and the log of the magnitudes drawn by hand: each lost 3.33 of 20 ("expected a
    # figure with three lines"; "keep the lists train returns in every epoch, extend one list ...")
    ("jku-a7", _replace("jku-train-and-test", 'fig, ax = plt.subplots(figsize=(7, 4))\n    for k in range(3):\n'
                        '        ax.plot(grads[k], label=f"layer {k + 1}")',
                        'for k in range(3):\n        fig, ax = plt.subplots()\n        ax.plot(grads[k])')),
    ("jku-a7", _replace("jku-train-and-test", "ax.plot(grads[k],", "ax.plot(np.log10(grads[k]),")),
    ("radboud-a1", _replace("rad-bce", "return -(torch.xlogy(y, y_hat.clamp(min=tiny)) + torch.xlogy(1 - y, "
                            "(1 - y_hat).clamp(min=tiny))).mean() + 0.0",
                            "y_hat = y_hat.clamp(1e-7, 1 - 1e-7)\n    return -(y * torch.log(y_hat) + (1 - y) * "
                            "torch.log(1 - y_hat)).mean()")),
    ("radboud-a1", _replace("rad-training", "    enable_gradients(params)\n    history", "    history")),
    ("radboud-a1", _replace("rad-training", "            t.grad.zero_()", "            t.grad = None")),
]


@pytest.mark.slow
@pytest.mark.parametrize("assignment, edit", ACCEPTED)
def test_other_correct_forms_get_full_marks(made, tmp_path, assignment, edit):
    """nn.Sequential layers, 0-based epochs, an epsilon clamp in bce_loss, fit leaving enable_gradients to
    its caller, gradients cleared to None: all within the contract."""
    result = check(assignment, _variant(made, tmp_path, assignment, edit))
    assert result.lost() == [], [f for it in result.items for f in it.failures()]


SHUFFLE_APART = [_replace("rad-training", "    perm = torch.randperm(len(x_train))\n",
                          "    perm = torch.randperm(len(x_train))\n    perm_y = torch.randperm(len(y_train))\n"),
                 _replace("rad-training", "        loss = bce_loss(y_train[idx], y_hat)",
                          "        loss = bce_loss(y_train[perm_y[start:start + batch_size]], y_hat)")]


@pytest.mark.parametrize("edits, told", [
    (SHUFFLE_APART, True),
    # one order for both and a wrong step: the parameters differ as much, and the cause is the step
    ([_replace("rad-training", "add_gradients(params, -learning_rate)", "add_gradients(params, learning_rate)")],
     False),
    # ... and a second bce_loss per batch, for a log: a loss paired with no batch of its own pairs nothing
    ([_replace("rad-training", "add_gradients(params, -learning_rate)", "add_gradients(params, learning_rate)"),
      _replace("rad-training", "        loss.backward()\n",
               "        loss.backward()\n        logged = bce_loss(y_train[perm[:len(idx)]], y_hat.detach())\n")],
     False),
])
def test_x_and_y_shuffled_apart_in_train_epoch_are_named(made, tmp_path, edits, told):
    """Radboud 1.6 as Purdue 1.7 and JKU: x_train and y_train indexed with two permutations were told only
    "shuffle with torch.randperm, one add_gradients(...) per batch"; the batches the network and bce_loss
    were handed show the pairs moved."""
    result = check("radboud-a1", _variant(made, tmp_path, "radboud-a1", lambda cells: [e(cells) for e in edits]),
                   items=["1.6"])
    assert result.lost() == ["1.6"]
    text = "\n".join(f for it in result.items for f in it.failures())
    assert ("x_train and y_train were shuffled with different orders: shuffle one index array and index both "
            "with it" in text) == told, text


def test_train_epoch_may_return_the_metrics_after_the_epoch(made, tmp_path):
    """CONTRACTS.md's "returns mean loss and accuracy" also reads as the loss and accuracy on the training set
    after the epoch (a reviewer's variant lost 2.12 points for it): full marks, with a note naming the reading."""
    edit = _replace("rad-training", EPOCH_RETURN, "return evaluate(params, x_train, y_train)")
    path = _variant(made, tmp_path, "radboud-a1", edit)
    result = check("radboud-a1", path, items=["1.6"])
    assert result.lost() == [], [f for it in result.items for f in it.failures()]
    [note] = result.items[0].notes()
    readings = _epoch_readings(path)
    assert f"recognised as the loss and accuracy on the whole training set after the epoch, {readings['after']}" \
        in note and f"the mean over the epoch's batches as they were trained, {readings['during']}" in note
    assert check("radboud-a1", made / "solution" / FILES["radboud-a1"], items=["1.6"]).items[0].notes() == []


def _epoch_readings(path: str) -> dict[str, str]:
    """The reference's two readings of Radboud's train_epoch returns, ``during`` (the mean over the epoch's
    batches) and ``after`` (on the training set after the epoch), on the inputs drawn for the file at ``path``."""
    from backproplab.check import radboud
    from backproplab.check.assignment import _submission_inputs, submission_seed

    _, during, after, _ = radboud._reference_epoch(_submission_inputs(radboud.ASSIGNMENT, submission_seed(Path(path))))
    return {"during": f"({during[0]:.6f}, {during[1]:.6f})", "after": f"({after[0]:.6f}, {after[1]:.6f})"}


def _edits(*edits):
    def edit(cells):
        for one in edits:
            one(cells)

    return edit


TRAIN_CALL = "epoch_grads = train(model, train_loader, optimizer, epoch)"
COURSE_HELPER_USES = [  # the reviewer's jk_c9_verbose, jk_c10_layer_names, jk_c11_print_test, jk_c16
    ("verbose=True", _edits(_replace("jku-train-and-test", TRAIN_CALL, TRAIN_CALL[:-1] + ", verbose=True)"),
                            _replace("jku-train-and-test", "test(model, test_loader)",
                                     "test(model, test_loader, verbose=True)"))),
    ("layer names", _replace("jku-train-and-test", 'label=f"layer {k + 1}"', "label=epoch_grads.layers[k]")),
    ("train's loss, test's tuple", _replace(
        "jku-train-and-test", "        test(model, test_loader)\n",
        "        test_loss, test_acc = test(model, test_loader)\n        print(f\"epoch {epoch}: train loss "
        "{epoch_grads.loss:.4f} accuracy {epoch_grads.accuracy:.2%}, test {test_loss:.4f} {test_acc:.2%}\")\n")),
    ("test on the training data too", _replace("jku-train-and-test", "        test(model, test_loader)\n",
                                               "        test(model, train_loader)\n        test(model, test_loader)\n")),
]


@pytest.mark.slow
@pytest.mark.parametrize("label, edit", COURSE_HELPER_USES, ids=[u[0] for u in COURSE_HELPER_USES])
def test_train_and_test_may_use_all_of_the_courses_train_and_test(made, tmp_path, label, edit):
    """The checker's train and test take the options of the course's (verbose=True) and return what they
    return (an object with .loss, .accuracy, .layers; a (loss, accuracy) tuple)."""
    result = check("jku-a7", _variant(made, tmp_path, "jku-a7", edit), items=["3.2c"])
    assert result.lost() == [], [f for it in result.items for f in it.failures()]
    if label == "train's loss, test's tuple":
        printed = result.items[0].stdout
        assert "epoch 2: train loss" in printed and "nan" not in printed, printed


def test_the_checkers_train_and_test_take_exactly_the_courses_arguments():
    import importlib.util
    import inspect

    from backproplab.check.jku import signature_spec
    from backproplab.check.probes import PROBES
    from backproplab.courses import jku

    spec = importlib.util.spec_from_file_location("_nb_probes_under_test", PROBES["jku-a7"])
    probes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probes)
    for real in (jku.train, jku.test):
        stand = probes.standin(real.__name__, signature_spec(real), lambda **kw: kw)
        params = lambda f: [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]  # noqa: E731
        assert params(stand) == params(real)
        with pytest.raises(TypeError, match=f"{real.__name__}\\(\\) got an unexpected keyword argument 'verbos'"):
            stand(*range(4 if real is jku.train else 2), verbos=True)
    got = probes.standin("train", signature_spec(jku.train), lambda **kw: kw)("m", "l", "o", 1, verbose=True)
    assert got == {"model": "m", "train_loader": "l", "optimizer": "o", "epoch": 1, "verbose": True, "progress": None}


FUTURE = [  # the reviewer's rb_c12_future and jk_c14_future: one cell starts with a __future__ import
    ("radboud-a1", _replace("rad-network", "def network(x, params):", "from __future__ import annotations\n\n"
                            "def network(x: torch.Tensor, params: list[tuple]) -> torch.Tensor:"), ["1.1a", "1.5a"]),
    ("jku-a7", _replace("jku-ann-relu", "class ANN_relu(nn.Module):", "from __future__ import annotations\n\n"
                        "class ANN_relu(nn.Module):"), ["3.2b", "3.3"]),
]


@pytest.mark.parametrize("assignment, edit, items", FUTURE, ids=[f[0] for f in FUTURE])
def test_a_future_import_in_a_cell_costs_nothing(made, tmp_path, assignment, edit, items):
    result = check(assignment, _variant(made, tmp_path, assignment, edit), items=items)
    assert result.lost() == [], [f for it in result.items for f in it.failures()]


def test_future_imports_are_hoisted_once_and_a_cell_that_does_not_compile_costs_only_itself():
    from backproplab.check.notebook import Cell

    made = extract([Cell("a", "code", "import os\nx = 1"),
                    Cell("b", "code", "from __future__ import annotations\ndef f(v: Undefined) -> int:\n    return 1"),
                    Cell("c", "code", "from __future__ import annotations, braces\ny = 2"),
                    Cell("d", "code", "def g():\n    nonlocal q\nz = 3"),
                    Cell("e", "code", '"""A docstring."""\nfrom __future__ import annotations\nlast = 4')])
    assert made.source.startswith("from __future__ import annotations\n")
    assert made.source.count("__future__") == 1
    assert made.defined == ["x", "f", "last"]
    namespace: dict = {}
    exec(compile(made.source, "made", "exec", dont_inherit=True), namespace)
    assert namespace["f"].__annotations__ == {"v": "Undefined", "return": "int"} and namespace["last"] == 4
    errors = [m for m in made.messages if "syntax error" in m]
    assert len(errors) == 2 and "cell 3 (id c)" in errors[0] and "nonlocal" in errors[1], errors


def test_an_expression_nested_too_deeply_for_the_rule_costs_only_its_cell():
    """Valid Python nested some hundreds deep (``deep = ----…-1``, 1,000 signs: it parses and runs) made the
    rule's recursion raise RecursionError out of ``extract``: no grade at all (no results.json), for a notebook
    that runs. The cell is now reported as unreadable and the others are graded."""
    from backproplab.check.notebook import Cell

    for deep in ("deep = " + "-" * 1000 + "1", "deep = " + "x + " * 1000 + "x",
                 "def f(q=" + "-" * 1000 + "1):\n    return q"):
        made = extract([Cell("a", "code", "x = 1"), Cell("b", "code", deep), Cell("c", "code", "def g():\n    return x")])
        assert made.defined == ["x", "g"], deep[:12]
        assert any("cell 2 (id b) could not be read" in m and "RecursionError" in m for m in made.messages)
        namespace: dict = {}
        exec(compile(made.source, "made", "exec", dont_inherit=True), namespace)
        assert namespace["g"]() == 1 and "deep" not in namespace


def test_notebooks_read_in_two_threads_at_once_are_both_read():
    """``check --jobs 2`` reads two notebooks (or Purdue files) at once in two threads. CPython 3.11 counts the depth of its
    syntax-tree conversion in one place for all threads: when a garbage collection let the other thread
    parse mid-conversion, one read failed with "SystemError: AST constructor recursion depth mismatch" and
    the student got 0 (seen in CI). A collection that yields the interpreter lock is forced here."""
    import gc
    import threading
    import time

    from backproplab.check.notebook import Cell
    from backproplab.check.signatures import misordered

    cells = [Cell(str(i), "code", f"def f{i}(x):\n    return [(a, b) for a in range({i}) for b in {{'k': x}}]")
             for i in range(40)]
    expected = extract(cells).source
    purdue = "class NumpyANN:\n    def accuracy(self, y_true, X):\n        pass\n" + "\n".join(
        cell.source for cell in cells)  # the Purdue files' signatures are read in the same process
    failures: list[BaseException] = []

    def read() -> None:
        for _ in range(15):
            try:
                assert extract(cells).source == expected
                assert list(misordered(purdue, "NumpyANN")) == ["accuracy"]
            except BaseException as err:  # noqa: BLE001 - reported by the main thread
                failures.append(err)
                return

    def yield_the_lock(phase: str, info: dict) -> None:
        if phase == "start":
            time.sleep(1e-4)

    threshold = gc.get_threshold()
    gc.callbacks.append(yield_the_lock)
    gc.set_threshold(50)
    try:
        threads = [threading.Thread(target=read) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        gc.callbacks.remove(yield_the_lock)
        gc.set_threshold(*threshold)
    assert failures == []


KEPT_FORMS = [  # the reviewer's jk_c7_tuple_only, jk_c3_expr_answers, rb_c3_alias_functions, rb_c9_lambda_bce
    ("jku-a7", _replace("jku-answers", "a_ = True\nb_ = False\nc_ = True\nd_ = True\ne_ = False",
                        "a_, b_, c_, d_, e_ = True, False, True, True, False"), ["3.3"]),
    ("jku-a7", _replace("jku-answers", "b_ = False\nc_ = True\nd_ = True", "b_ = not True\nc_ = 0.25 <= 0.25\n"
                        "[d_] = [True or False]"), ["3.3"]),
    ("radboud-a1", _set("rad-activations", "sigmoid = torch.sigmoid\nrelu = torch.relu"), ["1.3a", "1.3b", "1.4"]),
    ("radboud-a1", _set("rad-bce", "tiny = 1e-300\nbce_loss = lambda y, y_hat, eps=tiny / 2: -(torch.xlogy(y, "
                        "y_hat.clamp(min=eps)) + torch.xlogy(1 - y, (1 - y_hat).clamp(min=eps))).mean()"),
     ["1.3e", "1.3f,g", "1.6"]),
]


@pytest.mark.parametrize("assignment, edit, items", KEPT_FORMS, ids=["tuple", "operators", "aliases", "lambda"])
def test_side_effect_free_definitions_are_kept(made, tmp_path, assignment, edit, items):
    """Unpacking, operators on literals, aliases of an imported module's attributes and lambdas define
    names as def does; they are kept (docs/checking.md, "Notebooks: what runs")."""
    result = check(assignment, _variant(made, tmp_path, assignment, edit), items=items)
    assert result.lost() == [], [f for it in result.items for f in it.failures()]


def test_a_dropped_definition_is_named_with_the_rule_that_dropped_it(made, tmp_path):
    edit = _edits(_replace("jku-answers", "d_ = True", "d_ = bool(1)"),
                  _replace("jku-answers", "e_ = False", "for e_ in (False,):\n    pass"))
    result = check("jku-a7", _variant(made, tmp_path, "jku-a7", edit), items=["3.3"])
    failures = result.items[0].failures()
    assert len(failures) == 2 and not any("not implemented" in f for f in failures), failures
    assert "`d_ = bool(1)` (cell 19 (id jku-answers)): its value calls bool(…), and no call" in failures[0]
    assert "it is inside a top-level `for` block" in failures[1]


def test_the_keep_rule_and_its_reasons():
    from backproplab.check.notebook import Cell

    made = extract([Cell("a", "code", "import torch\nfrom math import pi as PI\nlr = 0.01"),
                    Cell("b", "code", "sig = torch.nn.functional.sigmoid\nf = lambda x, k=PI * 2: x * k\n"
                                      "half, (tw, *rest) = lr / 2, [lr * 2, 0, 1]\nhyper = {'lr': lr, 'm': -lr}\n"
                                      "ok = lr if lr > 0 and not PI < 0 else None\nfn = len\n"
                                      "w = torch.randn(4)\nv = w\nnet.lr = 3\nlr2: float = lr\nlr2 += 1\n"
                                      "g = lambda x, k=torch.ones(1): x\nfirst = rest[0]\nhuge = 10 ** 10 ** 10\n"
                                      "eps = 10 ** -8\n"
                                      "def h():\n    return w + v + first")])
    assert made.defined == ["lr", "sig", "f", "half", "tw", "rest", "hyper", "ok", "fn", "lr2", "eps", "h"]
    namespace: dict = {}
    exec(compile(made.source, "made", "exec", dont_inherit=True), namespace)
    assert namespace["half"] == 0.005 and namespace["rest"] == [0, 1] and namespace["f"](1) == pytest.approx(6.2832, 1e-4)
    assert namespace["hyper"] == {"lr": 0.01, "m": -0.01} and namespace["ok"] == 0.01 and namespace["fn"] is len
    dropped = namespace["__backproplab_dropped__"]
    assert set(dropped) == {"w", "v", "g", "first", "huge"} and namespace["eps"] == 1e-8
    assert "calls torch.randn(…)" in dropped["w"] and "calls torch.ones(…)" in dropped["g"]
    assert "uses w, which no statement kept before it defines" in dropped["v"]
    assert "its value is not one the rule keeps" in dropped["first"]
    warning = next(m for m in made.messages if "not defined when grading" in m)
    assert "first, as" in warning and "v, as" in warning and "w, as" in warning


DEFINITION_READS_DROPPED = [  # a kept def or class that reads, when it is defined, a name the rule dropped
    ("radboud-a1", _replace("rad-network", "def make_layer(d0, d1, activation):",
                            "gain = math.sqrt(2.0)\n\n\ndef make_layer(d0, d1, activation, gain=gain):"),
     ["1.5b"], "make_layer", "a default value reads `gain`", "`gain = math.sqrt(2.0)`"),
    ("jku-a7", _replace("jku-ann-relu", "class ANN_relu(nn.Module):",
                        "hidden = int(1024)\n\n\nclass ANN_relu(nn.Module):\n    width = hidden\n"),
     ["3.2b"], "ANN_relu", "its class body reads `hidden`", "`hidden = int(1024)`"),
    ("jku-a7", _replace("jku-train-and-test", "def train_and_test(model, hyperparameters):",
                        "def train_and_test(model, hyperparameters, loader=train_loader):"),
     ["3.2c"], "train_and_test", "a default value reads `train_loader`", "fashion_loaders(…)"),
]


@pytest.mark.slow
@pytest.mark.parametrize("assignment, edit, lost, name, reads, source", DEFINITION_READS_DROPPED,
                         ids=["default value", "class body", "default value, a course loader"])
def test_a_definition_that_reads_a_dropped_name_costs_only_its_items(made, tmp_path, assignment, edit, lost, name,
                                                                      reads, source):
    """Loading such a def or class would raise NameError and fail the whole module (every item scored 0):
    the rule drops it, and only the items that use it lose points, told which name it reads and what to do."""
    result = check(assignment, _variant(made, tmp_path, assignment, edit))
    failures = [f for it in result.items for f in it.failures()]
    assert result.lost() == lost, failures
    assert f"{name} is not defined when grading: the checker did not keep its definition" in failures[0]
    assert reads in failures[0] and source in failures[0] and "in a cell the checker keeps" in failures[0]
    if "default value" in reads:
        assert "or pass it as an argument instead of a default value" in failures[0]
    assert any(m.startswith(f"{name} (cell ") and "was not kept" in m for m in result.messages), result.messages


WHEN_DEFINED = '''import functools
k = 2
lr = compute_lr()
@functools.lru_cache(maxsize=k)
def ok(x, y=k, *, z=(lambda q=k: q)):
    return x + y + z()
@deco(lr)
def decorated():
    pass
def annotated(x: Tensor) -> int:
    return 1
class Base(Missing):
    pass
class Body:
    own = k
    later = own * 2
    def m(self, v=k):
        return lr
class Comp:
    xs = [i for i in range(k) if i < lr]
def after(v=Body):
    s = """a
b"""
    return s
@functools.lru_cache(maxsize=-'a')
def raises():
    pass
'''


def test_what_a_definition_reads_when_it_is_defined():
    """Decorators, default values (a lambda's too), annotations, bases and class bodies run when a def or
    class is defined, not method bodies; annotations do not under ``from __future__ import annotations``
    (in any cell: it is hoisted). A definition that fails for another reason costs only its name."""
    from backproplab.check.notebook import Cell

    made = extract([Cell("a", "code", WHEN_DEFINED)])
    assert made.defined == ["k", "ok", "Body", "after", "raises"]
    why = {m.split(" ")[0]: m for m in made.messages if "was not kept" in m}
    assert set(why) == {"decorated", "annotated", "Base", "Comp"}, made.messages
    assert "a decorator reads `lr`, which the checker did not keep (`lr = compute_lr()` (cell 1 (id a))" in \
        why["decorated"]
    assert "an annotation reads `Tensor`, which no statement kept before it defines" in why["annotated"]
    assert "a base class reads `Missing`" in why["Base"] and "its class body reads `lr`" in why["Comp"]
    assert "instead of a default value" not in why["Base"]
    namespace: dict = {}
    exec(compile(made.source, "made", "exec", dont_inherit=True), namespace)  # the module loads
    assert namespace["ok"](1) == 5 and namespace["Body"].later == 4 and namespace["after"]() == "a\nb"
    assert "raises" not in namespace and "TypeError" in namespace["__backproplab_failed__"]["raises"]
    assert "decorated" in namespace["__backproplab_dropped__"]
    lazy = extract([Cell("a", "code", WHEN_DEFINED), Cell("b", "code", "from __future__ import annotations")])
    assert lazy.defined == ["k", "ok", "annotated", "Body", "after", "raises"]


def test_a_failing_kept_value_costs_only_its_names():
    from backproplab.check.notebook import Cell

    made = extract([Cell("a", "code", "import math\nbad = math.no_such_attribute\nx = 'a' + 1 if False else 2\n"
                                      "y = 'a' - 1\nz = 3")])
    namespace: dict = {}
    exec(compile(made.source, "made", "exec", dont_inherit=True), namespace)
    assert namespace["x"] == 2 and namespace["z"] == 3 and "bad" not in namespace and "y" not in namespace
    failed = namespace["__backproplab_failed__"]
    assert failed["bad"].startswith("cell 1 (id a): AttributeError") and "TypeError" in failed["y"]


def test_the_structure_notes_state_each_assignments_own_rule(made, tmp_path):
    from backproplab.check import jku, radboud

    for module in (jku, radboud):
        assignment = module.ASSIGNMENT.name
        added = _variant(made, tmp_path, assignment, lambda cells: cells.insert(2, nbformat.v4.new_code_cell("1")))
        notes = [m for m in module.ASSIGNMENT.prepare(Path(added))[1] if "cell structure" in m]
        assert len(notes) == 1, notes
        if assignment == "jku-a7":
            assert "cells must not be added or removed" in notes[0]
        else:
            assert "must not" not in notes[0] and "allows that" in notes[0] and "graded by name" in notes[0]
    from backproplab.check.notebook import Cell, structure_messages

    notes = structure_messages([Cell(i, "code", "") for i in "xba"], ["a", "b", "c"], is_export=False)
    assert len(notes) == 3 and " ".join(notes).count("must not be added") == 1, notes  # the rule, said once


def test_removed_and_reordered_cells_are_reported(made, tmp_path):
    removed = _variant(made, tmp_path, "jku-a7", lambda cells: cells.pop(3))
    messages = " ".join(check("jku-a7", removed, items=["3.3"]).messages)
    assert "missing" in messages and "jku-task1-answer" in messages
    (tmp_path / "b").mkdir()
    swapped = _variant(made, tmp_path / "b", "jku-a7", lambda cells: cells.insert(2, cells.pop(4)))
    assert "not in the handed-out order" in " ".join(check("jku-a7", swapped, items=["3.3"]).messages)
    (tmp_path / "c").mkdir()
    renamed = _variant(made, tmp_path / "c", "jku-a7", lambda cells: cells[5].update(id="my-own-id"))
    assert "my-own-id" in " ".join(check("jku-a7", renamed, items=["3.3"]).messages)


def test_a_notebook_without_cell_ids_is_compared_by_count():
    from backproplab.check.notebook import Cell, structure_messages

    cells = [Cell("", "code", "x = 1")] * 3
    assert "compared by count only" in structure_messages(cells, ["a", "b", "c"], is_export=False)[0]
    assert "cells were added or removed" in structure_messages(cells, ["a", "b"], is_export=False)[0]
    assert structure_messages([Cell("a", "code", ""), Cell("b", "code", "")], ["a", "b"], is_export=False) == []


def test_py_export_is_graded_and_says_structure_unchecked(made, tmp_path):
    cells = read_cells(made / "solution" / "radboud_a1.ipynb")
    text = "\n\n".join(f"# %%\n{c.source}" for c in cells if c.kind == "code")
    path = tmp_path / "radboud_a1.py"
    path.write_text(text)
    result = check("radboud-a1", path)
    assert result.score == result.max_score
    assert any(".py export" in m for m in result.messages)


def test_the_rule_keeps_definitions_and_skips_runs():
    cells = read_cells.__globals__["Cell"]
    made = extract([cells("a", "code", "%matplotlib inline\nimport os\nx = 3\ny = f(2)\nwhile True:\n    pass\n"
                                       "def g():\n    return y\n"),
                    cells("b", "code", "def broken(:\n")])
    assert "def g" in made.source and "x = 3" in made.source and "while" not in made.source
    assert "y = f(2)" not in made.source.splitlines() and made.defined == ["x", "g"]
    assert any("syntax error" in m for m in made.messages)
    assert any("not defined when grading" in m and "y, as `y = f(2)` (cell 1 (id a)): its value calls f(…)" in m
               for m in made.messages), made.messages


def test_an_unreadable_notebook_scores_0_with_one_clear_reason(tmp_path, capsys):
    """The student's file, not the command, is wrong: a grade of 0 that says why (exit 1), as in a batch."""
    from backproplab.cli import main

    (tmp_path / "jku_a7.ipynb").write_text("{not json")
    assert main(["check", "jku-a7", str(tmp_path / "jku_a7.ipynb")]) == 1
    captured = capsys.readouterr()
    assert ": 0 / 50" in captured.out and "could not be read as a Jupyter notebook" in captured.out
    assert captured.out.count("could not be read") == 1 and "Traceback" not in captured.err  # said once


@pytest.mark.parametrize("cell", [{"cell_type": "code", "metadata": {}, "source": 12345, "outputs": []},
                                  {"metadata": {}, "source": "x = 1"},
                                  {"cell_type": "markdown", "metadata": {}, "source": {"yaml": 1}}],
                         ids=["source-a-number", "no-cell-type", "markdown-source-a-dict"])
def test_a_malformed_cell_is_one_clear_reason(made, tmp_path, capsys, cell):
    """nbformat.read keeps a cell whose source is a number or that has no cell_type: the checker's
    AttributeError was a traceback and no grade; it is now the notebook's one clear error."""
    import json

    from backproplab.cli import main

    nb = json.loads((made / "solution" / "jku_a7.ipynb").read_text())
    nb["cells"].append(dict(cell, id="odd"))
    (tmp_path / "jku_a7.ipynb").write_text(json.dumps(nb))
    assert main(["check", "jku-a7", str(tmp_path / "jku_a7.ipynb"), "--item", "3.3"]) == 1
    captured = capsys.readouterr()
    assert "has no cell_type or no source text" in captured.out and "Traceback" not in captured.err


HOSTILE = [
    # relu, which no other item calls: a loop costs a timeout per item that calls it (a wrong sigmoid costs
    # model1 too: test_a_wrong_sigmoid_costs_model1_too_and_its_feedback_says_why)
    ("endless loop in a function", _replace("rad-activations", "return torch.clamp(x, min=0)", "while True:\n        pass"),
     ["1.3b"], "did not finish"),
    ("os._exit in a function", _replace("rad-activations", "return torch.clamp(x, min=0)",
                                        "import os\n    os._exit(3)"), ["1.3b"], ""),
    ("a process started in a function", _replace("rad-model1", "return sigmoid(x @ w + b)",
                                                 "import subprocess\n    subprocess.run(['true'])"), ["1.4"],
     "may not start a process"),
    ("writing outside the working directory", _replace("rad-optimize-f", "    x_hist, y_hist = [x], [y]",
                                                       "    open('/tmp/backproplab-hostile.txt', 'w')\n    "
                                                       "x_hist, y_hist = [x], [y]"), ["1.1a"], "outside"),
    ("sys.exit in a function", _replace("rad-activations", "return torch.clamp(x, min=0)",
                                        "import sys\n    sys.exit(0)"), ["1.3b"], "sys.exit"),
    ("a fork in a function", _replace("rad-activations", "return torch.clamp(x, min=0)",
                                      "import os\n    os.fork()"), ["1.3b"], "may not start a process"),
    ("a memory bomb in a function", _replace("rad-activations", "return torch.clamp(x, min=0)",
                                             "return bytearray(10 ** 12)"), ["1.3b"], "MemoryError"),
    ("a syntax error in a cell", _replace("rad-activations", "def relu(x):", "def relu(x:"),
     ["1.3a", "1.3b", "1.4"], "defines no sigmoid"),  # model1 calls sigmoid, defined in the same cell
    ("an import the grader lacks", _replace("rad-setup", "import math", "import math\nimport torchvision_lacking"),
     [], ""),
    ("pages of printing", _replace("rad-activations", "return torch.sigmoid(x)",
                                   "print('x' * 100_000)\n    return torch.sigmoid(x)"), [], ""),
    ("a valid expression nested 1,000 deep in a cell of its own", lambda cells: cells.append(
        nbformat.v4.new_code_cell("deep = " + "-" * 1000 + "1")), [], ""),
    ("an endless loop and an exit at the top level of cells", lambda cells: cells.insert(
        2, nbformat.v4.new_code_cell("import os\nwhile True:\n    pass\nos._exit(1)")), [], ""),
]


@pytest.mark.slow
@pytest.mark.parametrize("label, edit, lost, words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_notebooks_cost_only_their_items(made, tmp_path, label, edit, lost, words):
    from backproplab.check import Limits

    # every item of the solution ends within 1.2 s on an idle machine (1.6 trains; the others take
    # milliseconds): 5 s leaves 1.6 four times that under load; the endless loop costs its item 5 s
    result = check("radboud-a1", _variant(made, tmp_path, "radboud-a1", edit), timeout=5,
                   limits=Limits(import_timeout=60))
    assert result.lost() == lost, label
    text = "\n".join(f for it in result.items for f in it.failures())
    assert words in text, text
    assert all(len(it.stdout) < 4200 for it in result.items)  # printed output is cut per item
    assert not Path("/tmp/backproplab-hostile.txt").exists()


def test_a_mismatch_says_where_the_largest_difference_is():
    """The first six values can agree (a reviewer's Radboud 1.6 showed equal 'gave' and 'expected'): the
    message names the index of the largest difference and both values there."""
    import numpy as np

    from backproplab.check.notebook_assignment import near

    expected = np.arange(20.0)
    got = expected.copy()
    got[13] += 0.5
    assertion = near("params", "train_epoch(...)", got, expected, atol=1e-6)
    assert not assertion.passed
    assert "largest difference 0.5 at index (13,) (expected 13, got 13.5)" in assertion.message


def test_a_forward_that_does_not_flatten_is_told_to_flatten():
    from types import SimpleNamespace

    from backproplab.check.jku import UNFLATTENED
    from backproplab.check.notebook_assignment import part

    out = SimpleNamespace(values={"error.seeded": "raised RuntimeError: mat1 and mat2 shapes cannot be multiplied "
                                                  "(56x28 and 784x512)"})
    [assertion] = part(out, "seeded", "architecture", lambda: None, UNFLATTENED)
    assert not assertion.passed and "flatten them to [N, 784]" in assertion.hint
    out.values["error.seeded"] = "raised RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x784 and 512x10)"
    assert part(out, "seeded", "architecture", lambda: None, UNFLATTENED)[0].hint == ""


def test_a_new_optimizer_each_epoch_is_named():
    from types import SimpleNamespace

    import numpy as np

    from backproplab.check.jku import judge_train_and_test

    ctx = SimpleNamespace(inputs={"jku.hyper": np.array([0.05, 0.5, 2.0])})
    out = SimpleNamespace(values={"optimizer": "SGD", "same_optimizer": False, "optimizes_model": True, "lr": 0.05},
                          arrays={})
    first = judge_train_and_test(ctx, out)[0]
    assert not first.passed and first.message.endswith("passed train a SGD, a new one for each epoch")
    assert "create the optimizer once, before the epoch loop" in first.hint


def test_a_wrong_sigmoid_costs_model1_too_and_its_feedback_says_why(made, tmp_path):
    """model1 calls the student's sigmoid (CONTRACTS.md C 1.4): a wrong 1.3a costs 1.4 as well, whose feedback
    said nothing of the sigmoid; it now names 1.3a's code (docs/checking.md said "costs that item only")."""
    edit = _replace("rad-activations", "return torch.sigmoid(x)", "return torch.sigmoid(2 * x)")
    result = check("radboud-a1", _variant(made, tmp_path, "radboud-a1", edit))
    assert result.lost() == ["1.3a", "1.4"]
    model1 = next(it for it in result.items if it.id == "1.4")
    assert "this item calls the code of 1.3a" in model1.feedback()


def test_lines_over_several_figures_count_only_when_train_ran():
    """Three one-line figures pass 3.2c when their lines are what train returned; with no train to check
    them against (made-up lines) they do not, as three lines in one figure never needed (a review's find)."""
    from backproplab.check.jku import _gradient_plot

    made_up = {"line_counts": [[1], [1], [1]], "drawn": [[1, 2, 3], [4, 5], [6]], "epoch_grads": []}
    assert not _gradient_plot("train_and_test(...)", made_up).passed
    grads = [[[0.3, 0.2], [0.2, 0.1], [0.1, 0.05]]]  # one epoch, three layers, two batches
    real = {"line_counts": [[1], [1], [1]], "drawn": [layer for layer in grads[0]], "epoch_grads": grads}
    assert _gradient_plot("train_and_test(...)", real).passed
