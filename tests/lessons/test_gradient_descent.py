"""The gradient-descent lesson: the course's numbers, the schedule, the grid, user functions, the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.errors import InputError
from backproplab.lessons import _gd_findings as words
from backproplab.lessons import _gd_stationary as st
from backproplab.lessons import gradient_descent as gd
from backproplab.lessons._gd_findings import run_findings, stationary_findings, verdict

pytestmark = pytest.mark.lessons


@pytest.fixture(scope="module")
def result(quick_runs):
    return quick_runs.get(gd, quick=True)  # one run per session (tests/conftest.py)


def course_f(x, y):
    return x * x + y * y + x * (y + 2) + math.cos(3 * x)


def test_course_ten_steps_value(result):
    claim = result.claim("10 steps of size 0.1 from (3, 2) reach f = 1.29676")
    assert claim.passed  # within the lesson's bound; the value itself is checked below, independently
    # by hand, with the closed-form gradient
    x, y = 3.0, 2.0
    for _ in range(10):
        gx, gy = 2 * x + y + 2 - 3 * math.sin(3 * x), 2 * y + x
        x, y = x - 0.1 * gx, y - 0.1 * gy
    assert course_f(x, y) == pytest.approx(claim.value, abs=1e-12)
    assert result.tables["course_path"][-1]["f"] == pytest.approx(1.2967615849902, abs=1e-10)  # CONTRACTS: 1.2967616


def test_global_minimum(result):
    # CONTRACTS.md C 1.1b-f: -2.2807097 at (-1.088162, 0.544081), to the digits it gives (the lesson's
    # claims hold the course's shorter -2.2807 at (-1.088, 0.544))
    assert result.claim("global minimum value f*").value == pytest.approx(-2.2807097, abs=1e-7)
    assert result.claim("global minimiser x*").value == pytest.approx(-1.088162, abs=1e-6)
    assert result.claim("global minimiser y*").value == pytest.approx(0.544081, abs=1e-6)
    row = result.tables["minimum"][0]
    # stationary: the closed-form gradient vanishes there, and y* = -x*/2 from df/dy = 0
    gx, gy = gd.course_gradient(row["x"], row["y"])
    assert abs(gx) < 1e-7 and abs(gy) < 1e-7
    assert row["y"] == pytest.approx(-row["x"] / 2, abs=1e-8)
    assert row["hessian_min_eig"] > 0
    # lower than a brute-force grid over the box
    xs = np.linspace(-5, 5, 801)
    X, Y = np.meshgrid(xs, xs)
    assert row["f"] <= np.min(X * X + Y * Y + X * (Y + 2) + np.cos(3 * X)) + 1e-12


def test_schedule_is_eta0_times_d_to_the_t():
    np.testing.assert_allclose(gd.step_sizes(0.2, 0.9, 4), [0.2, 0.18, 0.162, 0.1458], rtol=1e-15)
    # the run uses it: one step with d applied from t = 0 on a quadratic f = x^2 / 2
    path = gd.gradient_descent("x^2/2", (1.0, 0.0), eta=0.5, decay=0.5, steps=3)
    # x_{t+1} = x_t (1 - 0.5 * 0.5^t)
    assert path[:, 0].tolist() == pytest.approx([1.0, 0.5, 0.375, 0.328125], abs=1e-15)


def test_grid_reports_settings_reaching_the_target(result):
    grid, settings = result.tables["grid"], result.params["grid"]
    assert len(grid) == len(settings["eta0"]) * len(settings["decay"]) * len(settings["steps"])
    reached = result.tables["reaching_target"]
    assert reached and all(r["f"] < gd.TARGET for r in reached)
    assert {(r["eta0"], r["decay"], r["steps"]) for r in reached} == \
        {(r["eta0"], r["decay"], r["steps"]) for r in grid if r["reached"]}
    # the course's own setting stays in the local minimum's basin: it never reaches the target
    assert not any(r["reached"] for r in grid if r["eta0"] == gd.COURSE_ETA and r["decay"] == 1.0)
    # one example checked independently: eta0 = 0.2, d = 0.95, 10 steps
    row = next(r for r in grid if (r["eta0"], r["decay"], r["steps"]) == (0.2, 0.95, 10))
    x, y = 3.0, 2.0
    for t in range(10):
        gx, gy = 2 * x + y + 2 - 3 * math.sin(3 * x), 2 * y + x
        x, y = x - 0.2 * 0.95 ** t * gx, y - 0.2 * 0.95 ** t * gy
    assert row["f"] == pytest.approx(course_f(x, y), abs=1e-12)
    assert row["reached"] and row["f"] == pytest.approx(-2.27749, abs=1e-5)
    best = result.claim("best grid setting reaches the global minimum")
    assert best.value == pytest.approx(-2.280710, abs=1e-5)


def test_figures_and_text(result):
    assert set(result.figures) == {"gd_contour_paths", "gd_values"}
    ax = result.figures["gd_contour_paths"].axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert any(label.startswith("too small") for label in labels)
    assert any(label.startswith("good") for label in labels)
    assert any(label.startswith("too large") for label in labels)
    assert "1.29676" in result.text["print_summary"]
    for fig in result.figures.values():  # legends sit below the plot, never on the curves
        assert fig.legends and all(a.get_legend() is None for a in fig.axes)
    values = result.figures["gd_values"].axes[0]
    assert values.get_yscale() == "log"  # f - f* > 0 for the course's f: a plain log axis, no symlog 0
    assert all(result.text[f"caption:{name}"][0].isupper() for name in result.figures)


def test_course_run_table_is_not_repeated(result):
    assert "your_run" not in result.tables  # the default run is the course's run, shown once
    assert "|---|" not in result.text["gradient_descent"]  # the page's text repeats no table
    # one row per eta0: fewest steps to f < TARGET
    assert [r["eta0"] for r in result.tables["steps_to_target"]] == result.params["grid"]["eta0"]
    row = next(r for r in result.tables["steps_to_target"] if r["eta0"] == 0.2)
    assert row["d = 0.95"] == 10


def test_user_expression_and_start(tmp_path):
    res = gd.run(quick=True, expr="(x - 1)^2 + 2*(y + 0.5)^2", start=[2.0, 1.0], eta=0.2, decay=0.9,
                 steps=15, out=tmp_path)
    try:
        failed = [str(c) for c in res.claims if not c.passed]
        assert not failed, failed
        minimum = res.tables["minimum"][0]
        assert minimum["x"] == pytest.approx(1.0, abs=1e-6) and minimum["y"] == pytest.approx(-0.5, abs=1e-6)
        run = res.tables["your_run"]
        assert len(run) == 16 and run[0]["x"] == 2.0
        assert run[1]["x"] == pytest.approx(2.0 - 0.2 * 2 * (2.0 - 1), abs=1e-15)
        md = (tmp_path / "gradient_descent.md").read_text()
        assert md.startswith("# Gradient descent") and "| 15 |" in md  # the file keeps your run's table
    finally:
        res.close_figures()


def test_a_long_run_writes_a_readable_page_and_every_step_as_csv(tmp_path):
    """--steps 100000 --out wrote a 5 MB Markdown page, one table row per step. The page now shows the
    first and last steps with one row saying how many are left out; the CSV holds every step, at full
    precision, equal to the run's table."""
    steps = 1000
    res = gd.run(quick=True, expr="(x - 1)^2 + 2*(y + 0.5)^2", start=[2.0, 1.0], eta=0.01, steps=steps, out=tmp_path)
    res.close_figures()
    run = res.tables["your_run"]
    md = (tmp_path / "gradient_descent.md").read_text()
    table = md[md.index("## Your run"):]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]  # minus the header
    assert len(rows) == words.PATH_HEAD + 1 + words.PATH_TAIL and len(md) < 4000
    assert [r.split(" | ")[0] for r in rows] == [f"| {t}" for t in range(words.PATH_HEAD)] + ["| …"] + \
        [f"| {t}" for t in range(steps + 1 - words.PATH_TAIL, steps + 1)]
    left = steps + 1 - words.PATH_HEAD - words.PATH_TAIL
    assert rows[words.PATH_HEAD] == (f"| … | {left} steps left out (t = 10 to {steps - words.PATH_TAIL}); every step "
                                     "is in gradient_descent_path.csv | | | |")
    assert rows[-1] == f"| {steps} |  | {run[-1]['x']:.6f} | {run[-1]['y']:.6f} | {run[-1]['f']:.6f} |"
    lines = (tmp_path / "gradient_descent_path.csv").read_text().splitlines()
    assert lines[0] == "t,eta_t,x,y,f" and len(lines) == steps + 2
    parsed = [line.split(",") for line in lines[1:]]
    assert [int(t) for t, *_ in parsed] == list(range(steps + 1))
    assert all(float(x) == r["x"] and float(y) == r["y"] and float(f) == r["f"]  # full precision: exact
               for (_, _, x, y, f), r in zip(parsed, run, strict=True))
    assert parsed[0][1] == "0.01" and parsed[-1][1] == ""  # no step is taken from the last point


def test_the_page_shows_every_step_up_to_100_and_marks_divergence():
    rows = [{"t": t, "eta_t": 0.1 if t < 100 else None, "x": float(t), "y": -float(t), "f": 1.0 / (t + 1)}
            for t in range(101)]
    md = words.path_markdown(rows)
    assert "left out" not in md and md.count("\n") == 2 + 101 and "| 100 |  | 100.000000 | -100.000000 |" in md
    rows.append({"t": 101, "eta_t": None, "x": math.nan, "y": math.nan, "f": math.nan})
    rows[100]["eta_t"] = 0.1
    assert "| … | 82 steps left out (t = 10 to 91)" in words.path_markdown(rows)
    assert words.path_csv(rows).splitlines()[-1] == "101,,nan,nan,nan"


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


ROSENBROCK = "(x-1)^2 + 10*(y-x^2)^2"


@pytest.mark.parametrize("expr, words, absent", [
    (ROSENBROCK, ["diverged at step 3", "try --eta 0.001", "A strict minimum", "every one diverged"], []),
    ("sqrt(x^2+y^2)", ["f is not differentiable at (0, 0)", "not yet a stationary point after 10 steps"], []),
    ("exp(x)*y^2", ["Hessian singular", "a valley of equally low points"], ["unbounded"]),
    ("x + y", ["No stationary point found", "f may be unbounded below", "f keeps decreasing outside it"], []),
])
def test_user_functions_exit_0_with_findings(capsys, expr, words, absent):
    assert main(["gradient-descent", "--quick", "--expr", expr]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "all claims pass" in out
    for word in words:
        assert word in out, out
    for word in absent:
        assert word not in out, out


def test_a_diverging_run_says_so_and_the_suggested_step_works():
    f = gd.parse_expression(ROSENBROCK)
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p)) if np.isfinite(p).all() else math.nan}
            for t, p in enumerate(gd.gradient_descent(f, (3.0, 2.0), 0.1, 1.0, 10))]
    # by hand: the first step from (3, 2) has gradient (844, -140), so x jumps to -81.4 and then explodes
    assert rows[1]["x"] == pytest.approx(3 - 0.1 * (2 * 2 - 40 * 3 * (2 - 9)), abs=1e-12)
    safer = gd.safer_step(f, (3.0, 2.0), 0.1, 1.0, 10)
    assert safer == pytest.approx(1e-3)
    (text,) = run_findings(f, rows, 0.1, 1.0, safer)
    assert text.startswith("**Your run diverged at step 3** (step size η = 0.1)") and "`--eta 0.001`" in text
    path = gd.gradient_descent(f, (3.0, 2.0), safer, 1.0, 10)
    assert np.isfinite(path).all() and f(*path[-1]) < f(3.0, 2.0)
    assert not np.isfinite(gd.gradient_descent(f, (3.0, 2.0), 1e-2, 1.0, 10)).all()  # 0.01 still diverges


def test_uphill_run_is_reported():
    f = gd.parse_expression("x^2 + y^2")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, (1.0, 0.0), 1.05, 1.0, 3))]
    safer = gd.safer_step(f, (1.0, 0.0), 1.05, 1.0, 3)
    assert safer == pytest.approx(0.105)  # x_t = (1 - 2 * 0.105)^t shrinks
    (text,) = run_findings(f, rows, 1.05, 1.0, safer)  # x_t = (-1.1)^t: |x| grows slowly
    assert "went uphill" in text and "try `--eta 0.105`" in text


@pytest.mark.parametrize("kwargs, words", [
    ({"expr": "x + z"}, ["unknown name 'z'"]),
    ({"expr": "x +"}, ["ends too early"]),
    ({"expr": "log(x)", "start": [-1.0, 0.0]}, ["not finite at the start"]),
    ({"eta": -0.1}, ["eta must be"]),
    ({"decay": 1.5}, ["decay must lie in (0, 1]"]),
    ({"steps": 0}, ["steps must be"]),
    ({"start": [1.0]}, ["start must be two"]),
    ({"start": [math.nan, 0.0]}, ["start must be two finite"]),
])
def test_bad_input_raises_value_error(kwargs, words):
    with pytest.raises(ValueError) as info:
        gd.run(quick=True, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_cli_bad_expression_is_one_line_exit_2(capsys):
    assert main(["gradient-descent", "--quick", "--expr", "x + import_os"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown name 'import_os'" in err and "Traceback" not in err


@pytest.mark.parametrize("steps", ["100001", "1000000000", "0", "-5", "ten"])
def test_cli_steps_out_of_range_is_a_usage_error_naming_the_maximum(steps, capsys):
    """--steps is checked at the door (argparse, before any work), and --help states the bound."""
    with pytest.raises(SystemExit) as info:
        main(["gradient-descent", "--steps", steps])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"argument --steps: expected an integer from 1 to {gd.MAX_STEPS} (more is a typo" in err
    assert f"got '{steps}'" in err
    with pytest.raises(SystemExit):
        main(["gradient-descent", "--help"])
    assert f"--steps N number of steps of your run, 1 to {gd.MAX_STEPS} (" in " ".join(capsys.readouterr().out.split())


def test_cli_runs_with_options(capsys, tmp_path):
    code = main(["gradient-descent", "--quick", "--eta", "0.15", "--steps", "20", "--start", "3", "2",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "all claims pass" in out and "eta_t = 0.15" in out
    assert (tmp_path / "gd_contour_paths.png").stat().st_size > 10_000


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


def test_course_stationary_points_match_the_closed_form_gradient(result):
    rows = result.tables["stationary_points"]
    assert sorted(r["kind"] for r in rows) == ["saddle"] * 2 + ["strict minimum"] * 3
    for r in rows:
        gx, gy = gd.course_gradient(r["x"], r["y"])
        assert abs(gx) < 1e-8 and abs(gy) < 1e-8 and r["y"] == pytest.approx(-r["x"] / 2, abs=1e-9)
    # the local minimum the course's ten steps head for (the help names it): f = 1.24273 at (0.606, −0.303)
    local = next(r for r in rows if r["kind"] == "strict minimum" and r["x"] > 0)
    assert local["f"] == pytest.approx(1.2427334, abs=1e-7) and local["x"] == pytest.approx(0.6059463, abs=1e-6)


def test_help_agrees_with_the_run(result, capsys):
    with pytest.raises(SystemExit):
        main(["gradient-descent", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "stop in a local minimum" not in help_text
    assert "not yet a stationary point" in help_text and "1.24273" in help_text
    summary = result.text["print_summary"]
    assert "not yet a stationary point after 10 steps" in summary and "|∇f| = 0.311" in summary


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


def test_start_beyond_the_divergence_bound_is_refused(capsys):
    assert main(["gradient-descent", "--quick", "--expr", "x^2+y^2", "--start", "3e12", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--start" in err and "1e12" in err and "Traceback" not in err
    with pytest.raises(ValueError, match="start"):
        gd.gradient_descent("x^2 + y^2", (0.0, -2e12))
    path = gd.gradient_descent("x^2 + y^2", (1e12, 0.0), 0.1, 1.0, 3)  # on the bound: runs, x_t = 0.8^t·1e12
    assert path[:, 0] == pytest.approx([1e12, 8e11, 6.4e11, 5.12e11], rel=1e-15)


def test_run_refuses_an_out_that_is_a_file_before_any_work(tmp_path, monkeypatch):
    """gd.run(out='afile') ran the whole lesson, then raised a bare FileExistsError."""
    from backproplab.errors import InputError

    (tmp_path / "afile").write_text("mine")
    monkeypatch.setattr(gd, "grid_search", lambda *a, **k: pytest.fail("the lesson ran"))
    with pytest.raises(InputError, match=r"^out must be a directory, but '.*afile' is a file"):
        gd.run(quick=True, out=tmp_path / "afile")
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_folder_where_the_page_goes_is_one_line_naming_out(tmp_path, capsys):
    (tmp_path / "gradient_descent.md").mkdir()
    assert main(["gradient-descent", "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"backproplab: error: out: could not write '{tmp_path / 'gradient_descent.md'}' (Is a directory); "
                   "move it away or choose another --out\n")


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


def test_numpy_scalars_are_numbers_and_a_string_start_is_not():
    """eta=np.float32(0.1) was refused as 'not a positive finite step size'; start="12" ran from (1, 2)."""
    path = gd.gradient_descent("x^2 + y^2", (np.float32(1.0), np.int64(2)), np.float32(0.25), np.float64(1.0),
                               np.int64(1))
    np.testing.assert_allclose(path[-1], [0.5, 1.0])  # p - 0.25·2p = p/2
    for start in ("12", (True, 2.0), ("1", "2")):
        with pytest.raises(InputError, match="start must be two numbers"):
            gd.run(quick=True, expr="x^2 + y^2", start=start)
    with pytest.raises(InputError, match="eta must be a positive finite step size, got np.True_"):
        gd.step_sizes(np.bool_(True), 1.0, 3)


@pytest.mark.parametrize("expr, start, lowest", [("sqrt(x - 10) + y^2", (11.0, 0.0), (10.0, 0.0)),
                                                 ("x^(1/3) + y^2", (3.0, 2.0), (0.0, 0.0))])
def test_a_function_the_default_box_cannot_hold_still_gets_its_run(expr, start, lowest):
    """sqrt(x - 10) is finite nowhere on [-5, 5]^2 and x^(1/3) has an infinite gradient at its lowest point
    (L-BFGS-B left every start): both were refused (exit 2) for a box no option moves. The box is now
    centred on the start where f is finite nowhere on the default one, and the grid's lowest point
    stands where L-BFGS-B fails."""
    result = gd.run(quick=True, expr=expr, start=start)
    low = result.tables["minimum"][0]
    assert (low["x"], low["y"]) == pytest.approx(lowest, abs=0.2) and low["f"] == pytest.approx(0.0, abs=0.5)
    assert result.tables["your_run"]


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
