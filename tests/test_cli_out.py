"""A lesson's --out: a file it cannot write is one line naming --out, after the claims."""

from __future__ import annotations

from pathlib import Path

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
