"""The lesson registry: every lesson is found, in order, and its run() takes only what it documents."""

import inspect

import pytest

from backproplab.cli import CLI_ONLY, build_parser
from backproplab.lessons import get_lesson, registry

pytestmark = pytest.mark.lessons

EXPECTED = ["xor", "backprop", "gradient-descent", "activations", "conv", "digits", "vanishing", "fashion", "questions",
            "mistakes"]


def test_every_lesson_is_found_in_reproduce_order():
    assert list(registry()) == EXPECTED


def test_unknown_lesson_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown lesson 'xr'.*'xor'"):
        get_lesson("xr")


@pytest.mark.parametrize("name", EXPECTED)
def test_a_misspelt_keyword_is_an_error_not_silently_ignored(name):
    with pytest.raises(TypeError, match="quik"):
        get_lesson(name).run(quik=True)


@pytest.mark.parametrize("name", EXPECTED)
def test_run_accepts_every_option_its_cli_subcommand_passes(name):
    parser = build_parser()
    args = vars(parser.parse_args([name]))
    params = inspect.signature(get_lesson(name).run).parameters
    passed = set(args) - set(CLI_ONLY)  # --threads is applied by the CLI around run()
    assert passed <= set(params), f"{name}: the CLI passes {sorted(passed - set(params))} that run() does not take"
