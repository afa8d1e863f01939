"""The backprop tracer: the course's ∂L/∂w32 by hand, every bundled example against autograd,
file validation with errors naming the field, and the CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
import yaml

from backproplab.cli import main
from backproplab.lessons import backprop_trace as bp

pytestmark = pytest.mark.lessons


@pytest.fixture(scope="module")
def result(quick_runs):
    return quick_runs.get(bp, quick=True)  # one run per session (tests/conftest.py)


def course_dict() -> dict:
    return yaml.safe_load(bp.examples()["course"].read_text(encoding="utf-8"))


def test_bundled_examples():
    names = set(bp.examples())
    assert {"course", "sigmoid-bce", "tanh-two-hidden"} <= names
    assert any(p.suffix == ".json" for p in bp.examples().values())
    assert any(p.suffix == ".yaml" for p in bp.examples().values())


def test_quick_run_checks_every_bundled_example_against_autograd(result):
    others = set(bp.examples()) - {bp.DEFAULT_EXAMPLE}
    assert others
    for name in others:
        claim = result.claim(f"example {name!r}: every s, a, L, δ, ∂L/∂w, ∂L/∂b equals torch (max abs difference)")
        assert claim.passed, claim
        assert any(c.name.startswith(f"example {name!r}: asked ") for c in result.claims), name


def test_course_dL_dw32_by_hand(result):
    """Global numbering, as the course: inputs 1, 2; hidden 3, 4, 5; output 6; w32 from unit 2 into 3."""
    claim = result.claim("asked ∂L/∂w₃₂ equals the expected answer")
    assert claim.passed and claim.value == pytest.approx(-0.147, abs=1e-12)
    # by hand: s = W1 x + b1, ReLU, yhat = w2 . a + b2, L = (y - yhat)^2 / 2
    x = np.array([2.0, -1.0])
    W1 = np.array([[0.5, -0.4], [-0.3, 0.8], [0.2, 0.6]])
    b1 = np.array([0.1, -0.2, 0.5])
    w2, b2 = np.array([0.7, -0.5, 1.2]), -0.2
    s = W1 @ x + b1
    a = np.maximum(s, 0)
    yhat = w2 @ a + b2
    delta_6 = yhat - 1.0
    delta_3 = (s[0] > 0) * w2[0] * delta_6  # unit 3 is the first hidden unit; w63 = w2[0]
    assert delta_3 * x[1] == pytest.approx(claim.value, abs=1e-15)
    text = result.text["print_trace"]
    assert "s₃ = w₃₁·x₁ + w₃₂·x₂ + b₃ = 0.5·2 + (−0.4)·(−1) + 0.1 = 1.5" in text
    assert "δ₃ = (w₆₃·δ₆)·[s₃ > 0] = (0.7·0.21)·1 = 0.147" in text
    assert "∂L/∂w₃₂ = δ₃·x₂ = 0.147·(−1) = −0.147" in text
    assert "Asked: ∂L/∂w₃₂ = −0.147" in text
    assert "units input 1–2, hidden 3–5, output 6; w_ij is the weight from unit j into unit i" in text


def test_layer_notation_names_the_same_numbers_per_layer():
    res = bp.run(notation="layer")
    try:
        assert res.passed and res.params["notation"] == "layer"
        text = res.text["print_trace"]
        # the asked weight (global w32) is the first hidden unit's weight from input 2: w(1)12
        assert res.claim("asked ∂L/∂w⁽¹⁾₁₂ equals the expected answer").value == pytest.approx(-0.147, abs=1e-12)
        # and the per-layer w(1)32 (into the third hidden unit, global w52) is the old -0.252
        assert "∂L/∂w⁽¹⁾₃₂ = δ⁽¹⁾₃·x₂ = 0.252·(−1) = −0.252" in text
        assert "L = ½(y₁ − ŷ₁)² = ½(1 − 1.21)² = 0.02205" in text
        assert r"\frac{\partial L}{\partial w^{(1)}_{32}} = \delta^{(1)}_{3} x_{2} = 0.252 \cdot (-1) = -0.252" \
            in res.text["backprop_trace"]
    finally:
        res.close_figures()
    tr_global, tr_layer = bp.trace(bp.load_example("course")), bp.trace(bp.load_example("course"), "layer")
    assert [st.value for st in tr_global.steps] == [st.value for st in tr_layer.steps]
    assert [st.index for st in tr_global.steps] == [st.index for st in tr_layer.steps]
    with pytest.raises(ValueError, match="notation: expected one of global, layer"):
        bp.run(notation="jku")


@pytest.mark.parametrize(("ask", "symbol", "value"), [
    ({"to": 3, "from": 2}, "∂L/∂w₃₂", -0.147),
    ({"layer": 1, "to": 1, "from": 2}, "∂L/∂w₃₂", -0.147),  # the same weight numbered within layer 1
    ({"to": 5, "from": 2}, "∂L/∂w₅₂", -0.252),
    ({"to": 6, "from": 3}, "∂L/∂w₆₃", 0.315),
    ({"to": 6, "bias": True}, "∂L/∂b₆", 0.21),
])
def test_asks_in_global_and_layer_numbering(ask, symbol, value):
    data = course_dict()
    data["ask"] = [ask | {"expected": value, "tolerance": 1e-12}]
    res_claims = bp._claims_for(bp.trace(bp.network_from_dict(data)), {}, "", fd=False)
    (claim,) = res_claims
    assert claim.name == f"asked {symbol} equals the expected answer" and claim.passed, claim


@pytest.mark.parametrize(("ask", "words"), [
    ({"to": 2, "from": 1}, ["ask[0].to", "from 3 to 6", "a unit above the inputs", "got 2"]),
    ({"to": 7, "from": 1}, ["ask[0].to", "from 3 to 6", "got 7"]),
    ({"to": 6, "from": 1}, ["ask[0].from", "from 3 to 5", "the layer below unit 6", "got 1"]),
    ({"to": 3, "from": 4}, ["ask[0].from", "from 1 to 2", "the layer below unit 3", "got 4"]),
    ({"from": 4}, ["ask[0]", "needs to"]),
])
def test_bad_global_asks_name_the_unit_range(ask, words):
    data = course_dict()
    data["ask"] = [ask]
    with pytest.raises(ValueError) as info:
        bp.network_from_dict(data, source="net.yaml")
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_trace_arrays_equal_autograd_for_every_example():
    for name, path in bp.examples().items():
        tr = bp.trace(bp.load_network(path))
        ref = bp.torch_reference(tr.network)
        for key in ("s", "a", "delta", "grad_w", "grad_b"):
            for ours, theirs in zip(getattr(tr, key), ref[key], strict=True):
                torch.testing.assert_close(torch.from_numpy(ours), torch.from_numpy(theirs),
                                           rtol=1e-12, atol=1e-14, msg=f"{name}: {key}")
        assert tr.loss == pytest.approx(ref["loss"], rel=1e-13)
        fd = bp.finite_difference_weights(tr.network)
        for ours, num in zip(tr.grad_w, fd, strict=True):
            np.testing.assert_allclose(ours, num, atol=1e-7, err_msg=name)


def test_every_quantity_is_printed_with_numbers(result):
    text = result.text["print_trace"]
    net = bp.load_example("course")
    n_weights = sum(layer.W.size for layer in net.layers)
    n_units = sum(layer.units for layer in net.layers)
    lines = [line.strip() for line in text.splitlines()]
    assert sum(re.match("s[₀-₉]+ = ", line) is not None for line in lines) == n_units
    assert sum(re.match("δ[₀-₉]+ = ", line) is not None for line in lines) == n_units
    assert sum(line.startswith("∂L/∂w") for line in lines) == n_weights
    assert sum(line.startswith("∂L/∂b") for line in lines) == n_units
    assert "L = ½(y₆ − a₆)² = ½(1 − 1.21)² = 0.02205" in text
    assert "[torch" in text
    # the Markdown carries the same steps in LaTeX
    md = result.text["backprop_trace"]
    assert md.count("$$") >= 2 * (2 * n_units + n_units + n_weights + n_units)
    assert r"\frac{\partial L}{\partial w_{32}} = \delta_{3} x_{2} = 0.147 \cdot (-1) = -0.147" in md


def test_sigmoid_bce_output_delta_is_yhat_minus_y():
    tr = bp.trace(bp.load_example("sigmoid-bce"))
    yhat = tr.a[-1][0]
    assert tr.delta[-1][0] == pytest.approx(yhat - 1.0, abs=1e-15)


def test_writes_markdown_to_out(tmp_path):
    res = bp.run(quick=True, out=tmp_path, example="tanh-two-hidden")
    try:
        assert res.passed
        md = (tmp_path / "backprop_trace.md").read_text(encoding="utf-8")
        assert md.startswith("## Backpropagation trace: `tanh-two-hidden`")
        assert r"\tanh" in md
    finally:
        res.close_figures()


def test_user_file_yaml_and_json(tmp_path):
    data = course_dict()
    data["ask"] = [{"to": 3, "from": 2, "expected": -0.147}]
    (tmp_path / "net.json").write_text(json.dumps(data))
    data["loss"] = "squared_error"
    data["ask"] = [{"to": 3, "from": 2, "expected": -0.294}]  # twice the half loss
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    for name in ("net.json", "net.yaml"):
        res = bp.run(network=tmp_path / name)
        try:
            failed = [str(c) for c in res.claims if not c.passed]
            assert not failed, (name, failed)
        finally:
            res.close_figures()


def _broken(**changes) -> dict:
    data = course_dict()
    for dotted, value in changes.items():
        target = data
        keys = dotted.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        if value is KeyError:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize("data, words", [
    ([1, 2], ["expected a mapping"]),
    (_broken(input=KeyError), ["missing required key 'input'"]),
    (_broken(lyers=[]), ["unknown key(s) lyers"]),
    (_broken(loss="hinge"), ["loss", "half_squared_error", "'hinge'"]),
    (_broken(input=[1.0, "two"]), ["input[1]", "expected a number", "'two'"]),
    (_broken(input=[1.0, "1e-3"]), ["input[1]", "'1e-3'", "a number in quotes is text"]),
    (_broken(input=[1.0, True]), ["input[1]", "expected a number"]),
    (_broken(input=[1.0, float("nan")]), ["input[1]", "finite"]),
    (_broken(layers=[]), ["layers", "non-empty"]),
    (_broken(layers__0__activation="softplus"), ["layers[0].activation", "relu", "'softplus'"]),
    (_broken(layers__0__weights=[[0.5, -0.4, 1.0], [0.1, 0.2, 0.3], [0.2, 0.6, 0.0]]),
     ["layers[0].weights[0]", "expected 2 numbers", "got 3"]),
    (_broken(layers__1__weights=[[0.7, -0.5]]), ["layers[1].weights[0]", "expected 3 numbers"]),
    (_broken(layers__0__biases=[0.1]), ["layers[0].biases", "expected 3 numbers, got 1"]),
    (_broken(layers__0__units=4), ["layers[0]", "units is 4", "3 rows"]),
    (_broken(layers__0__weight=[[1.0]]), ["layers[0]", "unknown key(s) weight"]),
    (_broken(layers__1__biases=KeyError), ["layers[1]", "missing required key 'biases'"]),
    (_broken(target=[1.0, 0.0]), ["target", "expected 1 numbers, got 2"]),
    (_broken(loss="bce"), ["bce needs a sigmoid output"]),
    (_broken(ask={"layer": 3, "to": 1, "from": 1}), ["ask[0].layer", "from 1 to 2", "got 3"]),
    (_broken(ask={"layer": 1, "to": 4, "from": 1}), ["ask[0].to", "from 1 to 3"]),
    (_broken(ask={"layer": 1, "to": 1}), ["ask[0]", "either from", "bias: true"]),
    (_broken(ask={"layer": 1, "to": 1, "from": 1, "bias": True}), ["ask[0]", "not both"]),
    (_broken(ask=[{"layer": 1, "to": 1, "from": 1, "expected": "x"}]), ["ask[0].expected"]),
    (_broken(layers=[{"activation": "relu", "weights": [[1.0, 1.0]], "biases": [0.0]}] * 9),
     ["at most 8 layers"]),
    (_broken(ask=[{"to": 3, "from": 1}] * 65), ["ask: at most 64", "got 65"]),
])
def test_bad_network_names_the_field(data, words):
    with pytest.raises(ValueError) as info:
        bp.network_from_dict(data, source="net.yaml")
    message = str(info.value)
    assert message.startswith("network net.yaml") and "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_bad_files(tmp_path):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("layers: [1, 2\ninput: [1]\n")
    with pytest.raises(ValueError, match=r"not valid YAML at line \d+"):
        bp.load_network(bad_yaml)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{\"layers\": [}")
    with pytest.raises(ValueError, match="not valid JSON"):
        bp.load_network(bad_json)
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("!!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        bp.load_network(unsafe)
    with pytest.raises(ValueError, match="does not exist"):
        bp.load_network(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="example must be one of"):
        bp.load_example("nope")
    with pytest.raises(ValueError, match="not both"):
        bp.run(network=bad_yaml, example="course")


def test_cli_traces_the_course_example(capsys):
    assert main(["backprop", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "all claims pass" in out and "Asked: ∂L/∂w₃₂ = −0.147 (expected -0.147)" in out


def test_cli_bad_file_is_one_line_exit_2(capsys, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(_broken(layers__0__activation="softplus")))
    assert main(["backprop", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "layers[0].activation" in err and "Traceback" not in err
    assert main(["backprop", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


SATURATED = {"name": "saturated", "input": [2.0, 2.0], "target": [0.0], "loss": "bce",
             "layers": [{"activation": "sigmoid", "weights": [[10.0, 10.0]], "biases": [0.0]}]}


@pytest.mark.parametrize("weights, y, s, loss, delta, from_s", [
    (10.0, 0.0, 40.0, 40.0, 1.0, True),        # σ(40) = 1.0 in float64: log(1 − a) would be log 0
    (-250.0, 1.0, -1000.0, 1000.0, -1.0, True),  # σ(−1000) = 0.0: log a would be log 0
    (250.0, 0.0, 1000.0, 1000.0, 1.0, True),   # e^1000 overflows: the loss is still exact
    (4.0, 1.0, 16.0, 1.125e-7, -1.125e-7, True),  # a = 0.9999999 prints as 1, and L is not 0
    (-10.0, 1.0, -40.0, 40.0, -1.0, False),    # a = 4.2e-18 prints as it is: the usual form reads
])
def test_saturated_sigmoid_bce_is_the_loss_of_the_network(weights, y, s, loss, delta, from_s):
    """L = log(1 + e^s) − y·s and δ = σ(s) − y, exact for any s, as torch's BCEWithLogitsLoss
    (not BCELoss's log clamped at −100, L = 100, δ = 4.2e-6 for s = 40, y = 0)."""
    data = json.loads(json.dumps(SATURATED))
    data["layers"][0]["weights"] = [[weights, weights]]
    data["target"] = [y]
    tr = bp.trace(bp.network_from_dict(data))
    assert tr.s[-1][0] == s
    assert tr.loss == pytest.approx(loss, rel=1e-3)
    assert tr.delta[-1][0] == pytest.approx(delta, rel=1e-3)
    np.testing.assert_allclose(tr.grad_w[0][:, 0], [2 * tr.delta[-1][0]] * 2, rtol=1e-15)
    # torch's own loss of the logits, built here without the tracer's torch_reference
    st = torch.tensor([s], dtype=torch.float64, requires_grad=True)
    ref = torch.nn.BCEWithLogitsLoss()(st, torch.tensor([y], dtype=torch.float64))
    ref.backward()
    assert tr.loss == pytest.approx(float(ref.detach()), rel=1e-12)
    assert tr.delta[-1][0] == pytest.approx(float(st.grad[0]), rel=1e-12)
    checks = bp.check_trace(tr)
    assert max(diff for diff, _ in checks.values()) < 1e-10, checks
    text = bp.format_text(tr)
    if not from_s:
        assert "L = −[y₃·log a₃ + (1 − y₃)·log(1 − a₃)] = −[1·log 4.24835e−18 + " in text
        assert "rounds to" not in text
        return
    written = f"({s:g})".replace("-", "−") if s < 0 else f"{s:g}"
    assert f"L = log(1 + e^s₃) − y₃·s₃ = log(1 + e^{written}) − {y:g}·{written} = " in text
    assert "rounds to" in text and "BCEWithLogitsLoss" in text and "log(1 − 1)" not in text
    assert "δ₃ = a₃ − y₃ = " in text


def test_saturated_sigmoid_bce_run_passes_every_claim(tmp_path):
    path = tmp_path / "sat.yaml"
    path.write_text(yaml.safe_dump(SATURATED))
    res = bp.run(network=path, out=tmp_path)
    try:
        assert res.passed, [str(c) for c in res.claims if not c.passed]
        md = (tmp_path / "backprop_trace.md").read_text(encoding="utf-8")
        assert r"$$ L = \log(1 + e^{s_{3}}) - y_{3} s_{3} = \log(1 + e^{40}) - 0 \cdot 40 = 40 $$" in md
        assert "BCEWithLogitsLoss" in md
    finally:
        res.close_figures()


def test_saturated_sigmoid_bce_with_two_outputs_takes_the_mean():
    """Two sigmoid outputs, one saturated: L = ½[(log(1 + e^s₁) − y₁s₁) + (…)], δ_j = (σ(s_j) − y_j)/2."""
    data = {"input": [1.0], "target": [0.0, 1.0], "loss": "bce",
            "layers": [{"activation": "sigmoid", "weights": [[50.0], [0.5]], "biases": [0.0, 0.0]}]}
    tr = bp.trace(bp.network_from_dict(data))
    soft = np.logaddexp(0.0, np.array([50.0, 0.5]))
    assert tr.loss == pytest.approx(0.5 * (soft[0] + soft[1] - 0.5), rel=1e-14)
    np.testing.assert_allclose(tr.delta[-1], [(1.0 - 0.0) / 2, (1 / (1 + np.exp(-0.5)) - 1.0) / 2], rtol=1e-14)
    assert max(diff for diff, _ in bp.check_trace(tr).values()) < 1e-10
    text = bp.format_text(tr)
    assert "L = 1/2·[(log(1 + e^s₂) − y₂·s₂) + (log(1 + e^s₃) − y₃·s₃)]" in text
    assert "δ₂ = 1/2·(a₂ − y₂) = 1/2·(1 − 0) = 0.5" in text and "divided by 2" in text


def test_unsaturated_sigmoid_bce_keeps_the_probability_form():
    text = bp.format_text(bp.trace(bp.load_example("sigmoid-bce")))
    assert "L = −[y₆·log a₆ + (1 − y₆)·log(1 − a₆)] = −[1·log 0.458328" in text
    assert "δ₆ = (a₆ − y₆)/(a₆(1 − a₆))·a₆(1 − a₆) = " in text
    assert "rounds to" not in text


# -- softmax with cross-entropy, the classifiers' loss ----------------------------------------------


def test_softmax_cross_entropy_example_matches_a_torch_classifier():
    """Every s, a, δ, ∂L/∂w, ∂L/∂b of the bundled softmax example against nn.Linear + nn.CrossEntropyLoss
    with a class index (torch's own classifier loss, built here without the tracer's torch_reference)."""
    net = bp.load_example("softmax-cross-entropy")
    tr = bp.trace(net)
    hidden, out = torch.nn.Linear(2, 2).double(), torch.nn.Linear(2, 3).double()
    with torch.no_grad():
        for lin, layer in zip((hidden, out), net.layers, strict=True):
            lin.weight.copy_(torch.from_numpy(layer.W.T))  # nn.Linear keeps [out, in]; the tracer [in, out]
            lin.bias.copy_(torch.from_numpy(layer.b))
    x = torch.from_numpy(net.x).unsqueeze(0)
    s1 = hidden(x)
    s1.retain_grad()
    a1 = torch.tanh(s1)
    s2 = out(a1)
    s2.retain_grad()
    label = torch.tensor([int(np.argmax(net.y))])
    assert label.item() == 1
    loss = torch.nn.CrossEntropyLoss()(s2, label)
    loss.backward()
    pairs = [(tr.s[0], s1), (tr.a[0], a1), (tr.s[1], s2), (tr.a[1], torch.softmax(s2, dim=1)),
             (tr.delta[0], s1.grad), (tr.delta[1], s2.grad), (tr.grad_w[0], hidden.weight.grad.T),
             (tr.grad_w[1], out.weight.grad.T), (tr.grad_b[0], hidden.bias.grad), (tr.grad_b[1], out.bias.grad)]
    for i, (ours, theirs) in enumerate(pairs):
        torch.testing.assert_close(torch.from_numpy(np.atleast_2d(ours)).squeeze(), theirs.detach().squeeze(),
                                   rtol=1e-12, atol=1e-15, msg=f"pair {i}")
    assert tr.loss == pytest.approx(loss.item(), rel=1e-14)
    # the output delta is a - y, and the loss is -log of the true class's probability
    np.testing.assert_allclose(tr.delta[1], tr.a[1] - net.y, atol=1e-16)
    assert tr.loss == pytest.approx(-np.log(tr.a[1][1]), rel=1e-14)
    fd = bp.finite_difference_weights(net)
    for ours, num in zip(tr.grad_w, fd, strict=True):
        np.testing.assert_allclose(ours, num, atol=1e-8)


def test_softmax_cross_entropy_is_printed_with_its_formulas():
    res = bp.run(example="softmax-cross-entropy")
    try:
        assert res.passed, [str(c) for c in res.claims if not c.passed]
        text = res.text["print_trace"]
        assert "L = −(y₅·log a₅ + y₆·log a₆ + y₇·log a₇) = −(0·log 0.552848 + 1·log 0.163168" in text
        assert "δ₆ = a₆ − y₆ = 0.163168 − 1 = −0.836832" in text
        assert "a₅ = e^s₅/(e^s₅ + e^s₆ + e^s₇) = e^0.481129/(" in text
        assert r"\frac{e^{s_{5}}}{e^{s_{5}} + e^{s_{6}} + e^{s_{7}}}" in res.text["backprop_trace"]
    finally:
        res.close_figures()


def test_cross_entropy_stays_finite_where_a_softmax_output_underflows():
    data = yaml.safe_load(bp.examples()["softmax-cross-entropy"].read_text(encoding="utf-8"))
    data["layers"][1]["weights"] = [[900.0, 0.0], [0.0, 0.0], [-900.0, 0.0]]  # a7 = e^-1800/... = 0
    data["input"] = [10.0, 0.0]
    tr = bp.trace(bp.network_from_dict(data))
    assert tr.a[1][2] == 0.0 and np.isfinite(tr.loss)
    checks = bp.check_trace(tr)
    assert max(diff for diff, _ in checks.values()) < 1e-10, checks


@pytest.mark.parametrize(("changes", "words"), [
    ({"loss": "half_squared_error"}, ["cross_entropy and a softmax output layer go together", "'softmax'"]),
    ({"target": [0.0, 1.0, 1.0]}, ["target", "probabilities that sum to 1", "[0.0, 1.0, 1.0], which sums to 2"]),
    ({"target": [-0.5, 1.5, 0.0]}, ["target", "[-0.5, 1.5, 0.0], which has a negative entry"]),  # sums to 1
    ({"layers__0__activation": "softmax"}, ["layers[0].activation", "only for the output layer"]),
    ({"layers__1__activation": "sigmoid"}, ["cross_entropy", "softmax", "'sigmoid'"]),
])
def test_bad_softmax_networks_name_the_field(changes, words):
    data = yaml.safe_load(bp.examples()["softmax-cross-entropy"].read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        target, keys = data, dotted.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        target[keys[-1]] = value
    with pytest.raises(ValueError) as info:
        bp.network_from_dict(data, source="net.yaml")
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# -- the CLI's examples: trace each, list them, print a starter -------------------------------------


@pytest.mark.parametrize("name", sorted(bp.examples()))
def test_cli_example_each(name, capsys):
    assert main(["backprop", "--example", name]) == 0
    out = capsys.readouterr().out
    assert "all claims pass" in out and f"Network '{name}'" in out


def test_cli_example_list(capsys):
    assert main(["backprop", "--example", "list"]) == 0
    out = capsys.readouterr().out
    for name in bp.examples():
        assert re.search(rf"^{re.escape(name)} +\d", out, re.M), name
    assert "--print-example course > my_net.yaml" in out


def test_cli_print_example_is_a_starter_that_traces(tmp_path, capsys):
    assert main(["backprop", "--print-example", "course"]) == 0
    starter = capsys.readouterr().out
    assert starter == bp.examples()["course"].read_text(encoding="utf-8")
    mine = tmp_path / "my_net.yaml"
    mine.write_text(starter.replace("name: course", "name: mine"))
    assert main(["backprop", str(mine), "--out", str(tmp_path / "out")]) == 0
    assert "Network 'mine'" in capsys.readouterr().out
    assert (tmp_path / "out" / "backprop_mine.png").is_file()
    # edited numbers trace too; only the course's expected answers (kept in the starter) now differ
    mine.write_text(starter.replace("[0.5, -0.4]", "[0.5, -0.3]"))
    assert main(["backprop", str(mine)]) == 1
    out = capsys.readouterr().out
    assert "s₃ = w₃₁·x₁ + w₃₂·x₂ + b₃ = 0.5·2 + (−0.3)·(−1) + 0.1 = 1.4" in out
    failed = [line for line in out.splitlines() if "[FAIL]" in line]
    assert failed and all("equals the expected answer" in line for line in failed), failed


@pytest.mark.parametrize("args, ask, other", [
    (["--print-example", "course", "NET"], "--print-example course", "the network file"),
    (["NET", "--print-example", "course"], "--print-example course", "the network file"),
    (["--example", "list", "NET"], "--example list", "the network file"),
    (["NET", "--example", "list"], "--example list", "the network file"),
    (["--print-example", "course", "--example", "sigmoid-bce"], "--print-example course", "--example sigmoid-bce"),
    (["--example", "list", "--out", "OUT"], "--example list", "--out"),
])
def test_cli_print_or_list_with_something_it_would_ignore_is_refused(args, ask, other, tmp_path, capsys):
    """--print-example and --example list only print: beside a network FILE (in either order), another
    example or --out they used to print and exit 0, silently ignoring it. Now one line, exit 2, that
    names both arguments and what to run instead; nothing is printed on stdout."""
    net = tmp_path / "my_net.yaml"
    net.write_text(bp.examples()["course"].read_text(encoding="utf-8"))
    args = [str(net) if a == "NET" else str(tmp_path / "out") if a == "OUT" else a for a in args]
    assert main(["backprop", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith(f"backproplab: error: {ask} cannot be combined with {other}")
    if other == "the network file":
        assert f"{str(net)!r}" in captured.err and f"run: backproplab backprop {net}" in captured.err
    assert not (tmp_path / "out").exists()


def test_cli_notation_layer(capsys):
    assert main(["backprop", "--notation", "layer"]) == 0
    assert "Asked: ∂L/∂w⁽¹⁾₁₂ = −0.147" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["backprop", "--notation", "jku"])
    assert info.value.code == 2
    assert "--notation" in capsys.readouterr().err


def test_help_documents_examples_and_the_starter(capsys):
    with pytest.raises(SystemExit):
        main(["backprop", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--print-example NAME" in out and "my_net.yaml" in out and "'list' describes them" in out
    assert "--notation {global,layer}" in out


def test_the_tracer_package_and_the_lesson_export_the_same_names():
    """The tracer lives in backproplab.tracer (reading, network, notation, trace, checks, render); the
    lesson module keeps re-exporting its public names for notebooks written against it."""
    import backproplab.tracer as tracer

    for name in tracer.__all__:
        if name != "figure":
            assert getattr(bp, name) is getattr(tracer, name), name
    assert bp.NAME == "backprop" and callable(bp.run)



def test_a_relu_exactly_at_its_kink_is_named_when_finite_differences_disagree(tmp_path, capsys):
    # b3 = −1.4 puts s3 = 0.5·2 + (−0.4)·(−1) − 1.4 = 0 on ReLU's kink, where ∂L/∂w31 is not defined:
    # autograd (and the trace) take relu'(0) = 0, central differences average the two one-sided slopes.
    assert main(["backprop", "--print-example", "course"]) == 0
    net = yaml.safe_load(capsys.readouterr().out)
    net["layers"][0]["biases"][0] = -1.4
    net.pop("ask", None)
    path = tmp_path / "kink.yaml"
    path.write_text(yaml.safe_dump(net))
    res = bp.run(network=path)
    try:
        fd = res.claim("weight gradients match central finite differences")
        assert not fd.passed  # they do disagree: the derivative does not exist there
        assert "s₃ = 0 lies on relu's kink" in fd.evidence and "relu'(0) = 0" in fd.evidence
    finally:
        res.close_figures()
    res = bp.run()
    try:
        assert "kink" not in res.claim("weight gradients match central finite differences").evidence
    finally:
        res.close_figures()


def test_layer_notation_warns_that_the_description_keeps_global_numbers(capsys, tmp_path):
    # The course example's description says '∂L/∂w32 = δ3·x2 = −0.147' in the global numbering (w32 =
    # from input 2 into hidden unit 3). Read in layer numbering, w⁽¹⁾₃₂ is the weight from input 2 into
    # the third hidden unit, whose gradient is −0.252: the text must say which numbering it uses.
    assert main(["backprop", "--notation", "layer"]) == 0
    out = capsys.readouterr().out
    assert "∂L/∂w⁽¹⁾₃₂ = δ⁽¹⁾₃·x₂ = 0.252·(−1) = −0.252" in out
    (line,) = [ln for ln in out.splitlines() if "The exercise asks for ∂L/∂w32" in ln]
    assert "global numbering" in line and "not renumbered" in line
    assert main(["backprop"]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "The exercise asks for ∂L/∂w32" in ln]
    assert "not renumbered" not in line
    assert main(["backprop", "--notation", "layer", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "backprop_trace.md").read_text(encoding="utf-8")
    assert "not renumbered" in md


def test_a_network_whose_sums_overflow_says_why_its_checks_fail_and_warns_nothing(tmp_path):
    """w = 1e308 on x = (1, 2) gives s3 = 1e308 + 2e308 = inf: the s check's inf − inf is NaN. The run
    printed three NumPy RuntimeWarnings (finite differences, the check, the figure) and a NaN FAIL with
    no word on why."""
    net = course_dict() | {"input": [1.0, 2.0], "target": [1.0], "ask": [],
                           "layers": [{"activation": "sigmoid", "weights": [[1e308, 1e308]], "biases": [0.0]}]}
    path = tmp_path / "overflow.yaml"
    path.write_text(yaml.safe_dump(net))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = bp.run(network=path, out=tmp_path)
        res.save_figures(tmp_path)  # the edges' widths scale with |∂L/∂w|: inf and NaN among them
    try:
        failed = [c for c in res.claims if not c.passed]
        assert [c.name for c in failed] == ["pre-activations s match torch autograd (max abs difference)"]
        assert "s₃ = inf is past float64's range" in failed[0].evidence
        assert all("float64" not in c.evidence for c in res.claims if c.passed)
    finally:
        res.close_figures()
