"""``reproduce`` on fake lessons: files, schema, summary, exit status, --only, --out safety,
lesson errors, determinism, interrupts and --resume."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import jsonschema
import pytest

import backproplab.lessons
from backproplab.cli import main
from backproplab.errors import InputError
from backproplab.report import RESULTS_SCHEMA, reproduce
from backproplab.report.reproduce import MARKER

pytestmark = pytest.mark.report


def run(lessons, out, **kw):
    kw.setdefault("device", "cpu")
    kw.setdefault("progress", False)
    return reproduce(out=out, lessons=lessons, **kw)


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def without_timings(path: Path) -> dict:
    doc = load(path)
    assert set(doc["timings"]) == {"total_s", "lessons", "parts"}
    doc.pop("timings")
    return doc


def validate(doc: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(RESULTS_SCHEMA)
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(doc)


# ------------------------------------------------------------------------------------------
# what a run writes


def test_full_run_writes_report_that_validates(fake_lessons, tmp_path):
    out = tmp_path / "report"
    outcome = run(fake_lessons, out)

    assert not outcome.passed and outcome.complete and not outcome.interrupted
    assert (outcome.n_claims, outcome.n_passed) == (5, 4)
    assert [c["name"] for c in outcome.failed_claims] == ["validation accuracy reaches the target"]
    assert outcome.failed_claims[0]["lesson"] == "beta"
    mask = os.umask(0o022)
    os.umask(mask)
    for name in ("index.html", "summary.md", "results.json", MARKER):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~mask, name  # readable like any file
    assert outcome.results_path == out / "results.json" and outcome.html_path == out / "index.html"

    doc = load(out / "results.json")
    validate(doc)
    assert doc == outcome.results
    assert doc["complete"] is True and doc["passed"] is False
    assert doc["settings"] == {"quick": False, "seed": 0, "device": "cpu", "lessons": ["alpha", "beta", "gamma"]}
    assert doc["summary"] == {"lessons": 3, "lessons_done": 3, "lessons_failed": 1, "claims": 5,
                              "claims_passed": 4, "claims_failed": 1}
    assert set(doc["versions"]) >= {"backproplab", "python", "numpy", "torch", "matplotlib"}
    assert list(doc)[-1] == "timings" and set(doc["timings"]["lessons"]) == {"alpha", "beta", "gamma"}

    alpha = doc["lessons"]["alpha"]
    assert alpha["status"] == "done" and alpha["passed"] is True
    assert alpha["params"] == {"seed": 0, "quick": False, "steps": 60}
    assert alpha["claims"][0]["bound"] == "<= 0.01" and alpha["claims"][0]["passed"] is True
    assert alpha["tables"]["loss_by_step"][0] == {"step": 0, "loss": pytest.approx(1.0, abs=0.03), "note": "start"}
    assert len(alpha["tables"]["loss_by_step"]) == 12
    assert alpha["figures"] == {"loss curve": "figures/alpha/loss-curve.png", "weights": "figures/alpha/weights.png"}
    for entry in doc["lessons"].values():
        for rel in entry["figures"].values():
            assert (out / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # device goes only to lessons whose run() takes it (alpha would raise TypeError otherwise)
    assert doc["lessons"]["beta"]["params"]["device"] == "cpu"


def test_quick_flag_and_seed_reach_the_lessons(fake_lessons, tmp_path):
    doc = run(fake_lessons, tmp_path / "r", quick=True, seed=7, only=["alpha"]).results
    assert doc["settings"]["quick"] is True and doc["settings"]["seed"] == 7
    assert doc["lessons"]["alpha"]["params"] == {"seed": 7, "quick": True, "steps": 20}


def test_schema_rejects_broken_documents(fake_lessons, tmp_path):
    doc = run(fake_lessons, tmp_path / "r", only=["alpha"]).results
    validate(doc)
    broken = [
        lambda d: d["lessons"]["alpha"]["claims"][0].pop("passed"),
        lambda d: d["lessons"]["alpha"]["claims"][0].update(passed="yes"),
        lambda d: d.pop("versions"),
        lambda d: d["settings"].update(seed="0"),
        lambda d: d["lessons"]["alpha"].update(status="finished"),
        lambda d: d["lessons"]["alpha"]["figures"].update(x="/abs/x.png"),
    ]
    for breaker in broken:
        copy = json.loads(json.dumps(doc))
        breaker(copy)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(copy)


def test_html_is_self_contained_and_puts_claims_first(fake_lessons, tmp_path):
    out = tmp_path / "r"
    run(fake_lessons, out)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "4 of 5 claims pass" in html
    assert html.count("data:image/png;base64,") == 6  # two figures per lesson, embedded
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from a network
    assert "<script" not in html  # the fake Markdown's <script> is escaped, and no JS is needed
    assert "&lt;script&gt;" in html
    assert html.index('id="claims-table"') < html.index('id="lesson-alpha"')
    claims_table = html[html.index('id="claims-table"'):html.index("</table>", html.index('id="claims-table"'))]
    assert claims_table.count("<tr class=") == 5 and len(re.findall(r'<tr class="fail[ "]', claims_table)) == 1
    assert claims_table.count('rowspan="2"') == 2  # alpha and beta have two claims each
    assert '<span class="pill fail">FAIL</span>' in claims_table
    assert "INCOMPLETE" not in html
    callout = html[html.index('id="failed-claims"'):html.index("</div>", html.index('id="failed-claims"'))]
    assert "1 claim failed:" in callout and "validation accuracy reaches the target" in callout
    assert html.index('id="failed-claims"') < html.index('id="claims-table"')
    # Markdown rendered simply: table, code block, list, bold
    assert "<strong>mean squared error</strong>" in html and "<pre><code>w &lt;- w - lr * grad" in html


def test_a_yes_no_claim_reads_as_holds_on_the_page_and_keeps_its_number_in_results_json(fake_lessons, tmp_path):
    """alpha's "its weights cycle" holds with 1 measured: the page said "1 (bound true)", as if 1 were the
    verdict; it now says what the terminal says. results.json, read by other tools, is unchanged."""
    out = tmp_path / "r"
    run(fake_lessons, out, only=["alpha", "gamma"])
    cycle, finishes = load(out / "results.json")["lessons"]["alpha"]["claims"][1], \
        load(out / "results.json")["lessons"]["gamma"]["claims"][0]
    assert (cycle["value"], cycle["bound"], cycle["passed"]) == (1, "true", True)
    assert (finishes["value"], finishes["bound"], finishes["passed"]) == (True, "true", True)
    html = (out / "index.html").read_text(encoding="utf-8")
    table = html[html.index('id="claims-table"'):html.index("</table>", html.index('id="claims-table"'))]
    assert ('<td class="claim">its weights cycle</td><td class="value mono">holds (measured: 1)</td>'
            '<td class="bound mono">must hold</td>') in table
    assert ('<td class="claim">the run finishes</td><td class="value mono">holds</td>'
            '<td class="bound mono">must hold</td>') in table
    assert ('<li class="pass">its weights cycle: <span class="val mono">holds (measured: 1)</span>'
            '<span class="evidence">epoch 1 starts as epoch 0 did</span></li>') in html
    assert '<li class="pass">the run finishes: <span class="val mono">holds</span><span' in html
    assert "true" not in table and "(bound true)" not in html


def test_summary_lists_failed_claims(fake_lessons, tmp_path):
    out = tmp_path / "r"
    run(fake_lessons, out)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# backproplab reproduce: 4 of 5 claims pass")
    failed = summary[summary.index("## Failed claims"):summary.index("## Lessons")]
    assert "| beta | validation accuracy reaches the target |" in failed
    assert ">= 0.95" in failed
    assert "final loss is small" not in failed and "the run finishes" not in failed
    assert "| beta | Beta: a lesson with a failing claim | FAIL | 1 of 2 |" in summary


def test_summary_when_everything_passes(fakes, tmp_path):
    outcome = run(fakes.make_lessons({"beta_passes": True}), tmp_path / "r")
    assert outcome.passed and outcome.failed_claims == []
    assert "None: every claim that was checked passed." in (tmp_path / "r" / "summary.md").read_text()


def test_lesson_that_raises_is_recorded_and_the_run_goes_on(fakes, behaviour, tmp_path):
    behaviour["raise"] = {"alpha": RuntimeError("weights went\nsideways")}
    outcome = run(fakes.make_lessons(behaviour), tmp_path / "r")
    assert behaviour["calls"] == ["alpha", "beta", "gamma"]
    assert not outcome.passed and outcome.complete
    alpha = outcome.results["lessons"]["alpha"]
    assert alpha["status"] == "error" and alpha["passed"] is False
    assert alpha["error"]["type"] == "RuntimeError" and alpha["error"]["message"] == "weights went sideways"
    assert "Traceback" in alpha["error"]["traceback"]
    assert alpha["claims"] == [{"name": "lesson runs to completion", "value": "RuntimeError: weights went sideways",
                                "bound": "no exception", "passed": False,
                                "evidence": "the lesson raised; see its section for the traceback"}]
    assert outcome.results["lessons"]["gamma"]["status"] == "done"
    validate(outcome.results)
    assert not (tmp_path / "r" / "figures" / "alpha").exists()
    html = (tmp_path / "r" / "index.html").read_text()
    assert "A lesson raised an error" in html and "weights went sideways" in html
    assert "| alpha | lesson runs to completion |" in (tmp_path / "r" / "summary.md").read_text()


# ------------------------------------------------------------------------------------------
# --only and the CLI


def test_only_runs_the_named_lessons_in_registry_order(fake_lessons, behaviour, tmp_path):
    outcome = run(fake_lessons, tmp_path / "r", only=["gamma", "alpha"])
    assert behaviour["calls"] == ["alpha", "gamma"]
    assert list(outcome.results["lessons"]) == ["alpha", "gamma"]
    assert outcome.passed


def test_only_unknown_name_names_the_known_ones(fake_lessons, tmp_path):
    with pytest.raises(InputError, match=r"only: unknown lesson 'delta'.*\['alpha', 'beta', 'gamma'\]"):
        run(fake_lessons, tmp_path / "r", only=["alpha", "delta"])
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("kwargs, words", [
    ({"seed": -1}, "seed must be an integer >= 0 and < 2**32 (4294967296), got -1"),
    ({"seed": 1.5}, "seed must be an integer >= 0 and < 2**32 (4294967296), got 1.5"),
    ({"seed": 2**64}, "seed must be an integer >= 0 and < 2**32 (4294967296), got 18446744073709551616"),
    ({"quick": "yes"}, "quick must be True or False, got 'yes'"),
    ({"device": "tpu"}, "device must be one of ['auto', 'cpu', 'cuda'] or 'cuda:N', got 'tpu'"),
    ({"only": []}, "only must name at least one lesson"),
])
def test_bad_arguments_name_themselves(fake_lessons, tmp_path, kwargs, words):
    with pytest.raises(ValueError) as info:
        run(fake_lessons, tmp_path / "r", **kwargs)
    assert words in str(info.value)


@pytest.fixture
def cli_lessons(monkeypatch, fake_lessons):
    monkeypatch.setattr(backproplab.lessons, "registry", lambda: dict(fake_lessons))
    return fake_lessons


def test_cli_exit_status_follows_the_claims(cli_lessons, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["reproduce", "--out", str(out), "--device", "cpu"]) == 1
    printed = capsys.readouterr().out
    assert "backproplab reproduce: 4 of 5 claims pass" in printed
    assert "FAIL beta: validation accuracy reaches the target" in printed
    fresh = tmp_path / "fresh"
    assert main(["reproduce", "--out", str(fresh), "--only", "alpha", "--only", "gamma", "--device", "cpu"]) == 0
    assert list(load(fresh / "results.json")["lessons"]) == ["alpha", "gamma"]
    # into the earlier report, --only refreshes alpha and gamma and keeps beta, whose claim fails
    assert main(["reproduce", "--out", str(out), "--only", "alpha", "--only", "gamma", "--device", "cpu"]) == 1
    assert list(load(out / "results.json")["lessons"]) == ["alpha", "beta", "gamma"]


def test_cli_unknown_lesson_is_one_line_exit_2(cli_lessons, tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path / "r"), "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("backproplab: error: only: unknown lesson 'nope'") and err.count("\n") == 1


# ------------------------------------------------------------------------------------------
# --out safety


def test_out_with_foreign_files_is_refused_without_force(fake_lessons, behaviour, tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    with pytest.raises(InputError, match=r"refusing to write the report into .*chapter1\.tex.*--force"):
        run(fake_lessons, out)
    assert behaviour["calls"] == [] and sorted(p.name for p in out.iterdir()) == ["chapter1.tex"]

    run(fake_lessons, out, force=True, only=["alpha"])
    assert (out / "chapter1.tex").read_text() == "precious"
    assert (out / "index.html").is_file() and (out / MARKER).is_file()
    with pytest.raises(InputError, match="holds an earlier report plus other files"):
        run(fake_lessons, out, only=["alpha"])


def test_out_that_is_a_file_is_refused(fake_lessons, tmp_path):
    target = tmp_path / "report"
    target.write_text("x")
    with pytest.raises(InputError, match="out must be a directory"):
        run(fake_lessons, target, force=True)


def test_an_earlier_report_is_rewritten_without_force(fake_lessons, behaviour, tmp_path):
    out = tmp_path / "r"
    run(fake_lessons, out, only=["alpha", "beta"])
    assert (out / "figures" / "beta").is_dir()
    outcome = run(fake_lessons, out, only=["gamma"])  # --only adds to the earlier report
    assert list(outcome.results["lessons"]) == ["alpha", "beta", "gamma"]
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["alpha", "beta", "gamma"]
    behaviour["calls"].clear()
    outcome = run(fake_lessons, out, seed=5)  # a full run replaces every lesson
    assert behaviour["calls"] == ["alpha", "beta", "gamma"]
    assert outcome.results["runs"] == [{"quick": False, "seed": 5, "device": "cpu",
                                        "lessons": ["alpha", "beta", "gamma"]}]


def test_empty_directory_is_accepted(fake_lessons, tmp_path):
    (tmp_path / "r").mkdir()
    assert run(fake_lessons, tmp_path / "r", only=["alpha"]).passed


# ------------------------------------------------------------------------------------------
# determinism, interrupts, resume


def test_two_runs_are_identical_apart_from_timings(fakes, tmp_path):
    run(fakes.make_lessons(), tmp_path / "a", seed=3)
    run(fakes.make_lessons(), tmp_path / "b", seed=3)
    a = (tmp_path / "a" / "results.json").read_text()
    b = (tmp_path / "b" / "results.json").read_text()
    assert a.split('"timings"')[0] == b.split('"timings"')[0]  # byte for byte up to the timings key
    assert without_timings(tmp_path / "a" / "results.json") == without_timings(tmp_path / "b" / "results.json")
    run(fakes.make_lessons(), tmp_path / "c", seed=4)
    assert without_timings(tmp_path / "c" / "results.json") != without_timings(tmp_path / "a" / "results.json")


def test_a_lessons_own_timings_go_under_timings_not_into_its_entry(fakes, tmp_path):
    out = tmp_path / "t"
    run(fakes.make_lessons(), out, seed=3)
    doc = load(out / "results.json")
    validate(doc)
    parts = doc["timings"]["parts"]
    assert list(parts) == ["gamma"] and set(parts["gamma"]) == {"train", "evaluate"}
    assert parts["gamma"]["evaluate"] == 1.5
    assert "seconds" not in json.dumps(doc["lessons"]) and "train" not in doc["lessons"]["gamma"]["params"]
    assert "(train " in (out / "index.html").read_text()
    resumed = run(fakes.make_lessons(), out, seed=3, resume=True)  # nothing reruns; the parts are kept
    assert resumed.results["timings"]["parts"] == parts


def test_keyboard_interrupt_writes_partial_report_and_resume_finishes(fakes, behaviour, tmp_path):
    run(fakes.make_lessons(), tmp_path / "whole", seed=1)

    out = tmp_path / "r"
    behaviour["raise"] = {"beta": KeyboardInterrupt()}
    lessons = fakes.make_lessons(behaviour)
    outcome = run(lessons, out, seed=1)
    assert outcome.interrupted and not outcome.passed
    doc = load(out / "results.json")
    validate(doc)
    assert doc["complete"] is False and doc["passed"] is False
    assert [e["status"] for e in doc["lessons"].values()] == ["done", "pending", "pending"]
    assert list(doc["timings"]["lessons"]) == ["alpha"]
    html = (out / "index.html").read_text()
    assert "INCOMPLETE" in html and "backproplab reproduce --resume" in html and "--seed 1" in html
    assert "Not run: the run was interrupted" in html
    assert "This report is incomplete" in (out / "summary.md").read_text()
    assert not (out / "figures" / "beta").exists()

    behaviour["calls"].clear()
    resumed = run(lessons, out, seed=1, resume=True)
    assert behaviour["calls"] == ["beta", "gamma"]  # alpha's saved results were reused
    assert resumed.complete and resumed.n_claims == 5
    assert without_timings(out / "results.json") == without_timings(tmp_path / "whole" / "results.json")
    assert set(load(out / "results.json")["timings"]["lessons"]) == {"alpha", "beta", "gamma"}
    assert "INCOMPLETE" not in (out / "index.html").read_text()


def test_sigterm_stops_the_current_lesson_at_once(fakes, behaviour, tmp_path):
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    behaviour["signal"] = {"beta": signal.SIGTERM}
    outcome = run(fakes.make_lessons(behaviour), tmp_path / "r")
    assert behaviour["calls"] == ["alpha", "beta"]
    assert outcome.interrupted
    assert [e["status"] for e in outcome.results["lessons"].values()] == ["done", "pending", "pending"]
    assert not (tmp_path / "r" / "figures" / "beta").exists()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


@pytest.mark.parametrize("signum", [signal.SIGINT])
def test_signal_lets_the_current_lesson_finish(fakes, behaviour, tmp_path, signum):
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    behaviour["signal"] = {"alpha": signum}
    outcome = run(fakes.make_lessons(behaviour), tmp_path / "r")
    assert behaviour["calls"] == ["alpha"]
    assert outcome.interrupted
    assert [e["status"] for e in outcome.results["lessons"].values()] == ["done", "pending", "pending"]
    assert outcome.results["lessons"]["alpha"]["passed"] is True
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_signal_during_last_lesson_still_completes(fakes, behaviour, tmp_path):
    behaviour["signal"] = {"gamma": signal.SIGINT}
    outcome = run(fakes.make_lessons(behaviour), tmp_path / "r")
    assert outcome.complete and behaviour["calls"] == ["alpha", "beta", "gamma"]


def test_resume_with_other_settings_is_refused(fakes, behaviour, tmp_path):
    behaviour["raise"] = {"beta": KeyboardInterrupt()}
    lessons = fakes.make_lessons(behaviour)
    run(lessons, tmp_path / "r", seed=1)
    with pytest.raises(InputError, match=r"resume: the settings differ.*seed 1 then, 2 now"):
        run(lessons, tmp_path / "r", seed=2, resume=True)
    with pytest.raises(InputError, match=r"quick False then, True now"):
        run(lessons, tmp_path / "r", seed=1, quick=True, resume=True)


def test_resume_may_change_the_selection(fakes, behaviour, tmp_path):
    behaviour["raise"] = {"beta": KeyboardInterrupt()}
    lessons = fakes.make_lessons(behaviour)
    run(lessons, tmp_path / "r", seed=1, only=["alpha", "beta"])
    behaviour["calls"].clear()
    outcome = run(lessons, tmp_path / "r", seed=1, resume=True)  # e.g. a lesson was added since
    assert behaviour["calls"] == ["beta", "gamma"] and outcome.complete
    assert list(outcome.results["lessons"]) == ["alpha", "beta", "gamma"]


def test_resume_without_earlier_run_starts_fresh(fake_lessons, behaviour, tmp_path):
    outcome = run(fake_lessons, tmp_path / "r", resume=True)
    assert outcome.complete and behaviour["calls"] == ["alpha", "beta", "gamma"]


def test_resume_of_a_complete_run_runs_nothing(fake_lessons, behaviour, tmp_path):
    run(fake_lessons, tmp_path / "r")
    first = without_timings(tmp_path / "r" / "results.json")
    behaviour["calls"].clear()
    run(fake_lessons, tmp_path / "r", resume=True)
    assert behaviour["calls"] == []
    assert without_timings(tmp_path / "r" / "results.json") == first


def test_resume_reruns_a_lesson_whose_figures_are_gone(fake_lessons, behaviour, tmp_path):
    run(fake_lessons, tmp_path / "r")
    (tmp_path / "r" / "figures" / "gamma" / "weights.png").unlink()
    behaviour["calls"].clear()
    run(fake_lessons, tmp_path / "r", resume=True)
    assert behaviour["calls"] == ["gamma"]
    assert (tmp_path / "r" / "figures" / "gamma" / "weights.png").is_file()


def test_device_auto_resolves_to_a_real_device(fake_lessons, tmp_path):
    import torch

    outcome = run(fake_lessons, tmp_path / "r", device="auto", only=["beta"])
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert outcome.results["settings"]["device"] == expected
    assert outcome.results["lessons"]["beta"]["params"]["device"] == expected


def _module(name, run_func):
    import types

    module = types.ModuleType(f"inline_{name}")
    module.NAME, module.TITLE, module.ORDER, module.run = name, f"Inline {name}", 0, run_func
    return module


def test_lesson_returning_the_wrong_type_is_a_failed_lesson(tmp_path):
    def run_lesson(quick=False, seed=0, out=None):
        return {"claims": []}

    outcome = run({"odd": _module("odd", run_lesson)}, tmp_path / "r")
    entry = outcome.results["lessons"]["odd"]
    assert entry["status"] == "error" and entry["error"]["type"] == "TypeError"
    assert "returned dict, expected LessonResult" in entry["error"]["message"]
    assert not outcome.passed


def test_values_json_cannot_hold_are_written_as_text(tmp_path):
    from backproplab.lessons import Claim, LessonResult

    class Opaque:
        def __repr__(self):
            return "Opaque()"

        __str__ = __repr__

    def run_lesson(quick=False, seed=0, out=None):
        return LessonResult("odd", "Odd values", params={"thing": Opaque(), "nan": float("nan")},
                            claims=[Claim.at_most("loss is finite and small", float("inf"), 1.0)],
                            tables={"t": [{"x": float("-inf")}]})

    outcome = run({"odd": _module("odd", run_lesson)}, tmp_path / "r")
    entry = outcome.results["lessons"]["odd"]
    assert entry["status"] == "done"
    assert entry["params"] == {"thing": "Opaque()", "nan": "nan"}
    assert entry["claims"][0]["value"] == "inf" and entry["claims"][0]["passed"] is False
    assert entry["tables"]["t"] == [{"x": "-inf"}]
    validate(outcome.results)
    def refuse(token):
        raise AssertionError(f"results.json holds the non-JSON token {token}")

    json.loads((tmp_path / "r" / "results.json").read_text(), parse_constant=refuse)  # strict JSON


def test_cuda_without_a_gpu_is_refused_before_any_lesson_runs(fake_lessons, behaviour, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InputError, match=r"device: 'cuda' was requested but torch.cuda.is_available\(\) is False"):
        run(fake_lessons, tmp_path / "r", device="cuda")
    assert behaviour["calls"] == []
