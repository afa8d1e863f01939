"""A2/A3 (pytorch_ann.py, pytorch_cnn.py): correct submissions get full marks, each common mistake
loses exactly the items it affects with the mistake named. Each check starts torch in a child
process (seconds), so these are marked slow."""

from __future__ import annotations

import pytest

from backproplab.check import check

from ._helpers import fixture

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("needs_fashion")]

ANN_UNTRAINED = ["2.1", "2.2", "2.3", "2.4", "2.5"]
ANN_MISTAKES = {
    "softmax_in_model": ({"2.1", "2.2", "2.3"}, "the model ends with Softmax: leave it out"),
    "no_seed": ({"2.1"}, "call torch.manual_seed(seed) before creating the layers"),
    "no_zero_grad": ({"2.3"}, "call optimizer.zero_grad() before each backward"),
    "predict_logits": ({"2.4"}, "predict returned scores of shape (12, 10)"),
    "plot_made_up_lines": ({"2.5"}, "no line is the recorded train_loss"),
    # CONTRACTS.md A2 2.3: "`nn.CrossEntropyLoss`, `torch.optim.SGD(self.model.parameters(), lr=learning_rate)`"
    "lr_typed": ({"2.3"}, "the step is 0.1× the contract's, a rate of 0.01 for learning_rate=0.1"),
    "adam": ({"2.3"}, "each weight moved by learning_rate against its gradient's sign: Adam's first step"),
    # not "each epoch repeats the first one's step (optimizer.zero_grad() ...)": it calls zero_grad
    "momentum": ({"2.3"}, "the second adds 0.9× the first: SGD with momentum=0.9"),
    # an architecture mistake (2.1), not a training one: 2.3's steps are taken with its dropout off
    "dropout_in_model": ({"2.1"}, "a Dropout layer the contract's layout does not have"),
    # 2.3 "records per-epoch train/validation loss": curves of X_train for both passed 2.3, 2.5 and 2.7
    "validation_on_train": ({"2.3"}, "the validation loss recorded is the training rows'"),
    "sum_reduction": ({"2.3"}, "the step is that of the loss summed over the batch (24× the mean's"),
    # the plot (2.5) calls train too: it draws 4 points for epochs=3, and says it calls the code of 2.3
    "epochs_plus_one": ({"2.3", "2.5"}, "train ran 2 epochs for epochs=1: loop for _ in range(epochs)"),
    # 2.3 "per minibatch: `zero_grad`, forward, loss, `backward`, `step`": one epoch of three batches
    "zero_grad_per_epoch": ({"2.3"}, "optimizer.zero_grad() ran once per epoch, so each batch's gradient added"),
    "whole_set_per_step": ({"2.3"}, "saw batches of 24, 24, 24 rows, not 3 of 8"),
    # X[torch.randperm(n)] with y[torch.randperm(n)]: the loss got rows with other rows' labels
    "sep_shuffle": ({"2.3"}, "likely cause: X and y were shuffled with different orders: shuffle one index array "
                             "and index both with it"),
    # the same with `from torch.nn.functional import cross_entropy`: a name bound before the probe's wrapper
    "sep_shuffle_loss_by_name": ({"2.3"}, "likely cause: X and y were shuffled with different orders"),
    # 2.3 `train(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate)`
    "train_arguments_swapped": ({"2.3", "2.5"}, "PyTorchANN.train takes (X_train, y_train, X_val, y_val, epochs, "
                                         "learning_rate, batch_size), the contract's parameters in another order"),
}
CNN_MISTAKES = {
    "no_dropout": "no Dropout layer: the contract's layout has one",
    "softmax_at_end": "the model ends with Softmax",
    "no_zero_grad": "call optimizer.zero_grad() before each backward",
    "eval_after_validating": "the second ran in evaluation mode",
    "zero_grad_per_epoch": "optimizer.zero_grad() ran once per epoch",
    "sep_shuffle": "likely cause: X and y were shuffled with different orders",
    # the known weights do not fit: the layout's checks still score (it was 0 / 6, all one error)
    "flatten_size_wrong": "with known weights raised ValueError: parameter 16 has shape (128, 1024)",
}


def test_a_wrong_step_after_a_second_forward_is_not_told_it_shuffled_apart():
    """The rows recorded were the last batch into the first layer (a training accuracy on the whole set),
    not those whose output reached the loss: a one-permutation train with a doubled step was told that X
    and y were shuffled apart. Several batches before one loss: nothing is told of the pairs."""
    result = check("purdue-pytorch-ann", fixture("pytorch_ann", "shuffled_extra_forward_double_lr"), items=["2.3"])
    assert result.lost() == ["2.3"]
    failures = "\n".join(result.item("2.3").failures())
    assert "not what torch.optim.SGD(self.model.parameters(), lr=learning_rate)" in failures
    assert "shuffled with different orders" not in failures


def test_correct_ann_gets_full_marks():
    result = check("purdue-pytorch-ann", fixture("pytorch_ann", "correct"), quick=True)
    assert result.lost() == [] and result.score == 14
    assert "agrees with our verdict" in [a.name for a in result.item("2.7").assertions]


def test_correct_cnn_gets_full_marks():
    result = check("purdue-pytorch-cnn", fixture("pytorch_cnn", "correct"), quick=True)
    assert result.lost() == [] and result.score == 10
    assert "422,986 parameters" in " ".join(a.message for a in result.item("3.1").assertions)


@pytest.mark.parametrize("name", sorted(ANN_MISTAKES))
def test_ann_mistake_loses_exactly_its_items(name):
    lost, message = ANN_MISTAKES[name]
    result = check("purdue-pytorch-ann", fixture("pytorch_ann", name), items=ANN_UNTRAINED)
    assert set(result.lost()) == lost
    assert message in "\n".join(line for i in lost for line in result.item(i).failures())


def test_a_judgement_of_made_up_curves_loses_2_7():
    """Curves the training did not record (a train that takes no step and makes them up) scored 2.7
    with the word they read as: the last validation accuracy is checked against the trained model's."""
    result = check("purdue-pytorch-ann", fixture("pytorch_ann", "judgement_made_up_curves"), quick=True,
                   items=["2.6", "2.7"])
    assert result.lost() == ["2.6", "2.7"] and result.item("2.7").score == 0.5
    assert "are not those of the training graded here: their last validation accuracy is 0.89" \
        in result.item("2.7").failures()[0]


def test_judgement_that_returns_nothing_loses_2_7_only():
    result = check("purdue-pytorch-ann", fixture("pytorch_ann", "judgement_verdict_object"), quick=True,
                   items=["2.5", "2.6", "2.7"])
    assert result.lost() == ["2.7"]
    assert "report_my_judgement() returned None" in result.item("2.7").failures()[0]


@pytest.mark.parametrize("name", sorted(CNN_MISTAKES))
def test_cnn_mistake_loses_3_1(name):
    result = check("purdue-pytorch-cnn", fixture("pytorch_cnn", name), items=["3.1"])
    assert result.lost() == ["3.1"] and 0 < result.item("3.1").score < 6
    assert CNN_MISTAKES[name] in "\n".join(result.item("3.1").failures())


def test_purdue_folder_grades_all_three_files(tmp_path):
    import shutil

    for kind in ("numpy_ann", "pytorch_ann"):
        shutil.copy(fixture(kind, "correct") / f"{kind}.py", tmp_path / f"{kind}.py")
    result = check("purdue", tmp_path, items=["1.2", "2.2", "3.1"])
    assert [it.id for it in result.items] == ["1.2", "2.2", "3.1"]
    assert result.lost() == ["3.1"] and "pytorch_cnn.py not found" in result.item("3.1").error


def test_parallel_grading_keeps_the_seeded_references_apart():
    """Two jobs judging at once must not interleave the references' seeded draws (2.1 compares the
    student's initial weights with the reference's for the same seed)."""
    from backproplab.check import check_batch

    paths = [fixture("pytorch_ann", n) for n in ("correct", "no_seed", "correct", "correct", "no_seed", "correct")]
    results = check_batch("purdue-pytorch-ann", paths, jobs=2, items=["2.1", "2.2"], progress=False)
    assert [r.lost() for r in results] == [[], ["2.1"], [], [], ["2.1"], []]


def test_a_training_run_that_hangs_costs_2_6_and_is_not_rerun_for_2_7():
    result = check("purdue-pytorch-ann", fixture("pytorch_ann", "hostile_training_hangs"), quick=True,
                   items=["2.4", "2.6", "2.7"], timeout=5)
    assert result.lost() == ["2.6", "2.7"]
    assert "did not finish within 5 s" in result.item("2.6").error
    assert result.item("2.7").error.startswith("not run: it judges the run of item 2.6")


@pytest.mark.parametrize(("kind", "name", "items"), [
    ("pytorch_cnn", "form_same_padding", ["3.1"]),
    ("pytorch_cnn", "form_pool_pair", ["3.1"]),  # A3 3.1 "MaxPool2d(2)": (2, 2) is the same layer
    ("pytorch_cnn", "form_loss_attribute_and_net", ["3.1"]),
    ("pytorch_ann", "form_loss_attribute_plot_closed", ["2.1", "2.3", "2.5"]),
    # layer.forward(X) runs no module hook: the rows of 2.3's batches run go unseen, which is no mistake
    ("pytorch_ann", "form_forward_calls_layer_forward", ["2.3"]),
    # A2 2.3 "per minibatch": shuffling with one permutation for X and y is accepted (2.5 trains too)
    ("pytorch_ann", "form_shuffled", ["2.3", "2.5"]),
    ("pytorch_cnn", "form_shuffled", ["3.1"]),
])
def test_other_correct_forms_get_full_marks(kind, name, items):
    """Forms a reviewer wrote that the contract allows, which lost points before: padding="same", a loss
    module kept as an attribute (it is not a layer), A3's Sequential under another name (A3 names none),
    a plot closed after it was saved."""
    result = check(f"purdue-{kind.replace('_', '-')}", fixture(kind, name), items=items)
    assert result.lost() == [], [f for i in items for f in result.item(i).failures()]


def test_curves_are_read_from_a_list_of_epoch_records_and_short_key_names():
    from backproplab.check.child.torch_probes import curves_from_attributes

    class Records:
        def __init__(self):
            self.history = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e, "train_acc": 0.5 + e / 10,
                             "val_acc": 0.4 + e / 10} for e in (1, 2, 3)]

    class ShortKeys:
        def __init__(self):
            self.history = {"tr_loss": [3, 2, 1], "va_loss": [4, 3, 2], "tr_acc": [0.1, 0.2, 0.3],
                            "va_acc": [0.0, 0.1, 0.2]}

    records = Records().history
    assert curves_from_attributes(Records(), 3) == {key: [r[key] for r in records] for key in
                                                    ("train_loss", "val_loss", "train_acc", "val_acc")}
    assert curves_from_attributes(ShortKeys(), 3) == {"train_loss": [3, 2, 1], "val_loss": [4, 3, 2],
                                                      "train_acc": [0.1, 0.2, 0.3], "val_acc": [0.0, 0.1, 0.2]}


def test_unreadable_curves_cost_the_agreement_not_the_answer():
    """A3 has no plot method: when the curves cannot be read, the answer still counts as a word."""
    from types import SimpleNamespace

    from backproplab.check.torch_common import judge_judgement

    out = SimpleNamespace(values={"answer": "generalizing", "answer_type": "str", "curves": {}, "source": "attributes"})
    word, agree = judge_judgement(None, out)
    assert word.passed and not agree.passed and "could not read your per-epoch curves" in agree.message


def test_a_disagreeing_judgement_is_told_the_rule_and_numbers_behind_ours():
    """CONTRACTS.md states no thresholds, so the feedback shows the one our verdict used (the gap here)."""
    from types import SimpleNamespace

    from backproplab.check.torch_common import judge_judgement

    curves = {"train_loss": [1.0, 0.5, 0.3], "val_loss": [1.0, 0.8, 0.9], "train_acc": [0.6, 0.85, 0.95],
              "val_acc": [0.6, 0.8, 0.82]}
    out = SimpleNamespace(values={"answer": "generalizing", "answer_type": "str", "curves": curves,
                                  "source": "attributes"})
    word, agree = judge_judgement(None, out)
    assert word.passed and not agree.passed
    assert "our verdict is 'overfitting' (overfitting: train accuracy 0.950 vs validation 0.820: gap 0.130 > 0.050)" \
        in agree.message


def test_curves_are_checked_against_the_trained_models_validation_accuracy():
    """The recorded last validation accuracy may be VAL_ACC_SLACK from the model's own (a CNN that
    validated with its dropout on), not more."""
    from types import SimpleNamespace

    import numpy as np

    from backproplab.check.torch_common import VAL_ACC_SLACK, judge_judgement

    labels = np.arange(100) % 10
    pred = np.where(np.arange(100) < 80, labels, (labels + 1) % 10)  # the model gets 80 % right
    ctx = SimpleNamespace(val_labels=labels)
    for recorded, real in ((0.8, True), (0.8 - VAL_ACC_SLACK + 0.01, True), (0.95, False), (0.1, False)):
        curves = {"train_loss": [1.0, 0.9, 0.89], "val_loss": [1.0, 0.9, 0.89], "train_acc": [0.7, 0.8, 0.8],
                  "val_acc": [0.7, 0.8, recorded]}
        out = SimpleNamespace(values={"answer": "generalizing", "answer_type": "str", "curves": curves,
                                      "source": "attributes"}, arrays={"val_pred": pred})
        word, agree = judge_judgement(ctx, out)
        assert word.passed
        assert ("are not those of the training graded here" in agree.message) is not real, recorded
        if not real:
            assert not agree.passed and "labels 80.0% of the 100 validation images right" in agree.message


def test_the_fork_server_has_imported_what_the_first_optimizer_imports():
    """torch's optimizers import torch._dynamo when the first one is made (1.5 s): the fork server's setup
    imports it before it forks, or every graded child pays it again (a check took 2.2 s, not 0.6 s)."""
    import subprocess
    import sys

    from backproplab.check.processes import ZYGOTE

    probes = ZYGOTE.with_name("torch_probes.py")
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('probes', {str(probes)!r})\n"
            "probes = importlib.util.module_from_spec(spec); spec.loader.exec_module(probes)\n"
            "before = 'torch._dynamo' in sys.modules\n"
            "probes.setup()\n"
            "print(before, 'torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "True"], done.stderr[-2000:]
