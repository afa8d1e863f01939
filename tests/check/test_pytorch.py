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
}
CNN_MISTAKES = {
    "no_dropout": "no Dropout layer: the contract's layout has one",
    "softmax_at_end": "the model ends with Softmax",
    "no_zero_grad": "call optimizer.zero_grad() before each backward",
    "eval_after_validating": "the second ran in evaluation mode",
}


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
