"""The digits lesson: 64-32-1 over five seeds, sweeps, the linear stack multiplied out, zero init."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.lessons import digits

pytestmark = pytest.mark.lessons


@pytest.fixture(scope="module")
def result(quick_runs):
    return quick_runs.get(digits, quick=True)  # one run per session (tests/conftest.py)


def test_five_seeds_reach_the_course_accuracy(result):
    accs = np.array([row["val_acc"] for row in result.tables["seeds"]])
    assert len(accs) == 5
    assert accs.min() >= digits.WORST_SEED_ACC and np.median(accs) >= digits.MEDIAN_SEED_ACC
    assert result.claim("64-32-1 validation accuracy, worst of 5 seeds").value == pytest.approx(accs.min())
    # the network fits its training data
    assert all(row["train_acc"] >= 0.99 for row in result.tables["seeds"])


def test_zero_init_units_identical_and_random_not(result):
    rows = {row["init"]: row for row in result.tables["initialisation"]}
    assert rows["all zeros"]["trained_max_abs_W1"] == 0.0
    assert rows["constant 0.1"]["trained_unit_weight_spread"] == 0.0
    assert rows["constant 0.1"]["first_step_max_abs_dW1"] > 1e-4  # a real gradient, equal for all units
    assert rows["He (random)"]["trained_unit_weight_spread"] > 0.1
    assert 0.4 <= rows["all zeros"]["val_acc"] <= digits.ZERO_INIT_ACC


def test_sweep_rows_and_figures(result):
    knobs = {row["knob"] for row in result.tables["sweeps"]}
    assert knobs == {"learning rate", "batch size", "hidden width"}
    full = [r for r in result.tables["sweeps"] if r["knob"] == "batch size" and r["updates_per_epoch"] == 1]
    assert len(full) == 1
    assert set(result.figures) == {"digits_seeds", "digits_sweeps", "digits_depth", "digits_initialisation"}


# -- each step alone (run composes them), on smaller settings than the lesson's quick run --------------

@pytest.fixture(scope="module")
def split():
    return digits._data(0)


def _check_step(step, figure):
    try:
        assert step.claims and step.passed, [str(c) for c in step.claims if not c.passed]
        assert list(step.figures) == [figure]
    finally:
        step.close_figures()


def test_step_five_seeds_alone():
    step = digits.five_seeds([0])
    assert step.data["finals"].min() >= digits.WORST_SEED_ACC
    _check_step(step, "digits_seeds")


def test_step_knob_sweeps_alone(split):
    step = digits.knob_sweeps(split, 0, 10, digits.QUICK_LR, (digits.BATCH, 0), (digits.HIDDEN,))
    assert step.data["best_lr"] in digits.QUICK_LR
    assert step.claim(f"batch size: same 10 epochs, batch {digits.BATCH} beats full batch (val-accuracy gain)"
                      ).value >= digits.BATCH_GAIN
    _check_step(step, "digits_sweeps")


def test_step_depth_comparison_alone(split):
    step = digits.depth_comparison(split, 0, 10)
    assert set(step.data["acc"]) == {label for label, *_ in digits.DEPTH_SPECS}
    assert step.claim("depth: three linear layers equal one linear layer W1·W2·W3 (max |output difference|)"
                      ).value <= digits.COLLAPSE_TOL
    _check_step(step, "digits_depth")


def test_step_symmetric_init_alone(split):
    step = digits.symmetric_init(split, 0, 10)
    assert step.data["constant"]["trained_unit_weight_spread"] <= digits.SYMMETRY_TOL
    assert [row["init"] for row in step.tables["initialisation"]] == ["He (random)", "all zeros",
                                                                       f"constant {digits.CONSTANT:g}"]
    _check_step(step, "digits_initialisation")


def test_collapse_linear_equals_the_stack():
    from backproplab.scratch.network import Network, forward

    net = Network.from_sizes([5, 4, 3, 2], ["identity", "identity", "sigmoid"], "xavier", seed=3)
    for layer in net.layers:
        layer.b[...] = np.random.default_rng(1).normal(size=layer.b.shape)
    W, b = digits.collapse_linear(net)
    x = np.random.default_rng(2).normal(size=(7, 5))
    np.testing.assert_allclose(forward(x, [(W, b, "sigmoid")]), net.predict(x), rtol=0, atol=1e-14)
    relu = Network.from_sizes([5, 4, 1], ["relu", "sigmoid"], seed=0)
    with pytest.raises(ValueError, match="identity"):
        digits.collapse_linear(relu)


def test_max_unit_difference():
    W = np.tile(np.arange(4.0)[:, None], (1, 3))
    assert digits.max_unit_difference(W) == 0.0
    W[2, 1] += 0.5
    assert digits.max_unit_difference(W) == 0.5
    assert digits.max_unit_difference(W, np.array([0.0, 0.0, 2.0])) == 2.0


def test_bad_seed_is_rejected():
    with pytest.raises(ValueError, match="seed"):
        digits.run(quick=True, seed="x")


def test_all_zero_init_stalls_because_w2_is_zero_not_because_of_relu_prime_at_zero(result):
    # With W1 = b1 = 0 and W2 = 0: the hidden outputs are relu(0) = 0, so dL/dW2 = aᵀ·δ_out = 0 and W2
    # stays 0; the delta reaching the hidden layer is (δ_out·W2ᵀ) ⊙ relu'(s) = 0 whatever relu'(0) is.
    from backproplab.scratch.network import Network

    X = np.random.default_rng(0).normal(size=(20, 64))
    y = (np.arange(20) % 3 == 0).astype(float)[:, None]  # 7 of 20 positive: Σ δ_out ≠ 0
    net = Network.from_sizes([64, digits.HIDDEN, 1], ["relu", "sigmoid"], ["zeros", "zeros"], seed=0)
    net.loss_and_gradients(X, y, loss="bce")
    hidden, out = net.layers
    assert np.abs(out.W).max() == 0 and np.abs(out.dW).max() == 0  # W2 = 0 and gets no gradient
    assert np.abs(out.db).max() > 0  # only the output bias learns: the network guesses one class
    delta_out = out.db  # db = Σ δ_out over the batch; any δ_out gives the same zero below
    assert np.abs(np.outer(delta_out, out.W[:, 0]) * 1.0).max() == 0  # relu'(0) taken as 1: still 0
    claim = result.claim("zero init: with all weights 0 the ReLU layer never moves, the network guesses "
                         "(val accuracy)")
    assert "relu'(0) = 0, so no gradient reaches it" not in claim.evidence
    assert "whatever relu'(0) is" in claim.evidence


def test_the_largest_seed_is_valid_and_its_next_seeds_wrap_to_0(monkeypatch):
    """`digits --seed 4294967295` (the CLI allows 0 <= seed < 2**32) ended 'seed must be ... < 2**32,
    got 4294967296': the lesson's five seeds are seed, seed + 1, ..."""
    seen = []

    class Stop(Exception):
        pass

    def record(seeds):
        seen.extend(seeds)
        raise Stop

    monkeypatch.setattr(digits, "five_seeds", record)
    with pytest.raises(Stop):
        digits.run(quick=True, seed=2**32 - 1)
    assert seen == [2**32 - 1, 0, 1, 2, 3]
    assert all(digits._data(s)[0].shape == (898, 64) for s in seen)


def test_the_median_claim_holds_for_a_seed_whose_median_was_0_962():
    """`digits --quick --seed 99` printed '1 of 11 claims FAIL': median of five seeds 0.96218 against 0.965,
    though every seed reached 0.96 (the course asks 0.95)."""
    step = digits.five_seeds([99, 100, 101, 102, 103])
    try:
        claim = step.claim("64-32-1 validation accuracy, median of 5 seeds")
        assert claim.value == pytest.approx(0.9622, abs=1e-4) and claim.passed
    finally:
        step.close_figures()


def test_the_lesson_writes_its_products_in_its_own_row_convention(result):
    """The lesson writes x·W with W [in, out] ("W1·W2·W3", b = (b1·W2 + b2)·W3 + b3), yet its zero-init
    claim wrote the delta reaching W1 as (W2ᵀδ)·relu'(s), the column convention of the XOR and backprop
    lessons. In the row convention it is (δ·W2ᵀ) ⊙ relu'(s), and dL/dW2 = aᵀ·δ: the engine computes
    exactly these."""
    from backproplab.scratch.network import Network

    X = np.random.default_rng(0).normal(size=(20, 64))
    y = (np.arange(20) % 3 == 0).astype(float)[:, None]
    net = Network.from_sizes([64, digits.HIDDEN, 1], ["relu", "sigmoid"], ["he", "xavier"], seed=0)
    net.loss_and_gradients(X, y, loss="bce")
    hidden, out = net.layers
    s = X @ hidden.W + hidden.b
    a = np.maximum(s, 0.0)
    delta = (1 / (1 + np.exp(-(a @ out.W + out.b))) - y) / len(X)  # sigmoid + mean BCE: (p - y) / N
    np.testing.assert_allclose(out.dW, a.T @ delta, rtol=0, atol=1e-14)  # dL/dW2 = aᵀ·δ
    np.testing.assert_allclose(hidden.dW, X.T @ ((delta @ out.W.T) * (s > 0)), rtol=0, atol=1e-14)
    claim = result.claim("zero init: with all weights 0 the ReLU layer never moves, the network guesses "
                         "(val accuracy)")
    assert "(δ·W2ᵀ) ⊙ relu'(s)" in claim.evidence and "W2ᵀδ" not in claim.evidence
    assert "aᵀ·δ" in claim.evidence and "δ·a" not in claim.evidence
    # the convention is stated once, in the lesson's help (its docstring)
    assert "x·W + b" in digits.__doc__ and "[in, out]" in digits.__doc__


def test_no_accuracy_curve_or_bar_is_cut_off_by_its_axis(result):
    """digits_depth.png fixed its floor at 0.70 and the three-linear-layer curve fell below it, cut off;
    digits_seeds.png fixed 0.85 and seed 0's dip went under it. The floors come from the data now."""
    checked = 0
    for name, fig in result.figures.items():
        for ax in fig.axes:
            if "accuracy" in ax.get_ylabel():
                for line in ax.get_lines():
                    y = np.asarray(line.get_ydata(), dtype=float)
                    if len(y) > 1:  # not the 0.95 reference line
                        assert y.min() >= ax.get_ylim()[0] and y.max() <= ax.get_ylim()[1], (name, line.get_label())
                        checked += 1
            if "accuracy" in ax.get_xlabel():
                widths = [bar.get_width() for bar in ax.patches]
                assert min(widths) > ax.get_xlim()[0], name  # every bar shows, with room for its label
                checked += 1
    assert checked >= 5 + 4 + 1


def test_accuracy_floor_leaves_a_margin_under_the_lowest_value():
    assert digits._accuracy_floor([[0.97, 0.95], [0.96]]) == pytest.approx(0.9)
    assert digits._accuracy_floor([[0.90, 0.84]]) == pytest.approx(0.8)
    assert digits._accuracy_floor([[0.72], [0.66, 0.99]]) == pytest.approx(0.6)
    assert digits._accuracy_floor([[0.01]]) == 0.0
