"""A lesson's --out: a file it cannot write is one line naming --out, after the claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from backproplab.cli import main


def test_a_folder_where_a_figure_goes_is_one_line_naming_out(tmp_path: Path, capsys) -> None:
    """It was 'backproplab: error: out/conv_by_hand.png: Is a directory', naming no option."""
    out = tmp_path / "out"
    (out / "conv_by_hand.png").mkdir(parents=True)
    (out / "conv_by_hand.png" / "mine.txt").write_text("kept")
    assert main(["conv", "--quick", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "[PASS]" in captured.out
    assert captured.err.startswith(f"backproplab: error: out: could not write '{out / 'conv_by_hand.png'}' "
                                   "(Is a directory); the claims above hold")
    assert len(captured.err.strip().splitlines()) == 1
    assert (out / "conv_by_hand.png" / "mine.txt").read_text() == "kept"



def test_a_reader_that_leaves_is_not_an_error(monkeypatch, capfd):
    """`backproplab check ... | head -1` printed "backproplab: error: a file: Broken pipe": the reader left,
    which a command line tool takes in silence (status 141, as for SIGPIPE), the rest of its output
    going nowhere."""
    import os
    import sys

    from backproplab import cli

    def printing_to_a_closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    saved = os.dup(sys.stdout.fileno())
    monkeypatch.setitem(cli._COMMANDS, "data", printing_to_a_closed_pipe)
    try:
        assert cli.main(["data"]) == 141
        assert capfd.readouterr().err == ""
    finally:
        os.dup2(saved, sys.stdout.fileno())
        os.close(saved)


def test_ctrl_c_while_the_figures_are_saved_leaves_the_earlier_outputs_whole(tmp_path: Path, monkeypatch,
                                                                             capsys) -> None:
    """gradient-descent writes its page and CSV in run(), the CLI its figures after: a Ctrl-C between
    left this run's page beside the earlier run's figures and CSV. Now every file is replaced at the end
    or none is."""
    from backproplab.lessons.result import LessonResult

    out = tmp_path / "out"
    out.mkdir()
    earlier = {n: f"earlier {n}" for n in ("gradient_descent.md", "gradient_descent_path.csv",
                                           "gd_contour_paths.png", "gd_values.png", "mine.txt")}
    for name, text in earlier.items():
        (out / name).write_text(text)
    real_save = LessonResult.save_figures

    def save_one_then_ctrl_c(self, where, **kw):
        self.figures = dict(list(self.figures.items())[:1])
        real_save(self, where, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(LessonResult, "save_figures", save_one_then_ctrl_c)
    assert main(["gradient-descent", "--quick", "--expr", "x^2 + 2*y^2", "--out", str(out)]) == 130
    assert {p.name: p.read_bytes().decode("latin-1") for p in out.iterdir()} == earlier  # none replaced, no .part
    monkeypatch.setattr(LessonResult, "save_figures", real_save)
    assert main(["gradient-descent", "--quick", "--expr", "x^2 + 2*y^2", "--out", str(out)]) == 0
    wrote = [line for line in capsys.readouterr().out.splitlines() if line.startswith("wrote ")]
    assert sorted(wrote) == sorted(f"wrote {out / n}" for n in earlier if n != "mine.txt")  # the page and CSV too
    assert (out / "mine.txt").read_text() == "earlier mine.txt"
    assert "{x}^{2} + 2 \\cdot {y}^{2}" in (out / "gradient_descent.md").read_text()


@pytest.mark.parametrize("argv", [["conv", "--out", ""], ["reproduce", "--quick", "--out", ""], ["data", "--root", ""]])
def test_an_empty_folder_path_is_refused_not_read_as_the_current_folder(argv, tmp_path, monkeypatch, capsys):
    """`conv --out ""` (say `--out "$FIGS"` with FIGS unset) wrote its figures into the current folder."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    assert f"error: argument {argv[-2]}: expected a folder path, got ''" in err and len(err.splitlines()) == 1
