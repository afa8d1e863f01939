"""The gradient-descent lesson: the course's numbers, the schedule, the grid, user functions, the CLI.

What the lesson says about the points it finds and about a run (stationary points, kinks, the
findings' advice) is tested in test_gd_findings.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.errors import InputError
from backproplab.lessons import _gd_findings as words
from backproplab.lessons import _gd_partials as pt
from backproplab.lessons import _gd_stationary as st
from backproplab.lessons import gradient_descent as gd
from backproplab.lessons._gd_findings import run_findings

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


# --- which partials exist at a run's end: no kink far from the origin, near a kink, or near f's edge ------


def _ends(expr: str, start: tuple[float, float], eta: float, steps: int) -> tuple[list[dict], str]:
    f = gd.parse_expression(expr)
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
            for t, p in enumerate(gd.gradient_descent(f, start, eta, 1.0, steps))]
    (text,) = run_findings(f, rows, eta, 1.0)
    return rows, text


def test_smooth_functions_far_from_the_origin_have_both_partials():
    """At x = 1e11, x + 1e-5 is x + 1.526e-5 (x's ulp): one-sided slopes divided by the nominal h were
    off by 53%, so sin(x)·cos(y) there had "slopes -0.27 from the left and -0.27 from the right (a
    kink)" and no |∇f|. This sweep over scales 1e-8..1e11 found a partial "undefined" at 20 of its 240
    points, and classify a kink at 24."""
    _, text = _ends("sin(x)*cos(y)", (1e11, 1e11), 0.1, 10)
    assert text.startswith("Your run ended at (1e+11, 1e+11), f = -0.454001 with |∇f| = 0.833: not yet"), text
    rng = np.random.default_rng(1)
    for expr in ("sin(x)*cos(y)", "sin(10*x)+sin(10*y)", "x^2 + y^2 + x*(y + 2) + cos(3*x)",
                 "(1 - x)^2 + 100*(y - x^2)^2"):
        f = gd.parse_expression(expr)
        for _ in range(60):
            x, y = (float(v) for v in rng.uniform(-1, 1, 2) * 10.0 ** rng.uniform(-8, 11, 2))
            parts = pt.partials(f, x, y)
            assert [p["status"] for p in parts.values()] == ["defined", "defined"], (expr, x, y, parts)
            assert not st._kink(f, x, y), (expr, x, y)


def test_a_point_near_a_kink_is_not_the_kink():
    """|x| + y² from (0.300003, 0) at η = 0.1 ends at x = 3e-6 after 3 steps, where ∂f/∂x = 1: at h = 1e-5
    the left slope (3e-6 − 7e-6)/1e-5 = −0.4 straddles the kink at 0, and the run was told ∂f/∂x is
    undefined, that it "already sits at the bottom" (f(0) < f(3e-6)) and autodiff's 1 was "a convention
    (|x|' = sign(x) is 0 at 0 …)"."""
    rows, text = _ends("abs(x)+y^2", (0.300003, 0.0), 0.1, 3)
    assert rows[-1]["x"] == pytest.approx(3e-6) and rows[-1]["y"] == 0.0
    assert text.startswith("Your run ended at (3e-06, 0), f = 3e-06 with |∇f| = 1: not yet a stationary"), text
    assert "undefined" not in text and "bottom" not in text and "convention" not in text
    f = gd.parse_expression("abs(x) + y^2")
    for d in (1e-3, 1e-5, 3e-6, 1e-7, 1e-8):
        assert pt.partials(f, d, 0.0)["x"]["status"] == "defined", d
    assert pt.partials(f, 0.0, 0.0)["x"]["status"] == "undefined"
    # |x| + x on x = 0: autodiff gives sign(0) + 1 = 1, which is no "|x|' = sign(x) is 0 at 0" convention
    rows, text = _ends("abs(x)+x+y^2", (0.1, 1.0), 0.05, 1)
    assert (rows[-1]["x"], rows[-1]["y"]) == (0.0, 0.9)
    assert ("0 from the left and 2 from the right at h = 1e-5 (a kink). The lab's autodiff gives ∂f/∂x = 1 there, "
            "what the formula's derivative rules give at a point where f has no derivative along x, so") in text, text
    assert "convention" not in text


@pytest.mark.parametrize("expr", ["sqrt(x)+y^2", "log(x)+y^2"])
def test_a_point_inside_the_domain_near_its_edge_is_not_the_edge(expr):
    """√x + y² at (1e-10, 1) is inside f's domain (f(1e-10 − h) is finite for h < 1e-10), but f was
    checked at x − h for absolute h = 1e-4, 1e-6 and 1e-9, so the run "lies on the edge of f's domain"
    and autodiff's ∂f/∂x = 5e4 was "its formula's value at the edge". The steps are now relative to |x|."""
    f = gd.parse_expression(expr)
    assert pt.partials(f, 1e-10, 1.0)["x"]["status"] == "defined"
    assert st.classify(f, 1e-10, 1.0)["kind"] == "not stationary"
    assert pt.partials(gd.parse_expression("sqrt(x)+y^2"), 0.0, 1.0)["x"]["status"] == "edge"  # absolute h at 0
    _, text = _ends("sqrt(x)+y^2", (1e-10, 1.0), 1e-20, 3)
    assert text.startswith("Your run ended at (9.99985e-11, 1), f = 1.00001 with |∇f| = 5e+04: not yet"), text
    assert "edge" not in text
    # an edge away from 0 is still found, at steps relative to |x|, and says so
    _, text = _ends("sqrt(x - 3) + y^2", (3.0, 1.0), 0.1, 1)
    assert "f is finite for x ≥ 3 but not below it (at x − h for h = 1e-4, 1e-6 and 1e-9 times |x|)" in text, text



@pytest.mark.parametrize("offset", [1e6, 1e12])
def test_a_large_constant_in_f_is_no_failed_gradient_check(offset):
    """1e6 + x² + y²: central differences round to eps·|f|/h, 2e-3 of the slope near the minimum, and the
    claim "autodiff gradient matches central finite differences" failed (2.2e-5 > 1e-6) on a gradient that is
    exact. Such points are left out and the lesson says why; a wrong gradient still fails (below)."""
    res = gd.run(quick=True, expr=f"{offset!r} + x^2 + y^2")
    try:
        assert res.passed, [str(c) for c in res.claims]
        assert [c.name for c in res.claims] == ["forward-mode gradient equals torch autograd (max relative difference)"]
        text = res.text["print_summary"]
        assert "Central differences could not check the gradient at any of the 25 points" in text, text
    finally:
        res.close_figures()


def test_points_within_rounding_are_counted_apart_and_a_wrong_gradient_still_fails(monkeypatch):
    from backproplab.lessons import _gd_checks

    # f is 1e6 near x = 0 only; at (0, 1) its slope is (0, 2), which central differences cannot resolve to
    # 1e-6 there, at (0.01, 2) it is (−2e4, 4), which they can
    f = gd.parse_expression("1e6*exp(-x^2) + y^2")
    points = np.array([[0.0, 1.0], [0.01, 2.0], [6.0, 1.0], [7.0, -2.0]])
    claims, notes = _gd_checks.gradient_claims(f, points)
    fd = claims[1]
    assert fd.passed and not notes and fd.evidence.startswith("3 points") and "; 1 left out" in fd.evidence
    value_and_grad = f.value_and_grad
    monkeypatch.setattr(f, "value_and_grad", lambda x, y: (lambda v, gx, gy: (v, gx * 1.01, gy))(*value_and_grad(x, y)))
    claims, _ = _gd_checks.gradient_claims(f, points)
    assert not claims[1].passed  # 1% off: beyond any rounding, at the points near x = 0 too
