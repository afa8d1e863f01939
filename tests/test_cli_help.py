"""Every subcommand's --help reads as terminal text: no reST markup, bullets on their own lines."""

import pytest

from backproplab.cli import build_parser, plain_help
from backproplab.lessons import registry

pytestmark = pytest.mark.cli


@pytest.mark.parametrize("name", list(registry()))
def test_lesson_help_has_no_rest_markup(name, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([name, "--help"])
    out = capsys.readouterr().out
    assert "``" not in out and ":mod:`" not in out and ":func:`" not in out, out


def test_bullets_stay_on_their_own_lines_and_roles_lose_their_markup():
    doc = """Title.

    Some text with ``code`` and :mod:`backproplab.scratch`:

    * first item
      wrapped on two lines;
    * second item.

        indented example stays
        line for line
    """
    text = plain_help(doc)
    assert text.splitlines() == [
        "Title.", "", "Some text with code and backproplab.scratch:", "",
        "  • first item wrapped on two lines;", "  • second item.", "",
        "    indented example stays", "    line for line"]


def test_an_unknown_option_points_to_the_subcommands_help(capsys):
    from backproplab.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["xor", "--epochs", "3"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --epochs 3" in err and "'backproplab xor --help'" in err, err


def test_ctrl_c_while_the_lessons_load_is_one_line(monkeypatch, capsys):
    """Building the parser imports every lesson (seconds): a Ctrl-C then is 'interrupted', not a traceback."""
    import backproplab.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["conv", "--size", "28"]) == 130
    assert capsys.readouterr().err == "backproplab: interrupted\n"


def test_building_the_parser_loads_no_heavy_library():
    """``backproplab --help`` (and every command's start) imports every lesson to list it: a lesson that
    loads torch at import makes each start cost seconds (it did: fashion took the course's targets from
    courses.purdue, which loads torch)."""
    import subprocess
    import sys

    code = ("import sys; from backproplab.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'sklearn', 'scipy', 'matplotlib.pyplot') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_a_missing_command_is_a_usage_error_listing_the_commands(capsys):
    """A bare 'backproplab' printed the whole help on stdout with status 0; a missing command is a usage
    error: the short usage and every command on stderr, status 2. 'backproplab --help' stays 0 on stdout."""
    from backproplab.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("usage: backproplab ") and lines[1] == "backproplab: error: missing COMMAND, one of:"
    listed = [line.split()[0] for line in lines[2:-1]]
    assert listed == ["data", "reproduce", "bench", "check", *registry()]
    assert "  backprop          Backpropagation traced by hand" in captured.err
    assert lines[-1].startswith("(see 'backproplab COMMAND --help'")
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.startswith("usage: backproplab ") and "gradient-descent" in captured.out


def test_a_value_that_starts_with_a_minus_is_a_value_when_it_cannot_be_an_option():
    """`--expr "-x^2"` and `--start -1e-3 2` were 'expected one argument' / 'expected 2 arguments':
    argparse takes a word starting with '-' for an option unless it reads like -1 or -.5."""
    args = build_parser().parse_args(["gradient-descent", "--expr", "-x^2", "--start", "-1e-3", "-inf",
                                      "--eta", "-2E+1"])
    assert (args.expr, args.start, args.eta) == ("-x^2", [-0.001, float("-inf")], -20.0)


@pytest.mark.parametrize("argv, words", [
    (["xor", "-q"], "backproplab xor: error: unrecognized arguments: -q"),  # could be an option: still refused
    (["gradient-descent", "--expr", "-x"], "backproplab gradient-descent: error: argument --expr: expected one "
                                           "argument; a value that starts with '-' is written --expr=-..."),
])
def test_a_word_that_could_be_an_option_is_still_one(argv, words, capsys):
    from backproplab.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(words) and len(err.splitlines()) == 1, err


def test_a_paragraph_after_an_indented_example_keeps_its_blank_line():
    """`xor --help` ran the example's last line into the next paragraph: '... w2 = [1, -2]' then
    'reproduces XOR exactly' on the very next line."""
    text = plain_help("Intro:\n\n    h = relu(W1 x + b)\n\nreproduces XOR exactly.\n")
    assert text.splitlines() == ["Intro:", "", "    h = relu(W1 x + b)", "", "reproduces XOR exactly."]


def test_numbered_items_stay_on_their_own_lines():
    """`mistakes --help` ran its eight numbered mistakes into one paragraph ('... (Radboud 1.1g,h); 2.' then
    'the variance ...' on the next line)."""
    text = plain_help("The mistakes:\n\n1. a compounding decay;\n2. the variance 2/d1 where He needs the std;\n")
    assert text.splitlines() == ["The mistakes:", "", "  1. a compounding decay;",
                                 "  2. the variance 2/d1 where He needs the std;"]


@pytest.mark.parametrize("name", list(registry()))
def test_out_help_names_text_only_for_a_lesson_that_writes_its_own(name, capsys):
    import inspect
    with pytest.raises(SystemExit):
        build_parser().parse_args([name, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    writes_text = "out" in inspect.signature(registry()[name].run).parameters
    expected = "figures and text" if writes_text else "figures (default: do not write)"
    assert f"--out OUT directory for {expected}" in out
