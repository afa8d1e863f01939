"""The backprop tracer: the course's ∂L/∂w32 by hand, every bundled example against autograd,
file validation with errors naming the field, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from backproplab.cli import main
from backproplab.lessons import backprop_trace as bp
from backproplab.lessons import get_lesson

pytestmark = pytest.mark.lessons


@pytest.fixture(scope="module")
def result():
    res = bp.run(quick=True)
    yield res
    res.close_figures()


def course_dict() -> dict:
    return yaml.safe_load(bp.examples()["course"].read_text(encoding="utf-8"))


def test_registered():
    assert get_lesson("backprop") is bp
    assert bp.ORDER == 20


def test_every_claim_passes(result):
    failed = [str(c) for c in result.claims if not c.passed]
    assert not failed, failed
    # the course trace, finite differences, its three asked gradients, and every other example
    assert len(result.claims) >= 10 + 2 * (len(bp.examples()) - 1)


def test_bundled_examples():
    names = set(bp.examples())
    assert {"course", "sigmoid-bce", "tanh-two-hidden"} <= names
    assert any(p.suffix == ".json" for p in bp.examples().values())
    assert any(p.suffix == ".yaml" for p in bp.examples().values())


def test_course_dL_dw32_by_hand(result):
    claim = result.claim("asked ∂L/∂w⁽¹⁾₃₂ equals the expected answer")
    assert claim.passed and claim.value == pytest.approx(-0.252, abs=1e-12)
    # by hand: s = W1 x + b1, ReLU, yhat = w2 . a + b2, L = (y - yhat)^2 / 2
    x = np.array([2.0, -1.0])
    W1 = np.array([[0.5, -0.4], [-0.3, 0.8], [0.2, 0.6]])
    b1 = np.array([0.1, -0.2, 0.5])
    w2, b2 = np.array([0.7, -0.5, 1.2]), -0.2
    s = W1 @ x + b1
    a = np.maximum(s, 0)
    yhat = w2 @ a + b2
    delta_out = yhat - 1.0
    delta_3 = (s[2] > 0) * w2[2] * delta_out
    assert delta_3 * x[1] == pytest.approx(claim.value, abs=1e-15)
    assert "∂L/∂w⁽¹⁾₃₂ = δ⁽¹⁾₃·x₂ = 0.252·(−1) = −0.252" in result.text["print_trace"]


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
    n_weights = sum(layer.weights.size for layer in net.layers)
    n_units = sum(layer.weights.shape[0] for layer in net.layers)
    lines = text.splitlines()
    assert sum(line.strip().startswith("s⁽") for line in lines) == n_units
    assert sum(line.strip().startswith("δ⁽") for line in lines) == n_units
    assert sum(line.strip().startswith("∂L/∂w") for line in lines) == n_weights
    assert sum(line.strip().startswith("∂L/∂b") for line in lines) == n_units
    assert "L = ½(y₁ − ŷ₁)² = ½(1 − 1.21)² = 0.02205" in text
    assert "[torch" in text
    # the Markdown carries the same steps in LaTeX
    md = result.text["backprop_trace"]
    assert md.count("$$") >= 2 * (2 * n_units + n_units + n_weights + n_units)
    assert r"\frac{\partial L}{\partial w^{(1)}_{32}} = \delta^{(1)}_{3} x_{2} = 0.252 \cdot (-1) = -0.252" in md


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
    data["ask"] = [{"layer": 1, "to": 3, "from": 2, "expected": -0.252}]
    (tmp_path / "net.json").write_text(json.dumps(data))
    data["loss"] = "squared_error"
    data["ask"] = [{"layer": 1, "to": 3, "from": 2, "expected": -0.504}]  # twice the half loss
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
    (_broken(input=[1.0, "1e-3"]), ["input[1]", "write 1.0e-3"]),
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
    assert "all claims pass" in out and "∂L/∂w⁽¹⁾₃₂" in out and "−0.252" in out


def test_cli_bad_file_is_one_line_exit_2(capsys, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(_broken(layers__0__activation="softplus")))
    assert main(["backprop", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "layers[0].activation" in err and "Traceback" not in err
    assert main(["backprop", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_saturated_sigmoid_bce_follows_torch_conventions():
    """ŷ rounds to 1 with y = 0: log clamped at -100 and the denominator at 1e-12, as in torch."""
    data = yaml.safe_load(bp.examples()["sigmoid-bce"].read_text(encoding="utf-8"))
    data["layers"][1]["weights"] = [[1000.0, 1000.0]]
    data["target"] = [0.0]
    tr = bp.trace(bp.network_from_dict(data))
    assert tr.loss == 100.0
    checks = bp.check_trace(tr)
    assert max(diff for diff, _ in checks.values()) < 1e-10, checks
