"""Progress of training loops (backproplab.progress): one setting per run, a bar on a terminal, one line
per epoch elsewhere, nothing for library calls unless the run asks."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from torch import nn

from backproplab.errors import InputError
from backproplab.progress import LoopProgress, nested, progress_mode, resolve
from backproplab.scratch import SGD, Network
from backproplab.scratch import fit as np_fit
from backproplab.torchnn import fit as torch_fit


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, as stderr in a shell does."""

    def isatty(self) -> bool:
        return True


def _data(n: int = 300):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(n, 5, generator=gen)
    return X, (X[:, 0] > 0).long()


def _torch_fit(epochs: int = 3, progress: bool | None = None, val: bool = True) -> None:
    X, y = _data()
    torch_fit(nn.Linear(5, 2), (X, y), (X[:50], y[:50]) if val else None, epochs=epochs, batch_size=10,
              device="cpu", progress=progress)


@pytest.mark.parametrize("mode", ["lines", "on"])
def test_a_fit_under_lines_prints_exactly_one_line_per_epoch(mode: str) -> None:
    stream = io.StringIO()  # not a terminal: "on" means lines too
    with progress_mode(mode, delay=0, stream=stream):
        _torch_fit(epochs=3)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    for k, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"Linear epoch {k}/3: loss \d\.\d{{4}} acc \d\.\d{{4}}  val_loss \d\.\d{{4}} "
                            rf"val_acc \d\.\d{{4}}  \(\d+\.\d s\)", line), line
    assert "\r" not in stream.getvalue()  # no bar drawing in a log


def test_the_numpy_fit_and_numpy_ann_print_one_line_per_epoch_too() -> None:
    from backproplab.scratch import NumpyANN

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    stream = io.StringIO()
    with progress_mode("lines", delay=0, stream=stream):
        np_fit(Network.from_sizes([3, 4, 2], "tanh"), X, np.arange(40) % 2, 4, 8, SGD(0.1), progress=None)
        NumpyANN(3, 4, 2, lr=0.1, seed=0).train(X, np.arange(40) % 2, epochs=2, batch_size=8)
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Network epoch 1/4", "Network epoch 2/4", "Network epoch 3/4", "Network epoch 4/4",
        "NumpyANN epoch 1/2", "NumpyANN epoch 2/2"]


def test_under_a_terminal_the_bar_shows_epoch_batch_and_loss() -> None:
    stream = FakeTerminal()
    with progress_mode("on", delay=0, stream=stream):
        _torch_fit(epochs=2, val=False)
    text = stream.getvalue()
    drawn = [part for part in text.split("\r") if "batch" in part]
    assert drawn, text
    assert re.search(r"Linear epoch [12]/2 batch \d+/30: +\d+%\|.*\| \[\d\d:\d\d<\d\d:\d\d, loss \d\.\d{4}\]",
                     text), drawn[:3]
    assert "Linear epoch 2/2: loss" in text  # outside reproduce the epoch's line stays above the bar


def test_library_calls_keep_their_default_until_a_run_sets_one(capsys) -> None:
    _torch_fit(epochs=1, progress=None)  # None: only when a run asks
    with progress_mode("off"):
        _torch_fit(epochs=1, progress=True)  # a run's "off" silences even True
    with progress_mode("lines", delay=0):
        _torch_fit(epochs=1, progress=False)  # False is never overridden
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("setting", "progress", "form"), [
    (None, True, "bar"), (None, None, "off"), (None, False, "off"),
    ("lines", True, "lines"), ("lines", None, "lines"), ("lines", False, "off"),
    ("bar", None, "bar"), ("off", True, "off"), ("on", None, "lines"),
])
def test_resolve_follows_the_table(setting: str | None, progress: bool | None, form: str) -> None:
    if setting is None:
        assert resolve(progress) == form
        return
    with progress_mode(setting, stream=io.StringIO()):
        assert resolve(progress) == form


def test_lines_wait_for_the_delay_and_a_short_loop_says_nothing() -> None:
    stream = io.StringIO()
    with progress_mode("lines", delay=3600, stream=stream), \
            LoopProgress(None, epochs=2, batches=1) as report:
        for epoch in (1, 2):
            report.start_epoch(epoch)
            report.end_epoch(0.5, 0.75, 1.0)
    assert stream.getvalue() == ""


def test_a_nested_bar_sits_below_its_parent_and_keeps_its_clock_moving() -> None:
    refreshed = []

    class Parent:
        def refresh(self) -> None:
            refreshed.append(True)

    stream = FakeTerminal()
    with progress_mode("on", delay=0, stream=stream), nested(Parent()), \
            LoopProgress(None, epochs=1, batches=4, desc="inner") as report:
        report.start_epoch(1)
        report.step(1, lambda: 0.25)
        assert report._bar.pos in (1, -1)  # tqdm stores the row (negated while drawn)
        report.end_epoch(0.25, 1.0, 0.1)
    assert refreshed
    assert "inner epoch 1/1 batch 1/4" in stream.getvalue()
    assert "inner epoch 1/1: loss" not in stream.getvalue()  # under reproduce: the bar only


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"mode": "loud"}, ["progress mode", "'loud'", "'lines'"]),
    ({"mode": "on", "delay": -1}, ["delay", ">= 0", "-1"]),
])
def test_bad_settings_are_named(kwargs, words) -> None:
    with pytest.raises(InputError) as info, progress_mode(**kwargs):
        pass
    assert all(w in str(info.value) for w in words), str(info.value)


def test_a_bad_progress_argument_is_named() -> None:
    with pytest.raises(InputError, match="progress must be True, False or None"):
        _torch_fit(epochs=1, progress="yes")


def test_the_course_train_reports_each_epoch_and_draws_its_batches() -> None:
    from backproplab.courses import jku

    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(96, 1, 28, 28, generator=gen), torch.randint(0, 10, (96,), generator=gen)
    model = jku.ANN_relu(784, 10)
    loader = jku.TensorLoader(X, y, 32)
    stream = io.StringIO()
    with progress_mode("lines", delay=0, stream=stream):
        jku.train_and_test(model, {"lr": 0.01, "momentum": 0.0, "epochs": 2}, train_loader=loader,
                           test_loader=loader, plot=False, verbose=False)
    assert [line.split(":")[0] for line in stream.getvalue().splitlines()] == ["ANN_relu epoch 1", "ANN_relu epoch 2"]
    terminal = FakeTerminal()
    with progress_mode("on", delay=0, stream=terminal):
        jku.train(model, loader, torch.optim.SGD(model.parameters(), lr=0.01), 3)
    assert re.search(r"ANN_relu epoch 3 batch [123]/3: .*loss \d\.\d{4}", terminal.getvalue()), terminal.getvalue()


def _probe_lesson(seen: list):
    """A lesson that records the progress form its loops would get and whether a bar sits above them."""
    import types

    from backproplab.lessons.result import Claim, LessonResult
    from backproplab.progress import _PARENTS

    def run(quick: bool = False, seed: int = 0, out=None) -> LessonResult:
        seen.append((resolve(None), len(_PARENTS.get()), torch.get_num_threads()))
        return LessonResult(name="probe", title="Probe", claims=[Claim.holds("ran", True)])

    module = types.ModuleType("probe_lesson", "A probe.")
    module.NAME, module.TITLE, module.ORDER, module.run = "probe", "Probe", 0, run
    return module


@pytest.mark.parametrize(("progress", "form"), [(True, "lines"), (False, "off")])
def test_reproduce_sets_the_form_for_every_lesson_and_nests_under_its_bar(tmp_path, capsys, progress, form):
    from backproplab.report.reproduce import reproduce

    seen: list = []
    reproduce(out=tmp_path / "r", lessons={"probe": _probe_lesson(seen)}, device="cpu", progress=progress, threads=2)
    capsys.readouterr()
    assert seen == [(form, 1, 2)]  # stderr is captured, not a terminal: lines; the lesson bar is the parent
    assert resolve(None) == "off"  # and nothing is left set after the run


def test_a_lesson_command_sets_lines_when_stderr_is_a_log(monkeypatch, capsys):
    from backproplab import cli
    from backproplab.lessons import registry

    seen: list = []
    probe = _probe_lesson(seen)
    monkeypatch.setattr(registry()["conv"], "run", lambda **options: probe.run(quick=options["quick"]))
    assert cli.main(["conv", "--quick"]) == 0
    assert "[PASS] ran" in capsys.readouterr().out
    assert seen == [("lines", 0, torch.get_num_threads())]  # no bar above it; --threads not given: unchanged
