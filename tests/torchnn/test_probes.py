"""Probes: values equal what the course computes by hand; hooks come off; usable in fit and alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from backproplab.errors import InputError
from backproplab.torchnn import MLP, ActivationStats, ANN_sigmoid, DeadUnits, GradientMagnitudes, fit

pytestmark = pytest.mark.torchnn

_spec = importlib.util.spec_from_file_location("_tn_helpers", Path(__file__).with_name("_helpers.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
blobs = _helpers.blobs


def test_gradient_magnitudes_equal_the_course_item_loop():
    torch.manual_seed(66)
    model = ANN_sigmoid(784, 10)
    probe = GradientMagnitudes(layers=3).attach(model)
    assert probe.layer_names == ["fc1", "fc2", "fc3"]
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(5 * 8, 784, generator=g), torch.randint(0, 10, (40,), generator=g)
    by_hand = {"fc1": [], "fc2": [], "fc3": []}
    for start in range(0, 40, 8):
        opt.zero_grad()
        F.cross_entropy(model(X[start:start + 8]), y[start:start + 8]).backward()
        for name in by_hand:  # the course: layer.weight.grad.abs().mean().item()
            by_hand[name].append(getattr(model, name).weight.grad.abs().mean().item())
        opt.step()
    probe.remove()
    records = probe.records
    assert {k: len(v) for k, v in records.items()} == {"fc1": 5, "fc2": 5, "fc3": 5}
    for name in by_hand:
        assert records[name] == pytest.approx(by_hand[name], rel=1e-6)
    # vanishing gradients: the first sigmoid layer gets far smaller gradients than the third
    assert sum(records["fc1"]) < sum(records["fc3"])


def test_hooks_come_off():
    model = MLP([6, 5, 3])
    probe = GradientMagnitudes().attach(model)
    model(torch.randn(4, 6)).sum().backward()
    probe.remove()
    model(torch.randn(4, 6)).sum().backward()
    assert {k: len(v) for k, v in probe.records.items()} == {"layers.0": 1, "layers.2": 1}
    with DeadUnits().attach(model) as dead:
        model(torch.randn(4, 6))
    assert not dead.attached
    model(torch.randn(4, 6))  # no hook left to fire
    assert len(dead.records["layers.1"]) == 1
    assert not model._forward_hooks and not model.layers[1]._forward_hooks


def test_dead_units_counts_units_silent_for_every_sample():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    with torch.no_grad():
        model[0].bias[:2] = -1e3   # units 0 and 1 can never fire
        model[0].bias[2] = 1e3     # unit 2 always fires
    probe = DeadUnits().attach(model)
    model(torch.randn(64, 4))
    assert probe.flush() == {"1": [2 / 6], "all": [2 / 6]}
    model(torch.randn(8, 4))  # a new interval starts from scratch
    assert probe.records["1"] == [2 / 6, 2 / 6]
    # per channel for conv outputs: a channel is dead when zero at every position of every sample
    conv = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU())
    with torch.no_grad():
        conv[0].bias[:] = torch.tensor([-1e3, 1e3, 1e3])
    p2 = DeadUnits().attach(conv)
    conv(torch.randn(2, 1, 5, 5))
    assert p2.flush() == {"1": [1 / 3], "all": [1 / 3]}


def test_activation_stats_match_torch_and_pause():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.Sigmoid(), nn.Linear(7, 4), nn.ReLU())
    probe = ActivationStats(saturation=0.1).attach(model)
    x1, x2 = torch.randn(10, 5) * 3, torch.randn(6, 5) * 3
    model(x1)
    with probe.paused():
        model(torch.randn(50, 5))
    model(x2)
    rec = probe.flush()
    with torch.no_grad():
        s = torch.cat([torch.sigmoid(model[0](x1)), torch.sigmoid(model[0](x2))])
        r = torch.cat([model(x1), model(x2)])
    assert rec["1.mean"][0] == pytest.approx(s.mean().item(), rel=1e-6)
    assert rec["1.std"][0] == pytest.approx(s.std(unbiased=False).item(), rel=1e-5)
    assert rec["1.saturated_fraction"][0] == pytest.approx(((s < 0.1) | (s > 0.9)).float().mean().item())
    assert rec["3.zero_fraction"][0] == pytest.approx((r == 0).float().mean().item())
    assert "3.saturated_fraction" not in rec


def test_probes_in_fit_record_per_batch_and_per_epoch():
    X, y = blobs(n=100)
    torch.manual_seed(0)
    model = MLP([12, 8, 8, 3], "relu")
    grads, dead = GradientMagnitudes(layers=2), DeadUnits()
    hist = fit(model, (X, y), (X, y), epochs=2, batch_size=30, probes=[grads, dead], progress=False)
    assert {k: len(v) for k, v in hist.probes["grad_magnitudes"].items()} == {"layers.0": 8, "layers.2": 8}
    assert set(hist.probes["dead_units"]) == {"layers.1", "layers.3", "all"}
    assert all(len(v) == 2 for v in hist.probes["dead_units"].values())
    assert not grads.attached and not dead.attached  # fit removes what it attached


def test_bad_layer_selection_is_named():
    with pytest.raises(InputError, match="nope"):
        GradientMagnitudes(layers=["nope"]).attach(MLP([3, 2]))
    with pytest.raises(InputError, match="ReLU"):
        DeadUnits().attach(MLP([3, 4, 2], "tanh"))
