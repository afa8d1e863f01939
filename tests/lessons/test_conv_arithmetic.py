"""Convolution arithmetic: formulas property-tested against torch.nn.Conv2d, the loop conv2d
against torch.nn.functional.conv2d, and the lesson's claims and values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.cli import main
from backproplab.lessons import conv_arithmetic as ca

pytestmark = pytest.mark.lessons


@pytest.fixture(scope="module")
def result(quick_runs):
    return quick_runs.get(ca, quick=True)  # one run per session (tests/conftest.py)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 24), kernel=st.integers(1, 7), padding=st.integers(0, 3), stride=st.integers(1, 4),
       dilation=st.integers(1, 3))
def test_output_size_matches_conv2d(n, kernel, padding, stride, dilation):
    layer = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation, bias=False)
    if dilation * (kernel - 1) + 1 > n + 2 * padding:
        with pytest.raises(ValueError, match="larger than the padded input"):
            ca.conv_output_size(n, kernel, padding, stride, dilation)
        with pytest.raises(RuntimeError):
            layer(torch.zeros(1, 1, n, n))
        return
    with torch.no_grad():
        expected = layer(torch.zeros(1, 1, n, n)).shape[-1]
    assert ca.conv_output_size(n, kernel, padding, stride, dilation) == expected


@settings(max_examples=40, deadline=None)
@given(cin=st.integers(1, 16), cout=st.integers(1, 16), kh=st.integers(1, 5), kw=st.integers(1, 5),
       bias=st.booleans())
def test_params_match_conv2d(cin, cout, kh, kw, bias):
    layer = torch.nn.Conv2d(cin, cout, (kh, kw), bias=bias)
    expected = sum(p.numel() for p in layer.parameters())
    assert ca.conv_params(cin, cout, (kh, kw), bias) == expected
    if kh == kw:
        assert ca.conv_params(cin, cout, kh, bias) == expected


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 2), cin=st.integers(1, 3), cout=st.integers(1, 3), h=st.integers(3, 8),
       w=st.integers(3, 8), kh=st.integers(1, 3), kw=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 2), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_loop_conv2d_equals_torch(n, cin, cout, h, w, kh, kw, stride, padding, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, h, w))
    k = rng.standard_normal((cout, cin, kh, kw))
    b = rng.standard_normal(cout) if bias else None
    ours = ca.conv2d(x, k, b, stride=stride, padding=padding)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(k),
                                     None if b is None else torch.from_numpy(b), stride=stride, padding=padding)
    torch.testing.assert_close(torch.from_numpy(ours), ref, rtol=1e-12, atol=1e-12)


def test_conv2d_by_hand_on_a_tiny_example():
    x = np.arange(16.0).reshape(1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # x[i, j] - x[i+1, j+1]: always -5 here
    np.testing.assert_array_equal(ca.conv2d(x, w, np.array([0.5])), np.full((1, 3, 3), -4.5))
    # stride 2 and padding 1: corners see one pixel each
    out = ca.conv2d(x, w, stride=2, padding=1)
    assert out.shape == (1, 3, 3)
    assert out[0, 0, 0] == -x[0, 0, 0] and out[0, 2, 2] == x[0, 3, 3]


def test_conv2d_keeps_float32():
    x = np.ones((1, 1, 3, 3), np.float32)
    assert ca.conv2d(x, np.ones((1, 1, 2, 2), np.float32)).dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda: ca.conv_output_size(3, 5), "kernel 5 is larger than the padded input"),
    (lambda: ca.conv_output_size(5, 3, dilation=3), "dilation 3"),
    (lambda: ca.conv_output_size(0, 3), "n must be an integer >= 1"),
    (lambda: ca.conv_output_size(8, 3, stride=0), "stride"),
    (lambda: ca.conv_output_size(8, 3, padding=-1), "padding"),
    (lambda: ca.conv_output_size(8.5, 3), "n must be an integer"),
    (lambda: ca.conv_params(0, 4, 3), "in_channels"),
    (lambda: ca.conv_params(1, 4, (3, 3, 3)), "kernel"),
    (lambda: ca.conv_params(1, 4, 3, bias="yes"), "bias"),
    (lambda: ca.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((1, 3, 3, 3))), "input channel"),
    (lambda: ca.conv2d(np.zeros((5, 5)), np.zeros((1, 1, 3, 3))), "x must have shape"),
    (lambda: ca.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), b=np.zeros(2)), "b must have shape"),
    (lambda: ca.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))), "kernel 3 is larger"),
])
def test_bad_input_names_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_course_questions_and_values(result):
    rows = result.tables["course_questions"]
    assert len(rows) == len(ca.COURSE_QUESTIONS) and all(r["agree"] for r in rows)
    answers = [r["formula"] for r in rows]
    assert answers == [26, 28, 28, 16, 3, 55, 14, 3, 3, 10, 320, 1792, 456, 73856, 512]
    # one claim per question, holding the formula's value
    for (question, _, _, answer) in ca.COURSE_QUESTIONS:
        claim = result.claim(question)
        assert claim.passed and claim.value == answer


def test_shape_walk_of_pytorchcnn(result):
    walk = result.tables["pytorchcnn_shape_walk"]
    convs = [r for r in walk if r["type"] == "Conv2d"]
    pools = [r for r in walk if r["type"] == "MaxPool2d"]
    assert [r["output_shape"] for r in convs] == [[1, 32, 28, 28], [1, 64, 14, 14], [1, 128, 7, 7],
                                                  [1, 256, 3, 3]]
    assert [r["output_shape"][-1] for r in pools] == [14, 7, 3, 1]
    # by hand: 4 convs 9*c_in*c_out + c_out, 4 BatchNorms 2*c, Linear 256*128+128, Linear 128*10+10
    by_hand = (9 * 1 * 32 + 32) + (9 * 32 * 64 + 64) + (9 * 64 * 128 + 128) + (9 * 128 * 256 + 256) \
        + 2 * (32 + 64 + 128 + 256) + (256 * 128 + 128) + (128 * 10 + 10)
    assert sum(r["params"] for r in walk) == by_hand == 422986
    assert walk[-1]["output_shape"] == [1, 10]
    assert "total" in result.text["print_shape_walk"]


def test_own_question_becomes_claims():
    res = ca.run(quick=True, size=32, kernel=5, padding=2, stride=2, in_channels=3, out_channels=16)
    res.close_figures()
    assert res.passed
    own = [c for c in res.claims if c.name.startswith("your layer")]
    assert [c.value for c in own] == [16.0, 16.0 * 3 * 25 + 16]
    assert res.claims[:2] == own  # answered first, not under the lesson's twenty claims


def test_cli_kernel_too_large_exits_2_with_one_line(capsys):
    assert main(["conv", "--size", "3", "--kernel", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "kernel 5 is larger than the padded input" in err and "Traceback" not in err


def test_parameter_question_alone():
    res = ca.run(quick=True, kernel=3, in_channels=3, out_channels=4)
    res.close_figures()
    assert [c.value for c in res.claims if c.name.startswith("your layer")] == [112.0]


@pytest.mark.parametrize("argv, message", [
    (["--size", "28"], "kernel must be given"),
    (["--kernel", "3"], "kernel needs size"),
    (["--kernel", "3", "--in-channels", "3"], "in_channels and out_channels must be given together"),
    (["--size", "28", "--kernel", "3", "--stride", "0"], "stride must be an integer >= 1, got 0"),
])
def test_cli_bad_questions_exit_2(argv, message, capsys):
    assert main(["conv", "--quick", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_bad_seed():
    with pytest.raises(ValueError, match="seed must be an integer"):
        ca.run(quick=True, seed=1.5)


def test_formulas_show_the_numbers():
    assert ca.output_size_formula(10, 6, padding=2, stride=2) == "⌊(10 + 2·2 − 6)/2⌋ + 1 = 5"
    assert ca.output_size_formula(7, 3, dilation=2) == "⌊(7 + 2·0 − (2·(3 − 1) + 1))/1⌋ + 1 = 3"
    assert ca.params_formula(3, 1, 3) == "1·(3·3·3 + 1) = 28"
    assert ca.params_formula(3, 1, 3, bias=False) == "1·3·3·3 = 27"
    assert ca.params_formula(4, 3, (3, 3)) == "3·(4·3·3 + 1) = 111"


def test_every_course_answer_carries_its_formula(result):
    for row in result.tables["course_questions"]:
        assert row["worked"].endswith(f"= {row['formula']}")
        assert row["worked"] in result.claim(row["question"]).evidence


def test_height_by_width_in_one_run():
    """A4 Q3.1(b): a 10×12 (height × width) input, 6×6 filter, padding 2, stride 2 -> 5×6."""
    res = ca.run(quick=True, size=(10, 12), kernel=6, padding=2, stride=2)
    res.close_figures()
    (own,) = [c for c in res.claims if c.name.startswith("your layer")]
    assert own.passed and own.value == "5×6"
    assert "height: ⌊(10 + 2·2 − 6)/2⌋ + 1 = 5" in own.evidence and "width: ⌊(12 + 2·2 − 6)/2⌋ + 1 = 6" in own.evidence
    assert res.params["size"] == [10, 12]


def test_cli_size_takes_one_or_two_numbers(capsys):
    assert main(["conv", "--quick", "--size", "10", "12", "--kernel", "6", "--padding", "2", "--stride", "2"]) == 0
    out = capsys.readouterr().out
    assert "10×12 input (height × width)" in out and ": 5×6 (bound = torch's 5×6)" in out
    assert main(["conv", "--quick", "--size", "32", "--kernel", "5", "--padding", "2", "--stride", "2"]) == 0
    assert "⌊(32 + 2·2 − 5)/2⌋ + 1 = 16" in capsys.readouterr().out
    assert main(["conv", "--size", "1", "2", "3", "--kernel", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "size must be one number N (square) or two numbers H W" in err


def test_height_by_width_is_held_to_the_same_cost_bound(capsys):
    assert main(["conv", "--quick", "--size", "3000", "2000", "--kernel", "3"]) == 2
    err = capsys.readouterr().err
    assert "size: H=3000, W=2000" in err and f"(H + 2*padding)*(W + 2*padding) <= {ca.MAX_OWN_ELEMENTS}" in err


def test_a_real_networks_wide_layer_is_counted(capsys):
    """3x3, 512 -> 1024 channels (a ResNet-sized layer) was refused at 4,194,304 parameters; torch now
    counts it on the meta device: 512·1024·9 + 1024."""
    assert main(["conv", "--quick", "--kernel", "3", "--in-channels", "512", "--out-channels", "1024"]) == 0
    assert f"{512 * 1024 * 9 + 1024}" in capsys.readouterr().out.replace(",", "")


def _unread_by_torch(n, kernel, padding, stride, dilation):
    """Input positions whose gradient is zero for every weight = 1: the positions no tap reads."""
    x = torch.ones(1, 1, 1, n, dtype=torch.float64, requires_grad=True)
    conv = torch.nn.Conv2d(1, 1, (1, kernel), stride=(1, stride), padding=(0, padding), dilation=(1, dilation),
                           bias=False).double()
    torch.nn.init.ones_(conv.weight)
    conv(x).sum().backward()
    return [i for i in range(n) if x.grad[0, 0, 0, i] == 0]


@pytest.mark.parametrize("n, kernel, padding, stride, dilation, unread", [
    (8, 3, 0, 2, 1, [7]),            # (8 − 3)/2 = 2.5: the floor drops the last position
    (7, 3, 0, 2, 1, []),             # (7 − 3)/2 = 2: every position read
    (10, 2, 0, 3, 2, [1, 4, 7, 9]),  # taps +0, +2 from starts 0, 3, 6: gaps inside, and the end
    (28, 2, 0, 2, 1, []),
    (7, 2, 0, 2, 1, [6]),            # the 7×7 max-pool: the last row and column dropped
])
def test_unread_input_positions_match_torch(n, kernel, padding, stride, dilation, unread):
    assert _unread_by_torch(n, kernel, padding, stride, dilation) == unread
    note = ca.coverage_note(n, kernel, padding, stride, dilation)
    if unread:
        assert f"{len(unread)} of the {n} input positions" in note and str(unread[-1]) in note
    else:
        assert "never read" not in note


def test_windows_of_padding_only_are_named():
    # n = 5, kernel 3, padding 3: 9 outputs; windows start at padded 0..8, the input is padded 3..7:
    # windows starting at 0 (reads 0..2) and at 8 (reads 8..10) see only zeros: their output is the bias.
    assert ca.conv_output_size(5, 3, padding=3) == 9
    note = ca.coverage_note(5, 3, padding=3)
    assert "2 of the 9 output positions see only zero padding" in note
    assert ca.coverage_note(5, 3, padding=1) == ""


def test_own_layer_that_drops_input_says_so():
    res = ca.run(quick=True, size=8, kernel=3, stride=2)
    res.close_figures()
    (own,) = [c for c in res.claims if c.name.startswith("your layer")]
    assert own.passed and own.value == 3
    assert "1 of the 8 input positions (0-based: 7) are never read" in own.evidence


def test_a_stride_larger_than_the_kernel_skips_inputs_between_windows():
    # n = 10, kernel 2, stride 3: windows read 0-1, 3-4, 6-7; 2 and 5 fall between windows and 8, 9
    # after the last one (the floor drops (10 − 2) mod 3 = 2 positions).
    assert _unread_by_torch(10, 2, 0, 3, 1) == [2, 5, 8, 9]
    note = ca.coverage_note(10, 2, stride=3)
    assert "4 of the 10 input positions (0-based: 2, 5, 8, 9)" in note
    assert "2, 5 fall between windows" in note and "8, 9 after the last window" in note


def test_a_dilated_kernel_can_miss_the_input_altogether():
    # n = 1, kernel 2, dilation 3 (span 4), padding 2: taps at −2, 1 and −1, 2; none is position 0.
    assert _unread_by_torch(1, 2, 2, 1, 3) == [0]
    assert "all 2 outputs are just the bias" in ca.coverage_note(1, 2, padding=2, dilation=3)


def test_a_last_window_in_the_padding_drops_nothing_after_it():
    # n = 5, kernel 1, padding 1, stride 3: the padded input is 7 wide, windows at padded 0, 3, 6, that is at
    # input −1, 2 and 5 (the right padding). (7 − 1) mod 3 = 0: the floor drops nothing; 0, 1 and 3, 4 lie
    # between windows. The note said "3, 4 after the last window ... mod stride = 0 at the end, which the floor
    # drops": it took the last tap *inside the input* (2) for the last window.
    assert _unread_by_torch(5, 1, 1, 3, 1) == [0, 1, 3, 4]
    note = ca.coverage_note(5, 1, padding=1, stride=3)
    assert "0, 1, 3, 4 fall between windows" in note
    assert "after the last window" not in note and "floor drops" not in note
    # a dilated kernel whose last tap lands in the padding: taps at −2, 1 and 2, 5; 3 is between 2 and 5
    assert _unread_by_torch(4, 2, 2, 4, 3) == [0, 3]
    note = ca.coverage_note(4, 2, padding=2, stride=4, dilation=3)
    assert "0, 3 fall between windows" in note and "after the last window" not in note


def test_after_the_last_window_only_when_the_floor_drops_input():
    """Input positions lie past the last window exactly when the floor's remainder exceeds the right padding."""
    for n, kernel, padding, stride, dilation in itertools.product(range(1, 10), (1, 2, 3), (0, 1, 2), (1, 2, 3, 4),
                                                                  (1, 2, 3)):
        if dilation * (kernel - 1) + 1 > n + 2 * padding:
            continue
        note = ca.coverage_note(n, kernel, padding, stride, dilation)
        rest = (n + 2 * padding - (dilation * (kernel - 1) + 1)) % stride
        if not note.startswith("no tap"):
            assert ("after the last window" in note) == (rest > padding), (n, kernel, padding, stride, dilation)


def test_a_count_just_over_its_bound_does_not_read_as_the_bound(capsys):
    # Conv2d(1, 1, 1048576) holds 2^40 + 1 parameters, one over MAX_OWN_PARAMS = 2^40; both printed as
    # "1.1e+12": "would hold 1.1e+12 parameters ...; expected at most 1.1e+12".
    assert main(["conv", "--quick", "--in-channels", "1", "--out-channels", "1", "--kernel", str(2**20)]) == 2
    err = capsys.readouterr().err
    assert "would hold 1,099,511,627,777 parameters" in err and "expected at most 1,099,511,627,776" in err
    # (n + 2*padding)^2 = 2049^2 = 4,198,401 values against 4,194,304
    assert main(["conv", "--quick", "--size", "2047", "--kernel", "1", "--padding", "1"]) == 2
    assert "makes an input of 4,198,401 values" in capsys.readouterr().err
