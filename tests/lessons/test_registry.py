"""The lesson registry: every lesson is found, in order, under its name, and its run() takes only what
it documents."""

import importlib
import inspect

import pytest

from backproplab.cli import CLI_ONLY, build_parser, lesson_kwargs
from backproplab.lessons import get_lesson, registry

pytestmark = pytest.mark.lessons

EXPECTED = ["xor", "backprop", "gradient-descent", "activations", "conv", "digits", "vanishing", "fashion", "questions",
            "mistakes"]
# command name: module under backproplab.lessons
MODULES = {"xor": "xor", "backprop": "backprop_trace", "gradient-descent": "gradient_descent",
           "activations": "activations", "conv": "conv_arithmetic", "digits": "digits", "vanishing": "vanishing",
           "fashion": "fashion", "questions": "questions", "mistakes": "mistakes"}


def test_every_lesson_is_found_in_reproduce_order():
    assert list(registry()) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_each_lesson_module_is_registered_under_its_name(name):
    """One table for what each lesson test once checked alone (``get_lesson(name) is module``); the
    order is the test above's, so each module's ORDER number itself is not pinned."""
    module = importlib.import_module(f"backproplab.lessons.{MODULES[name]}")
    assert get_lesson(name) is module and module.NAME == name


def test_unknown_lesson_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown lesson 'xr'.*'xor'"):
        get_lesson("xr")


@pytest.mark.parametrize("name", EXPECTED)
def test_a_misspelt_keyword_is_an_error_not_silently_ignored(name):
    with pytest.raises(TypeError, match="quik"):
        get_lesson(name).run(quik=True)


@pytest.mark.parametrize("name", EXPECTED)
def test_run_follows_the_lesson_contract_and_gets_only_what_it_declares(name):
    """``run(*, quick, seed, **its own options)``: keyword-only; the CLI passes only what ``run``
    declares (``out`` only where the lesson writes files itself), and every option the lesson adds to
    its subcommand reaches ``run``."""
    args = build_parser().parse_args([name])
    run = get_lesson(name).run
    params = inspect.signature(run).parameters
    assert all(p.kind is p.KEYWORD_ONLY for p in params.values()), f"{name}: run() takes positional arguments"
    assert {"quick", "seed"} <= set(params)
    passed = lesson_kwargs(run, args)
    own = set(vars(args)) - set(CLI_ONLY) - {"quick", "seed", "out"}  # --threads is applied around run()
    assert own | {"quick", "seed"} <= set(passed) <= set(params)
    assert ("out" in passed) == ("out" in params)
