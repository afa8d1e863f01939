"""The gradient-descent lesson's findings: what it says about the points it finds (strict minimum,
valley, saddle, maximum, inconclusive, a kink) and about a run (diverged, bounced, stopped, spent its
steps), only what the measurement supports. The course's numbers, the grid and the CLI are in
test_gradient_descent.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backproplab.lessons import _gd_findings as words
from backproplab.lessons import _gd_partials as pt
from backproplab.lessons import _gd_stationary as st
from backproplab.lessons import gradient_descent as gd
from backproplab.lessons._gd_findings import run_findings, stationary_findings, verdict

pytestmark = pytest.mark.lessons


def test_function_of_x_alone_is_a_valley_not_a_strict_minimum():
    # f = x² − 2x is −1 on the whole line x = 1: as a function of (x, y) its Hessian [[2, 0], [0, 0]] is
    # singular, and the minimum is not strict (it used to be called strict, the Hessian cut down to x alone)
    res = gd.run(quick=True, expr="x^2 - 2*x")
    try:
        assert res.passed, [str(c) for c in res.claims if not c.passed]
        row = res.tables["minimum"][0]
        assert row["x"] == pytest.approx(1.0, abs=1e-7) and row["f"] == pytest.approx(-1.0, abs=1e-12)
        assert not row["on_boundary"] and abs(row["y"]) < 5  # an interior point of the valley
        assert row["hessian_min_eig"] == 0.0 and row["hessian_max_eig"] == pytest.approx(2.0, abs=1e-12)
        assert row["kind"] == "inconclusive: equal"
        text = res.text["gradient_descent"]
        assert "A strict minimum" not in text and "a valley of equally low points" in text
    finally:
        res.close_figures()


def test_unbounded_user_function_is_a_finding_not_a_failure():
    res = gd.run(quick=True, expr="x + y")
    try:
        assert res.tables["minimum"][0]["on_boundary"]
        assert res.passed and [c.name for c in res.claims][0].startswith("forward-mode gradient")
        assert "No stationary point found" in res.text["gradient_descent"]
    finally:
        res.close_figures()


# --- verdicts on the kind of point: only what the measurement supports --------------------------------


@pytest.fixture(scope="module")
def user_runs():
    """One quick run per expression, shared by the tests below; figures closed at the end."""
    runs: dict[str, object] = {}

    def get(expr):
        if expr not in runs:
            runs[expr] = gd.run(quick=True, expr=expr)
        return runs[expr]

    yield get
    for res in runs.values():
        res.close_figures()


# each has its strict global minimum f = 0 at (0, 0) (f > 0 elsewhere), with a singular Hessian there
# ((0, 0), (0, 2)): the second-derivative test cannot tell
@pytest.mark.parametrize("expr, eig", [("x^4 + y^4", (0.0, 0.0)), ("x^2 + y^4", (0.0, 2.0))])
def test_singular_hessian_at_a_strict_minimum_is_inconclusive_not_a_valley(user_runs, expr, eig):
    res = user_runs(expr)
    row = res.tables["minimum"][0]
    assert abs(row["x"]) < 1e-3 and abs(row["y"]) < 1e-3 and row["f"] == pytest.approx(0.0, abs=1e-9)
    assert (row["hessian_min_eig"], row["hessian_max_eig"]) == pytest.approx(eig, abs=1e-5)
    assert row["kind"] == "inconclusive: higher"  # f is higher at every ring sample, as f > 0 = f(0, 0)
    text = res.text["gradient_descent"]
    assert "a valley of equally low points" not in text and "A strict minimum" not in text
    assert ("second-derivative test is inconclusive" in text) or ("second-derivative test cannot tell" in text)
    assert "higher than at the point at every sample" in text
    point = st.classify(gd.parse_expression(expr), 0.0, 0.0)
    assert point["kind"] == "inconclusive" and not point["kink"]


def test_x_squared_is_a_valley_along_y_never_strict(user_runs):
    res = user_runs("x^2")
    row = res.tables["minimum"][0]  # f = 0 on the whole line x = 0; Hessian [[2, 0], [0, 0]]
    assert row["x"] == pytest.approx(0.0, abs=1e-7) and row["f"] == pytest.approx(0.0, abs=1e-14)
    assert (row["hessian_min_eig"], row["hessian_max_eig"]) == (0.0, pytest.approx(2.0, abs=1e-12))
    assert row["kind"] == "inconclusive: equal"
    text = res.text["gradient_descent"]
    assert "A strict minimum" not in text and "a valley of equally low points" in text
    # Newton finds the line's points too, none of them called strict
    kinds = {r["kind"] for r in res.tables["stationary_points"]}
    assert kinds == {"inconclusive: equal"}
    assert all(r["x"] == pytest.approx(0.0, abs=1e-7) for r in res.tables["stationary_points"])


# ∂f/∂x = 1/x, −1/x², sec²x: never 0, so f has no stationary point at all
@pytest.mark.parametrize("expr, dfdx", [("log(x) + y^2", lambda x: 1 / x), ("1/x + y^2", lambda x: -1 / x ** 2),
                                        ("tan(x) + y^2", lambda x: 1 / math.cos(x) ** 2)])
def test_a_non_stationary_lowest_point_is_not_classified(user_runs, expr, dfdx):
    res = user_runs(expr)
    row = res.tables["minimum"][0]
    assert row["y"] == pytest.approx(0.0, abs=1e-9)
    assert row["grad_norm"] == pytest.approx(abs(dfdx(row["x"])), rel=1e-9) and row["grad_norm"] > 1
    assert row["kind"] == "not stationary"
    assert res.tables["stationary_points"] == []
    text = res.text["gradient_descent"]
    assert "saddle" not in text and "**Not a stationary point**: |∇f| = " in text
    assert "**No stationary point found** by Newton's method on ∇f = 0 from a 21 × 21 grid" in text


def test_the_saddle_of_x2_minus_y2_is_found(user_runs):
    res = user_runs("x^2 - y^2")
    (row,) = res.tables["stationary_points"]  # ∇f = (2x, −2y) = 0 only at (0, 0); Hessian diag(2, −2)
    assert (row["x"], row["y"], row["f"]) == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)
    assert (row["hessian_min_eig"], row["hessian_max_eig"]) == pytest.approx((-2.0, 2.0), abs=1e-12)
    assert row["kind"] == "saddle"
    text = res.text["gradient_descent"]
    assert "1 saddle point: (0, 0) f = 0" in text and "No stationary point found" not in text
    assert "**No minimum inside** the box" in text  # f = −y² falls past the edge y = ±5


@pytest.mark.parametrize("expr, point, kind, ring", [
    ("-(x^2 + y^2)", (0.0, 0.0), "strict maximum", None),  # Hessian −2I
    ("x^3 - 3*x*y^2", (0.0, 0.0), "inconclusive", "mixed"),  # monkey saddle: Hessian 0, f(±r, 0) = ±r³
    ("-(x^4 + y^4)", (0.0, 0.0), "inconclusive", "lower"),  # f < 0 = f(0, 0) everywhere else
    ("(x - 2*y)^2", (2.0, 1.0), "inconclusive", "equal"),  # 0 on the line x = 2y, off every ring angle
    ("sqrt(x^2 + y^2)", (0.0, 0.0), "not differentiable", "higher"),  # a cone's tip: slopes −1 and 1
])
def test_classify_against_closed_forms(expr, point, kind, ring):
    result_ = st.classify(gd.parse_expression(expr), *point)
    assert result_["kind"] == kind
    assert (result_.get("ring") or {}).get("verdict") == ring
    words = verdict(result_)
    assert ("A strict" in words) == (kind.startswith("strict"))


def test_newton_finds_maxima_and_saddles_of_cos_x_plus_cos_y():
    # ∇f = (−sin x, −sin y) = 0 at (kπ, mπ): maxima where k, m both even, minima both odd, else saddles
    found = st.find_stationary_points(gd.parse_expression("cos(x) + cos(y)"), st.BOX, grid=21)
    kinds = {(round(p["x"] / math.pi), round(p["y"] / math.pi)): p["kind"] for p in found["points"]}
    assert set(kinds) == {(k, m) for k in (-1, 0, 1) for m in (-1, 0, 1)}
    for (k, m), kind in kinds.items():
        assert kind == {0: "strict maximum", 2: "strict minimum"}.get(abs(k) % 2 + abs(m) % 2, "saddle")
    text = stationary_findings(found)
    assert "1 strict maximum: (0, 0) f = 2" in text[0] and "4 saddle points" in text[0]


def test_divergence_message_states_the_rule():
    f = gd.parse_expression("x^4 + y^4")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p)) if np.isfinite(p).all() else math.nan}
            for t, p in enumerate(gd.gradient_descent(f, (3.0, 2.0), 0.1, 1.0, 10))]
    # by hand: x: 3 → 3 − 0.1·4·27 = −7.8 → −7.8 + 0.1·4·474.552 = 182.0208 → … past 1e12 at step 4
    assert rows[1]["x"] == pytest.approx(-7.8, abs=1e-12)
    (text,) = run_findings(f, rows, 0.1, 1.0)
    assert "diverged at step 4" in text and "once |x| or |y| exceeds 1e12" in text
    assert "floating-point range" not in text
    g = gd.parse_expression("log(x) + y^2")  # x: 0.05 → 0.05 − 1/0.05 = −19.95, where log is not finite
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(g(*p))}
            for t, p in enumerate(gd.gradient_descent(g, (0.05, 0.0), 1.0, 1.0, 1))]
    (text,) = run_findings(g, rows, 1.0, 1.0)
    assert "diverged at step 1" in text and "jumped to (-19.95, 0), where f is not finite" in text
    # sqrt(x) at x = 0: an infinite gradient, so no step size helps ("try --eta 1e-10" was the advice)
    h = gd.parse_expression("sqrt(x) + y^2")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(h(*p)) if np.isfinite(p).all() else math.nan}
            for t, p in enumerate(gd.gradient_descent(h, (0.0, 0.0), 1e-9, 1.0, 1))]
    (text,) = run_findings(h, rows, 1e-9, 1.0)
    assert "∇f = (inf, 0) at (0, 0) is not finite, so no step size can take a step" in text and "--eta" not in text


def test_a_run_whose_decayed_steps_are_spent_is_not_told_more_steps_help():
    # eta_t = 0.1·0.5^t: every step still to come after step n sums to 0.1·0.5^n/(1 − 0.5) = 0.2·0.5^n,
    # so 1000 steps end (almost) where 10 do, far from any stationary point (|∇f| ≈ 8.3).
    f = gd.parse_expression("x^2 + y^2 + x*(y + 2) + cos(3*x)")
    ends = {}
    for steps in (10, 1000):
        rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
                for t, p in enumerate(gd.gradient_descent(f, (3.0, 2.0), 0.1, 0.5, steps))]
        ends[steps] = rows[-1]
        (text,) = run_findings(f, rows, 0.1, 0.5)
        assert "More steps (`--steps`) or a larger step size would go further" not in text, text
        assert f"0.1·0.5^{steps}/(1 − 0.5) = {0.2 * 0.5 ** steps:.3g}" in text, text
        assert "a larger `--eta` or a `--decay` closer to 1" in text, text
    assert abs(ends[1000]["x"] - ends[10]["x"]) < 2e-3 and ends[1000]["f"] > 5.6  # more steps did not help
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, (3.0, 2.0), 0.1, 1.0, 10))]
    (text,) = run_findings(f, rows, 0.1, 1.0)  # a constant step: more steps do go further
    assert "More steps (`--steps`) or a larger step size would go further" in text


@pytest.mark.parametrize("expr, start, words", [
    # ∇(x² − y²) = (2x, −2y) = 0 at the start, so every step is 0: the run stays on a saddle
    ("x^2 - y^2", (0.0, 0.0), ["a saddle point, not a minimum", "eigenvalues (-2, 2)", "started exactly"]),
    # ∇(−x² − y²) = 0 at the start: gradient descent sits on a maximum
    ("-x^2 - y^2", (0.0, 0.0), ["a strict maximum, not a minimum", "eigenvalues (-2, -2)", "started exactly"]),
])
def test_a_run_that_stops_on_a_saddle_or_maximum_is_not_left_to_look_like_a_minimum(expr, start, words):
    f = gd.parse_expression(expr)
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, start, 0.1, 1.0, 10))]
    assert rows[-1]["x"] == 0.0 and rows[-1]["y"] == 0.0
    (text,) = run_findings(f, rows, 0.1, 1.0)
    assert text.startswith("Your run reached a stationary point")
    for word in words:
        assert word in text, text
    f = gd.parse_expression("x^2 + y^2")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, (0.0, 0.0), 0.1, 1.0, 10))]
    (text,) = run_findings(f, rows, 0.1, 1.0)
    assert "not a minimum" not in text and "a strict minimum" in text


def test_a_decayed_schedule_with_steps_left_to_spend_keeps_the_more_steps_advice():
    # f = x + y: ∇f = (1, 1) everywhere. η₀ = 1, d = 0.8, 10 steps: the steps to come sum to
    # 0.8^10/0.2 = 0.537, about 0.76 more at |∇f| = √2, against √2·(1 − 0.8^10)/0.2 = 6.31 travelled (12%).
    f = gd.parse_expression("x + y")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, (0.0, 0.0), 1.0, 0.8, 10))]
    assert rows[-1]["x"] == pytest.approx(-(1 - 0.8 ** 10) / 0.2, abs=1e-12)
    (text,) = run_findings(f, rows, 1.0, 0.8)
    assert "More steps (`--steps`) or a larger step size would go further" in text, text


def _rows(expr: str, start: tuple[float, float], eta: float, steps: int = 10) -> list[dict]:
    f = gd.parse_expression(expr)
    return [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, start, eta, 1.0, steps))]


def test_a_run_that_bounces_across_the_valley_is_not_told_a_larger_step_helps():
    """x² + y² at η = 1 jumps (3, 2) → (−3, −2) → (3, 2) with f = 13 throughout; the finding said
    'More steps (--steps) or a larger step size would go further', and a larger step diverges."""
    rows = _rows("x^2 + y^2", (3.0, 2.0), 1.0)
    assert [(r["x"], r["y"], r["f"]) for r in rows[:3]] == [(3, 2, 13), (-3, -2, 13), (3, 2, 13)]
    (text,) = run_findings(gd.parse_expression("x^2 + y^2"), rows, 1.0, 1.0)
    assert "larger step size would go further" not in text, text
    assert "f did not go down at 10 of its 10 steps (the first at step 1: f = 13 → 13)" in text, text
    assert "A smaller `--eta`, or a `--decay` below 1, lets it settle" in text


def test_a_zig_zag_that_still_goes_down_is_told_more_steps_not_a_larger_step():
    # x² + y² at η = 0.9: p_t = (1 − 2·0.9)^t·p_0 = (−0.8)^t·(3, 2): f falls by 0.64 a step, the sign flips
    rows = _rows("x^2 + y^2", (3.0, 2.0), 0.9)
    assert rows[-1]["x"] == pytest.approx(3 * 0.8 ** 10, rel=1e-12)
    (text,) = run_findings(gd.parse_expression("x^2 + y^2"), rows, 0.9, 1.0)
    assert "More steps (`--steps`) would go further, but not a larger step: 9 of its 10 steps went back" in text
    # η = 0.4: p_t = 0.2^t·p_0, never reversing: a larger step does go further (0.5 lands on 0)
    (text,) = run_findings(gd.parse_expression("x^2 + y^2"), _rows("x^2 + y^2", (3.0, 2.0), 0.4, 3), 0.4, 1.0)
    assert "More steps (`--steps`) or a larger step size would go further" in text, text


def test_a_run_that_leaves_the_domain_of_log_is_never_the_good_one(user_runs):
    """log(x) + y²: the constant step 10^-0.25 = 0.562 jumps from x = 0.27 to x = −4.73 at step 10, where
    log is nan, and its gradient 1/x is finite there, so the run went on; np.argmin took the nan for the
    lowest end and drew it as "good (η₀ = 0.562)". 10^-0.5 = 0.316 leaves too (x = 0.318 → −0.677 at
    step 16, back to x > 0 by step 20): the good one is 10^-0.75 = 0.178, x = 3 → 1.42 in 20 steps."""
    f = gd.parse_expression("log(x) + y^2")
    x = 3.0
    for _ in range(10):
        x -= 10 ** -0.25 / x  # ∂f/∂x = 1/x
    assert x == pytest.approx(-4.72925, abs=1e-5)
    runs = gd._three_paths(f, (3.0, 2.0), None, False)
    assert list(runs) == ["too small (η₀ = 0.0178)", "good (η₀ = 0.178)", "too large (η₀ = 0.316)"]
    good, large = runs["good (η₀ = 0.178)"][0], runs["too large (η₀ = 0.316)"][0]
    assert good[-1] == pytest.approx([1.420195, 3.04360e-04], abs=1e-6) and f(*good[-1]) == pytest.approx(0.350795, abs=1e-6)
    assert large[15, 0] == pytest.approx(0.31798, abs=1e-5) and np.isnan(large[16:]).all()  # drawn up to step 15
    res = user_runs("log(x) + y^2")
    for line in res.figures["gd_contour_paths"].axes[0].get_lines():
        if line.get_label().startswith(("too", "good")):  # every point drawn is one where f is defined
            xs, ys = line.get_xdata(), line.get_ydata()
            assert np.isfinite(f(xs[np.isfinite(xs)], ys[np.isfinite(ys)])).all()
    text = res.text["gradient_descent"]
    assert ('**The run "too large (η₀ = 0.316)" in the pictures left f\'s domain at step 16**: it jumped to '
            "(-0.676528, 2.21814e-07), where f is not finite (f = nan). Its path is drawn up to step 15; that step "
            "size leaves the function's domain") in text


# f(h, 0) − f(0, 0) over h, on the right and on the left of (0, 0): the slopes on either side differ, so ∇f
# does not exist there; autodiff reports (0, 0), a convention (|x|' = sign(x), 0 at 0), not a slope
@pytest.mark.parametrize("expr, right, left", [("sqrt(x^2+y^2)", 1.0, -1.0), ("abs(x) + abs(y)", 1.0, -1.0),
                                               ("sqrt(abs(x)) + y^2", 1e3, -1e3)])  # √|x|: ±1/√h at h = 1e-6
def test_a_cone_tip_or_a_kink_is_not_a_stationary_point(user_runs, expr, right, left):
    f, h = gd.parse_expression(expr), 1e-6
    assert ((f(h, 0.0) - f(0.0, 0.0)) / h, (f(0.0, 0.0) - f(-h, 0.0)) / h) == pytest.approx((right, left))
    assert [float(v) for v in f.value_and_grad(0.0, 0.0)] == [0.0, 0.0, 0.0]
    point = st.classify(f, 0.0, 0.0)
    assert (point["kind"], point["kink"], point["ring"]["verdict"]) == ("not differentiable", True, "higher")
    res = user_runs(expr)
    assert res.tables["minimum"][0]["kind"] == "not differentiable: higher" and res.tables["stationary_points"] == []
    text = res.text["gradient_descent"]
    assert "f = 0 at (0, 0), a point where f is not differentiable (∇f undefined there)." in text
    assert ("**No stationary point found** by Newton's method on ∇f = 0 from a 21 × 21 grid of starts in the box "
            "[-5, 5] × [-5, 5]. It stopped at 1 point where f is not differentiable (∇f undefined there; "
            "autodiff's 0 is a convention, not a slope): (0, 0) f = 0.") in text
    assert "(0, 0), |∇f| = 0" not in text and "inconclusive" not in text
    # a smooth bowl's slopes agree: its minimum stays a stationary point
    assert st.classify(gd.parse_expression("x^2 + y^2"), 0.0, 0.0)["kind"] == "strict minimum"


def test_a_run_that_stops_on_a_kink_is_not_told_it_reached_a_stationary_point():
    # |x| + |y| at η = 0.5 from (3, 2): x falls by 0.5 a step to 0 at step 6, y to 0 at step 4, where
    # autodiff's sign(0) = 0 makes every later step 0
    rows = _rows("abs(x) + abs(y)", (3.0, 2.0), 0.5)
    assert [(r["x"], r["y"]) for r in rows[4:7]] == [(1.0, 0.0), (0.5, 0.0), (0.0, 0.0)]
    (text,) = run_findings(gd.parse_expression("abs(x) + abs(y)"), rows, 0.5, 1.0)
    assert text.startswith("Your run stopped at (0, 0), f = 0, a point where f is not differentiable (∇f undefined "
                           "there): autodiff reports ∇f = 0 there by convention, so every step is 0."), text
    assert "stationary" not in text and "f is higher than at the point at every sample" in text


def test_a_bounce_across_a_kink_is_told_to_shrink_the_step_not_to_take_more_steps():
    """|x| + |y| at η = 0.3 from (3, 2): x falls by 0.3 a step to 3e-16, y by 0.3 to 0.2 at step 6 and
    then bounces 0.2 → −0.1 → 0.2 (|y|'s slope is ±1 however near 0). The finding said "More steps
    (--steps) or a larger step size would go further": the dot product of the whole moves,
    (−0.3, 0.3)·(−0.3, −0.3) = 0, never saw y reverse, and 1000 steps end where 10 do."""
    f = gd.parse_expression("abs(x) + abs(y)")
    rows = _rows("abs(x) + abs(y)", (3.0, 2.0), 0.3)
    assert [r["y"] for r in rows[6:]] == pytest.approx([0.2, -0.1, 0.2, -0.1, 0.2], abs=1e-15)
    assert rows[-1]["x"] == pytest.approx(0.0, abs=1e-15)
    long = _rows("abs(x) + abs(y)", (3.0, 2.0), 0.3, 1000)
    assert (long[-1]["x"], long[-1]["y"]) == (rows[-1]["x"], rows[-1]["y"])
    assert words._reversals(rows) == 3  # steps 8, 9 and 10 flip the sign of y's move
    (text,) = run_findings(f, rows, 0.3, 1.0)
    assert "would go further" not in text, text
    assert ("But y bounces between -0.1 and 0.2 (3 of its 10 steps went back against the step before): each step "
            "jumps 0.3 across the bottom and the next jumps back, so more steps (`--steps`) repeat the bounce") in text
    assert "A smaller `--eta` makes the bounce smaller; a `--decay` below 1 shrinks it step by step" in text
    (text,) = run_findings(f, long, 0.3, 1.0)  # once x bounces too, f rises at some steps: the same advice
    assert "would go further" not in text and "A smaller `--eta`, or a `--decay` below 1, lets it settle" in text


def test_a_maximum_reads_are_all_negative_and_zero_prints_as_0():
    """−x² − y² from (0, 0): f(0, 0) = −0.0 was printed "f = -0", and the Hessian's eigenvalues
    "(-2, -2) have all negative"."""
    f = gd.parse_expression("-x^2 - y^2")
    rows = _rows("-x^2 - y^2", (0.0, 0.0), 0.1)
    assert rows[-1]["f"] == 0.0 and math.copysign(1.0, rows[-1]["f"]) == -1.0  # a negative zero
    (text,) = run_findings(f, rows, 0.1, 1.0)
    assert text.startswith("Your run reached a stationary point: (0, 0), f = 0, |∇f| = 0. But it is a strict "
                           "maximum, not a minimum: the Hessian's eigenvalues (-2, -2) are all negative."), text
    summary = words.summary(f, (0.0, 0.0), 0.1, 1.0, 10, rows, [text])
    assert "-> (0, 0), f = 0\n" in summary and "= -0" not in summary
    table = words.path_markdown([{**r, "eta_t": None} for r in rows])
    assert table.endswith("| 10 |  | 0.000000 | 0.000000 | 0.000000 |\n") and "-0.0" not in table
    (saddle,) = run_findings(gd.parse_expression("x^2 - y^2"), _rows("x^2 - y^2", (0.0, 0.0), 0.1), 0.1, 1.0)
    assert "the Hessian's eigenvalues (-2, 2) have both signs." in saddle


# --- a partial derivative that does not exist: a line of cusps or kinks, the edge of f's domain ------------


def test_a_run_on_the_cusp_line_of_sqrt_abs_x_is_given_no_gradient_norm():
    """√|x| + y² from (0, 1) at η = 0.1: ∂f/∂x does not exist anywhere on x = 0 (f(h, y) − f(0, y) = √|h|,
    slopes ∓1/√h on either side), but autodiff's chain rule gives sign(0)·∞ = 0 there, so x stays 0 and
    y_t = 0.8^t·1 ends at 0.107374. The finding said "with |∇f| = 0.215" (|∂f/∂y| alone), a gradient f
    does not have there."""
    f = gd.parse_expression("sqrt(abs(x)) + y^2")
    rows = _rows("sqrt(abs(x)) + y^2", (0.0, 1.0), 0.1)
    assert all(r["x"] == 0.0 for r in rows) and rows[-1]["y"] == pytest.approx(0.8 ** 10, rel=1e-12)
    assert [float(v) for v in f.value_and_grad(0.0, rows[-1]["y"])][1:] == pytest.approx([0.0, 2 * 0.8 ** 10])
    h = 1e-5
    assert (f(h, 0.5) - f(0.0, 0.5)) / h == pytest.approx(h ** -0.5) == pytest.approx(316.228, abs=1e-3)
    parts = pt.partials(f, 0.0, rows[-1]["y"])
    assert (parts["x"]["status"], parts["x"]["cusp"], parts["y"]["status"]) == ("undefined", True, "defined")
    assert parts["x"]["left"] == pytest.approx(-(h ** -0.5)) and parts["x"]["right"] == pytest.approx(h ** -0.5)
    assert pt.on_line(f, 0.0, rows[-1]["y"], "x") and not pt.on_line(gd.parse_expression("abs(x - y)"), 1.0, 1.0, "x")
    (text,) = run_findings(f, rows, 0.1, 1.0)
    assert text.startswith("Your run ended at (0, 0.107374), f = 0.0115292, where f has no gradient, so there is "
                           "no |∇f| to report. ∂f/∂x is undefined there, as at every point checked on the line x = 0 "
                           "near it (y ± 0.01, ± 0.1): f's one-sided slopes along x are -316 from the left and 316 "
                           "from the right at h = 1e-5, steeper as h shrinks (a cusp). The lab's autodiff gives "
                           "∂f/∂x = 0 there, a convention"), text
    assert "not a slope of f, so no step moves x: x = 0 since step 0. f rises on both sides along x" in text
    assert "Along y, ∂f/∂y = 0.215: not yet at the bottom along y after 10 steps. More steps" in text
    assert "|∇f| = " not in text and "stationary" not in text
    res = gd.run(quick=True, expr="sqrt(abs(x)) + y^2", start=(0.0, 1.0))  # the CLI's words, end to end
    try:
        summary = res.text["print_summary"]
        assert "- Your run ended at (0, 0.107374), f = 0.0115292, where f has no gradient" in summary
        assert "with |∇f| = 0.215" not in summary
    finally:
        res.close_figures()


@pytest.mark.parametrize("expr, slopes, what", [
    ("abs(x) + y^2", "-1 from the left and 1 from the right at h = 1e-5 (a kink)",
     "f rises on both sides along x, so along x the run already sits at the bottom."),
    # a ridge along x = 0: the convention's 0 keeps the run on it, though f falls either way
    ("-abs(x) + y^2", "1 from the left and -1 from the right at h = 1e-5 (a kink)",
     "f falls on both sides along x (a ridge): the run stays on it, where a start nudged off x = 0 would go downhill."),
])
def test_a_run_on_a_line_of_kinks_names_the_partial_and_what_f_does_there(expr, slopes, what):
    (text,) = run_findings(gd.parse_expression(expr), _rows(expr, (0.0, 1.0), 0.1), 0.1, 1.0)
    assert f"∂f/∂x is undefined there, as at every point checked on the line x = 0 near it (y ± 0.01, ± 0.1): " \
           f"f's one-sided slopes along x are {slopes}." in text, text
    assert what in text and "|∇f| = " not in text


def test_a_smooth_run_still_reports_its_gradient_norm():
    rows = _rows("x^2 + y^2", (0.0, 1.0), 0.1)
    assert pt.undefined_partials(gd.parse_expression("x^2 + y^2"), rows) is None
    (text,) = run_findings(gd.parse_expression("x^2 + y^2"), rows, 0.1, 1.0)
    assert text.startswith("Your run ended at (0, 0.107374), f = 0.0115292 with |∇f| = 0.215: not yet a stationary")
    # 1e12 + x² + y²: f(p ± h) − f(p) is a few ulps of 1e12 (1.2e-4 each), so the one-sided slopes at h = 1e-5
    # are rounding noise (0 or ±12): not a kink
    f = gd.parse_expression("1e12 + x^2 + y^2")
    assert {p["status"] for p in pt.partials(f, 0.3, 0.2).values()} == {"defined"}
    assert pt.undefined_partials(f, _rows("1e12 + x^2 + y^2", (3.0, 2.0), 0.1)) is None


def test_a_run_that_lands_on_the_edge_of_sqrt_x_is_told_it_reached_the_domain_edge():
    """√x + y² from (0.25, 1) at η = 0.25: x₁ = 0.25 − 0.25·1/(2·√0.25) = 0, y₁ = 1 − 0.25·2 = 0.5, where
    ∂f/∂x = 1/(2√0) = inf. It was told to "start where f is differentiable" though it started inside;
    the lowest point (0, 0) was "where the gradient is undefined (a kink or a cusp)" and "Hessian
    undefined", though √x has neither a kink nor a cusp there: its domain x ≥ 0 ends there."""
    f = gd.parse_expression("sqrt(x) + y^2")
    rows = _rows("sqrt(x) + y^2", (0.25, 1.0), 0.25)
    assert (rows[1]["x"], rows[1]["y"]) == (0.0, 0.5) and math.isnan(rows[2]["x"])
    (text,) = run_findings(f, rows, 0.25, 1.0)
    assert text == ("**Your run reached the edge of f's domain at step 1** and stopped at step 2: ∇f = (inf, 1) at "
                    "(0, 0.5) is not finite, so no step size can take a step from there. There, with y held at 0.5, f "
                    "is finite for x ≥ 0 but not below it (at x − h for h = 1e-4, 1e-6 and 1e-9): autodiff's ∇f is at "
                    "most a slope from inside the domain, not a gradient."), text
    (text,) = run_findings(f, _rows("sqrt(x) + y^2", (0.0, 1.0), 0.1), 0.1, 1.0)
    assert text.startswith("**Your run started on the edge of f's domain** and stopped at step 1") and \
        text.endswith("Start inside the domain (`--start`).")
    point = st.classify(f, 0.0, 0.0)
    assert (point["kind"], point["ring"]["verdict"], point["ring"]["inside"]) == ("domain edge", "undefined", "higher")
    assert point["partials"]["x"]["inside"] == "+" and point["partials"]["y"]["status"] == "defined"
    assert st.classify(gd.parse_expression("sqrt(1 - x)"), 1.0, 0.0)["partials"]["x"]["inside"] == "-"
    assert st.classify(f, 1e-3, 0.0)["kind"] == "not stationary"  # inside the domain: an ordinary point
    found = {"grid": 21, "points": [], "kinks": [], "edges": [point], "more": False, "limit": 64}  # as Newton's
    assert stationary_findings(found)[0].endswith(
        ". It stopped at 1 point on the edge of f's domain (∇f there is a slope from one side only): (0, 0) f = 0.")
    res = gd.run(quick=True, expr="sqrt(x) + y^2")
    try:
        assert res.tables["minimum"][0]["kind"] == "domain edge: undefined"
        text = res.text["gradient_descent"]
        assert "Lowest point found in the box [-5, 5] × [-5, 5]: f = 0 at (0, 0), on the edge of f's domain." in text
        assert ("**On the edge of f's domain** at (0, 0): with y held at 0, f is finite for x ≥ 0 but not below it "
                "(at x − h for h = 1e-4, 1e-6 and 1e-9).") in text
        assert "lie outside f's domain (f not finite there); at the other" in text
        assert "f is higher than at the point, as at a minimum on the edge of the domain." in text
        assert "Hessian undefined" not in text and "a kink or a cusp" not in text
    finally:
        res.close_figures()


def test_a_run_along_the_edge_of_x_to_the_1_5_names_the_edge_not_a_gradient():
    """x^1.5 + y² from (0, 1): ∂f/∂x = 1.5·√0 = 0 on x = 0, where f(x, y) is not finite for x < 0 (NumPy's
    power), so x stays 0 while y descends; at η = 0.5, y reaches 0 in one step and the run rests at (0, 0)."""
    f = gd.parse_expression("x^1.5 + y^2")
    (text,) = run_findings(f, _rows("x^1.5 + y^2", (0.0, 1.0), 0.1), 0.1, 1.0)
    assert ("where f has no gradient, so there is no |∇f| to report. It lies on the edge of f's domain: with y held at "
            "0.107374, f is finite for x ≥ 0 but not below it") in text, text
    assert "from inside, f's slope along x is 0.00316 at h = 1e-5" in text and "|∇f| = " not in text
    assert "∂f/∂x = 0 there, its formula's value at the edge (at most the slope from inside), so no step moves x" in text
    (text,) = run_findings(f, _rows("x^1.5 + y^2", (0.0, 1.0), 0.5), 0.5, 1.0)
    assert text.startswith("Your run stopped at (0, 0), f = 0, on the edge of f's domain: with y held at 0"), text
    assert "stationary point" not in text and "as at a minimum on the edge of the domain" in text


# --- "∇f is zero here" is measured against f's own steepness, not against |f| --------------------------


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (1.0, 1e6), (1e-8, 0.0), (1e8, 0.0), (1e-8, 1e6)])
@pytest.mark.parametrize("eta, steps, stationary", [(0.1, 10, False), (0.4, 60, True)])
def test_scaling_or_shifting_f_keeps_the_runs_verdict(scale, offset, eta, steps, stationary):
    """a·(x² + y²) + c with step η/a takes the steps of x² + y² with step η, ending where it does; so is
    the verdict. |∇f| ≤ 1e-6·max(1, |f|) called 1e6 + x² + y² at |∇f| = 0.77 and 1e-8·(x² + y²) at its
    start (3, 2) stationary points, and 1e8·(x² + y²) 6e-10 from its minimum not yet one."""
    f = gd.parse_expression(f"{scale!r}*(x^2 + y^2) + {offset!r}")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, (3.0, 2.0), eta / scale, 1.0, steps))]
    (text,) = run_findings(f, rows, eta / scale, 1.0)
    assert text.startswith("Your run reached a stationary point") == stationary, text
    if not stationary:
        assert "not yet a stationary point after 10 steps" in text, text


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_a_strict_minimum_is_strict_whatever_the_scale_of_f(scale):
    """1e-8·(x² + y²) at (0, 0): eigenvalues (2e-8, 2e-8), a strict minimum; "singular" was decided
    against max(1, max |λ|), which no eigenvalue of so flat a bowl can pass. x⁴ + y⁴, whose Hessian is
    zero at (0, 0), stays inconclusive."""
    point = st.classify(gd.parse_expression(f"{scale!r}*(x^2 + y^2)"), 0.0, 0.0)
    assert point["kind"] == "strict minimum"
    assert st.classify(gd.parse_expression(f"{scale!r}*(x^4 + y^4)"), 0.0, 0.0)["kind"] == "inconclusive"


def test_a_corner_of_the_box_where_f_still_falls_is_not_taken_for_a_stationary_point():
    """exp(−(x² + y²)) is lowest at the box's corners, where |∇f| = 2.7e-21 is tiny only because f is: it
    falls outward there, and the lesson said "Lowest point found … |∇f| = 2.7e-21", Hessian "singular"."""
    res = gd.run(quick=True, expr="exp(-(x^2 + y^2))")
    try:
        text = res.text["print_summary"]
        assert "No minimum inside the box" in text and "where f still falls outward" in text, text
        assert "Hessian singular" not in text and "Lowest point found" not in text
    finally:
        res.close_figures()


def test_the_yardstick_is_f_s_own_steepness_near_the_point_along_each_axis():
    f = gd.parse_expression("x^2 + y^2")
    # ∂f/∂x = 2x at x = ±0.1, ±0.01 (0.2, 0.2, 0.02, 0.02) and 0 at y = ±0.1, ±0.01: the median is 0.01
    yx, yy = pt.yardstick(f, 0.0, 0.0)
    assert float(yx) == pytest.approx(0.01) and float(yy) == pytest.approx(0.01)
    assert float(pt.yardstick(gd.parse_expression("1e6 + 1e-3*(x^2 + y^2)"), 0.0, 0.0)[0]) == pytest.approx(1e-5)
    yx, yy = pt.yardstick(gd.parse_expression("x^2 + 1e6*y^2"), 0.05, 0.0)  # each partial its own size
    assert float(yx) == pytest.approx(0.1) and float(yy) == pytest.approx(1e4)
    # ∂(xy)/∂x = y is 0 all along y = 0: the samples across the axis give it its size
    assert float(pt.yardstick(gd.parse_expression("x*y"), 0.0, 0.0)[0]) == pytest.approx(0.005)
    assert float(pt.yardstick(gd.parse_expression("5 + 0*x"), 1.0, 1.0)[0]) == 0.0  # flat: only 0 is at rest
    assert float(pt.yardstick(gd.parse_expression("sqrt(x - 10)"), 0.0, 0.0)[0]) == 1.0  # no gradient near
    small = gd.parse_expression("1e-9*sqrt(0.001 - x^2 - y^2)")  # a domain narrower than 0.1: r = 1e-3
    assert 0 < float(pt.yardstick(small, 0.02, 0.0)[0]) < 1e-8
    assert pt.yardstick(f, np.zeros((3, 2)), np.ones((3, 2)))[1].shape == (3, 2)


def test_the_saddles_of_sin_x_cos_y_are_found():
    """∂f/∂x = cos x cos y is 0 all along y = 3π/2: measured along x alone, its size there was 0, and the
    12 saddles Newton finds in the box were dropped as not stationary."""
    found = st.find_stationary_points(gd.parse_expression("sin(x)*cos(y)"), st.BOX, 21)
    kinds = [p["kind"] for p in found["points"]]
    assert kinds.count("saddle") == 12 and kinds.count("strict minimum") == 6 and kinds.count("strict maximum") == 6


@pytest.mark.parametrize("expr, start, eta, steps", [
    ("x^2 + (y - 1e11)^2", (1000.0, 1e11), 1e-4, 10),  # a huge y made the ring huge in x: "stationary" at x = 998
    ("x^2 + 1e6*y^2", (0.05, 0.0), 1e-3, 100),  # steep in y, shallow in x: |∇f| = 0.082 at x = 0.04 was "at rest"
    ("x^2 + 1e8*y^2", (3.0, 0.0), 1e-12, 1),  # |∇f| = 6
])
def test_a_slope_along_one_axis_is_not_measured_against_the_other_or_far_away(expr, start, eta, steps):
    f = gd.parse_expression(expr)
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, start, eta, 1.0, steps))]
    (text,) = run_findings(f, rows, eta, 1.0)
    assert "not yet a stationary point" in text, text


def test_a_cusp_across_the_point_does_not_hide_the_other_partial():
    """1e6·√|x| + y² from (0, 0.3): ∂f/∂y = 0.307 where the run ended, y still falling; the ring's median
    steepness (1e6 beside the cusp) had it read as "∇f = 0 there by convention, so every step is 0"."""
    f = gd.parse_expression("1e6*sqrt(abs(x)) + y^2")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, (0.0, 0.3), 0.1, 1.0, 3))]
    (text,) = run_findings(f, rows, 0.1, 1.0)
    assert "every step is 0" not in text and "not yet at the bottom along y" in text, text


def test_a_wall_beside_the_point_does_not_make_its_slope_zero():
    """A ramp of slope 1000 from x = 0.03: half of a ring of radius 0.1 around (1e-4, 0) lay on it."""
    f = gd.parse_expression("x^2 + y^2 + 1000*(abs(x - 0.03) + (x - 0.03))/2")
    assert st.classify(f, 1e-4, 0.0)["kind"] == "not stationary"
    assert st.classify(f, 0.0, 0.0)["kind"] == "strict minimum"


def test_a_sweep_that_starts_at_the_lowest_point_found_is_not_said_to_miss_the_way_down():
    """Himmelblau's function is 0 at (3, 2), the lesson's default start: the sweep said "0 of 240 settings
    reach 90% of the way down to the lowest point found", of a way down that is zero long."""
    res = gd.run(quick=True, expr="(x^2+y-11)^2 + (x+y^2-7)^2")
    try:
        text = res.text["print_summary"]
        assert "The sweep's start is already at the lowest point found in the box (f = 0)" in text, text
        assert "reach 90% of the way down" not in text and "Fewest steps" not in text
    finally:
        res.close_figures()
    rows = [{"eta0": 0.5, "decay": 1.0, "steps": 10, "f": -210.0, "reached": True}]
    lines = words.grid_findings(rows, rows, rows[0], {"f": -10.0}, "90% of the way down", start_f=-200.0)
    assert lines[0].startswith("The sweep's start is already below (f = -200) the lowest point found in the box")
    assert not any(line.startswith("Fewest steps") for line in lines)
