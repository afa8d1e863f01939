"""``--threads`` on reproduce and every lesson: checked at the door, applied around the whole run, recorded."""

from __future__ import annotations

import functools
import json

import pytest
import torch

from backproplab.cli import build_parser, main
from backproplab.lessons import registry

pytestmark = pytest.mark.cli


@pytest.mark.parametrize("command", ["reproduce", *registry()])
def test_every_lesson_and_reproduce_take_threads(command: str) -> None:
    extra = ["course.yaml"] if command == "backprop" and _needs_file(command) else []
    args = build_parser().parse_args([command, *extra, "--threads", "3"])
    assert args.threads == 3
    assert build_parser().parse_args([command, *extra]).threads is None  # default: every core


def _needs_file(command: str) -> bool:
    try:
        build_parser().parse_args([command])
    except SystemExit:
        return True
    return False


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "100000"])
def test_a_bad_thread_count_is_one_line_and_status_2(value: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["xor", "--threads", value])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.count("\n") == 1 and "--threads" in err and "expected an integer from 1 to 1024" in err, err


def test_a_lesson_runs_under_the_cap_and_the_pool_is_restored(monkeypatch, capsys) -> None:
    lesson = registry()["conv"]
    seen = {}
    real_run = lesson.run

    @functools.wraps(real_run)  # the CLI passes only what run() declares: keep its signature
    def spy(**kwargs):
        seen["threads"] = torch.get_num_threads()
        seen["kwargs"] = kwargs
        return real_run(**kwargs)

    monkeypatch.setattr(lesson, "run", spy)
    before = torch.get_num_threads()
    status = main(["conv", "--quick", "--threads", "1"])
    capsys.readouterr()
    assert status in (0, 1)
    assert seen["threads"] == 1 and "threads" not in seen["kwargs"]  # the CLI applies it; run() never sees it
    assert torch.get_num_threads() == before


def test_reproduce_records_the_thread_count_and_resumes_with_it(tmp_path, capsys) -> None:
    from backproplab.report.reproduce import resume_command
    from backproplab.report.schema import schema_errors

    out = tmp_path / "r"
    main(["reproduce", "--quick", "--only", "conv", "--device", "cpu", "--threads", "1", "--out", str(out)])
    capsys.readouterr()
    doc = json.loads((out / "results.json").read_text())
    assert doc["settings"]["threads"] == 1
    assert schema_errors(doc) == []
    assert "--threads 1" in resume_command(doc["settings"], out)
    older = dict(doc, settings={k: v for k, v in doc["settings"].items() if k != "threads"})
    assert schema_errors(older) == []  # reports written before --threads still read back
    assert schema_errors(dict(doc, settings=dict(doc["settings"], threads=0)))  # and 0 is refused
