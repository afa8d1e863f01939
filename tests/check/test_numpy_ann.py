"""A1 (numpy_ann.py): a correct submission gets full marks; each common mistake loses exactly the
items it affects, and the message names the mistake."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.check import check

from ._helpers import fixture

pytestmark = pytest.mark.usefixtures("needs_fashion")

MISTAKES = {
    "relu_grad_at_zero": ({"1.3"}, "_relu_grad(0) returned 1; the contract takes 0 at x = 0"),
    "cross_entropy_swapped": ({"1.4"}, "_cross_entropy looks like it takes (y_pred, y_true)"),
    "no_divide_by_m": ({"1.6", "1.7", "1.10"}, "your dW1 is 64× the expected one: divide by the number of samples"),
    "init_default_rng": ({"1.1"}, "W1 was not drawn with np.random.seed + 0.01·randn"),
    "init_order": ({"1.1"}, "W1 and W2 were drawn in the wrong order"),
    "accuracy_percent": ({"1.9"}, "accuracy returned a percentage"),
    "forward_stores_nothing": ({"1.5"}, "there is no self.z1"),
    # any dict with a list of one value per epoch passed as the history
    "history_made_up": ({"1.7"}, "but not the model's validation loss"),
}
# CONTRACTS.md A1: "1.7 `train(self, X_train, y_train, X_val, y_val, epochs, batch_size)` | 2 | per epoch: ...";
# "1.4 `_cross_entropy(self, y_true, y_pred)` | 1 | argument order: truth first": graded on items 1.4/1.7
# only (no Fashion-MNIST run), each names its mistake
UNTRAINED_MISTAKES = {
    "epochs_plus_one": ({"1.7"}, "train ran 2 epochs for epochs=1: loop for _ in range(epochs)"),
    "train_arguments_swapped": ({"1.7"}, "NumpyANN.train takes (X_train, y_train, X_val, y_val, batch_size, epochs), "
                                         "the contract's parameters in another order"),
    "cross_entropy_swapped": ({"1.4"}, "NumpyANN._cross_entropy takes (y_pred, y_true), the contract's parameters "
                                       "in another order"),
    # 1.6 "dz1 = (dz2·W2ᵀ) ⊙ relu′(z1) ...; then updates every parameter": W2 updated before dz1 (1.7 calls 1.6; 1.6 is not graded here)
    "w2_updated_first": ({"1.7"}, "dz1 was computed with W2 already updated"),
    # 1.9 "mean of argmax(predict(X)) == argmax(y_true)"
    "accuracy_count": ({"1.9"}, "accuracy returned the number of right labels: divide it by the number of samples"),
    # "per epoch: minibatches of `batch_size` rows ... `_forward(batch, True)` then `_backward(batch, y_batch)`"
    "one_step_per_epoch": ({"1.7"}, "train took one step in an epoch of 3 batches"),
    "whole_set_per_step": ({"1.7"}, "_backward was handed batches of 12, 12, 12 rows, not 3 of 4"),
    # "shuffling is accepted": X[perm1] with y[perm2] hands _backward rows with other rows' labels
    # 1.6 "θ ← θ − lr · dθ" with 1.1's self.lr: 0.1 written in passed 1.6 and 1.7 while their probes used lr 0.1
    # (the course's full run's too), so only a quick run's 1.10 lost points, with no cause named
    "lr_written_in": ({"1.7"}, "the step used lr = 0.1, not self.lr = 0.07: a learning rate written into the code"),
    # 1.1 "W1 = 0.01 * np.random.randn(...)": He initialisation lost 1.1's point with no cause named
    "init_he": ({"1.1"}, "W1 is randn × 0.0505 (= √(2/fan_in), He initialisation, fan_in = 784): the contract "
                         "multiplies randn by 0.01"),
    # 1.6 "dz2 = a2 − y_true": the cause named was only "not θ + lr·dθ", a line the student wrote right
    "dz2_sign": ({"1.7"}, "with dz2 = a2 − y_true, not y_true − a2"),
    "sep_shuffle": ({"1.7"}, "likely cause: X and y were shuffled with different orders: shuffle one index array "
                             "and index both with it"),
}


def test_correct_submission_gets_full_marks():
    result = check("purdue-numpy-ann", fixture("numpy_ann", "correct"), quick=True)
    assert result.lost() == []
    assert result.score == result.max_score == 18
    assert [it.id for it in result.items] == [f"1.{i}" for i in range(1, 11)]
    assert any("quick run" in m for m in result.messages)
    notes = result.item("1.4").notes()
    assert notes and "mean over rows" in notes[0]


def test_a_relu_that_clips_its_argument_in_place_is_named_in_1_2():
    """1.2 "elementwise max(0, x)": clipped in place, _forward's stored z1 became a1 and cost 1.5 with no
    cause named, while 1.2 passed; 1.5 calls 1.2's code, so both lose points."""
    result = check("purdue-numpy-ann", fixture("numpy_ann", "relu_in_place"), items=["1.2", "1.5"])
    assert result.lost() == ["1.2", "1.5"] and result.item("1.2").score == 0.5
    assert "_relu changed its argument (x[x < 0] = 0)" in "\n".join(result.item("1.2").failures())


def test_the_file_itself_is_accepted_as_path():
    result = check("purdue-numpy-ann", fixture("numpy_ann", "correct") / "numpy_ann.py", items=["1.2", "1.3"])
    assert [it.id for it in result.items] == ["1.2", "1.3"] and result.score == 2


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_mistake_loses_exactly_its_items(name):
    lost, message = MISTAKES[name]
    result = check("purdue-numpy-ann", fixture("numpy_ann", name), quick=True)
    assert set(result.lost()) == lost
    texts = "\n".join(line for item_id in lost for line in result.item(item_id).failures())
    assert message in texts


@pytest.mark.parametrize("name", sorted(UNTRAINED_MISTAKES))
def test_an_untrained_mistake_loses_its_item_and_is_named(name):
    lost, message = UNTRAINED_MISTAKES[name]
    result = check("purdue-numpy-ann", fixture("numpy_ann", name), items=["1.1", "1.4", "1.7", "1.9"])
    assert set(result.lost()) == lost
    texts = "\n".join(line for item_id in lost for line in result.item(item_id).failures())
    assert message in texts


def test_the_argument_order_is_read_from_the_source_and_only_a_permutation_counts():
    from backproplab.check.signatures import misordered

    src = ("class NumpyANN:\n    def __init__(self, input_size, hidden_size, output_size, seed, lr): pass\n"
           "    def train(self, a, b, c, d, e, f): pass\n    def _forward(self, X, training): pass\n")
    found = misordered(src, "NumpyANN")
    assert list(found) == ["__init__"] and "(input_size, hidden_size, output_size, lr, seed)" in found["__init__"]
    assert misordered("def (", "NumpyANN") == {}


def test_a_failed_assertion_says_call_expected_got():
    result = check("purdue-numpy-ann", fixture("numpy_ann", "relu_grad_at_zero"), items=["1.3"])
    text = result.item("1.3").failures()[0]
    assert "_relu_grad(x) with x holding 0" in text and "expected" in text and "got" in text
    assert result.item("1.3").score == 0


def test_a_history_array_with_one_row_per_epoch_is_the_history():
    result = check("purdue-numpy-ann", fixture("numpy_ann", "form_history_array"), items=["1.7"])
    assert result.lost() == [], result.item("1.7").failures()


def test_a_train_that_shuffles_x_and_y_with_one_order_gets_full_marks():
    """1.7 "shuffling is accepted": one permutation indexing both X and y, a new one each epoch, on 1.7's
    steps and on the Fashion-MNIST run (1.10) that trains with it."""
    result = check("purdue-numpy-ann", fixture("numpy_ann", "form_shuffled"), quick=True, items=["1.7", "1.10"])
    assert result.lost() == [], [f for i in ("1.7", "1.10") for f in result.item(i).failures()]


def test_rows_and_labels_put_in_two_orders_are_told_from_one_order():
    from backproplab.check.compare import labels_moved

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 3)), np.array([0, 1, 2, 0, 1, 2])
    same, other = rng.permutation(6), rng.permutation(6)
    assert labels_moved(X, y, X[same], y[other]) and labels_moved(X, y, X[same], y)
    assert not labels_moved(X, y, X[same], y[same]) and not labels_moved(X, y, X, y)
    # cannot tell: nothing seen, rows that are not the training set's, labels that are not its labels
    assert not labels_moved(X, y, None, None) and not labels_moved(X, y, 2 * X, y[other])
    assert not labels_moved(X, y, X[same], np.zeros(6)) and not labels_moved(X, y, X[:3], y[:3])


def test_what_a_child_sent_back_is_sized_up_before_it_is_copied():
    """labels_moved turned the child's arrays into float64 before comparing shapes: 64 MiB of booleans from
    a child (which may send 256 MiB) took 512 MiB in the checker's own process."""
    import tracemalloc

    from backproplab.check.compare import labels_moved

    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    big = np.zeros(2**26, bool)
    tracemalloc.start()
    try:
        assert not labels_moved(X, y, big, y) and not labels_moved(X, y, X, big)
        assert not labels_moved(X, y, X.astype(object), y) and not labels_moved(X, y, X.astype("U3"), y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak


@pytest.mark.parametrize("hist", [
    [{"epoch": 1, "val_loss": 0.5, "val_acc": 0.8}, {"epoch": 2, "val_loss": 0.4, "val_acc": 0.9},
     {"epoch": 3, "val_loss": 0.3, "val_acc": 0.9}],
    [(0.5, 0.8), (0.4, 0.9), (0.3, 0.9)],
    np.zeros((3, 2)), np.zeros((2, 3)), {"val_loss": [1, 2, 3]}, ([1, 2, 3], [4, 5, 6]),
])
def test_history_layouts_with_one_value_per_epoch_count(hist):
    from backproplab.check.child.numpy_probes import _history_shape

    assert _history_shape(hist, 3)["per_epoch"]


@pytest.mark.parametrize("hist", [None, 0.5, np.float64(1.0), [0.5, 0.4], {"val_loss": 0.3}])
def test_a_history_without_one_value_per_epoch_does_not(hist):
    from backproplab.check.child.numpy_probes import _history_shape

    assert not _history_shape(hist, 3)["per_epoch"]


def test_a_wrong_forward_costs_the_items_that_call_it_and_they_say_so():
    """_backward is graded on the reference's stored values, so a softmax over columns (1.5) leaves 1.6
    whole; train, predict and accuracy call _forward, lose points, and each names 1.5 as the likely cause."""
    result = check("purdue-numpy-ann", fixture("numpy_ann", "softmax_over_columns"),
                   items=["1.5", "1.6", "1.7", "1.8", "1.9"])
    assert result.lost() == ["1.5", "1.7", "1.8", "1.9"]
    assert any("calls the code of 1.5" in n for n in result.item("1.8").notes())
    assert any("calls the code of 1.5" in n for n in result.item("1.7").notes())
    assert any("calls the code of 1.8" in n for n in result.item("1.9").notes())
    assert not result.item("1.6").notes() or not any("calls the code" in n for n in result.item("1.6").notes())
