"""Checkpoints: atomic, safely loaded, exact resume, and errors that name the file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from backproplab.errors import CheckpointError
from backproplab.torchnn import (
    MLP,
    GradientMagnitudes,
    fit,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)

pytestmark = pytest.mark.torchnn

_spec = importlib.util.spec_from_file_location("_tn_helpers", Path(__file__).with_name("_helpers.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
blobs = _helpers.blobs


def _net(seed: int) -> nn.Module:
    """Dropout (global RNG), BatchNorm (buffers) and two Linear layers: everything resume must restore."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    # dropout draws from the global RNG, BatchNorm has buffers, SGD with momentum has optimizer state
    X, y = blobs(n=120)
    kwargs = dict(epochs=3, batch_size=16, lr=0.02, momentum=0.9, seed=11, progress=False, device="cpu")
    full = _net(0)
    h_full = fit(full, (X, y), (X[:16], y[:16]), probes=[GradientMagnitudes(layers=2)], **kwargs)

    ckpt = tmp_path / "run.pt"
    first = _net(0)
    fit(first, (X, y), (X[:16], y[:16]), probes=[GradientMagnitudes(layers=2)],
        **{**kwargs, "epochs": 1}, checkpoint=ckpt)
    assert read_checkpoint(ckpt)["epoch"] == 1
    torch.manual_seed(12345)  # whatever happens to the global RNG in between must not matter
    resumed = _net(99)  # weights come from the checkpoint
    h_res = fit(resumed, (X, y), (X[:16], y[:16]), probes=[GradientMagnitudes(layers=2)], **kwargs,
                checkpoint=ckpt, resume=True)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert h_res.train_loss == h_full.train_loss and h_res.val_acc == h_full.val_acc
    assert h_res.probes == h_full.probes
    assert len(h_res.probes["grad_magnitudes"]["0"]) == 3 * 8
    assert read_checkpoint(ckpt)["epoch"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"], "no temporary files left behind"


def test_truncated_checkpoint_names_the_file(tmp_path):
    X, y = blobs()
    model = MLP([12, 8, 3])
    path = save_checkpoint(tmp_path / "model.pt", model, epoch=2)
    data = path.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt.*truncated"):
        load_checkpoint(cut, model)
    with pytest.raises(CheckpointError, match=r"cut\.pt"):
        fit(model, (X, y), epochs=3, batch_size=8, checkpoint=cut, resume=True, progress=False)
    with pytest.raises(CheckpointError, match=r"missing\.pt does not exist"):
        load_checkpoint(tmp_path / "missing.pt", model)


def test_foreign_checkpoints_are_refused(tmp_path):
    model = MLP([12, 8, 3])
    bare = tmp_path / "bare_state_dict.pt"
    torch.save(model.state_dict(), bare)
    with pytest.raises(CheckpointError, match=r"bare_state_dict\.pt is not a backproplab checkpoint"):
        load_checkpoint(bare, model)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes\.pt"):
        read_checkpoint(text)


def test_checkpoint_of_another_model_lists_keys_and_shapes(tmp_path):
    path = save_checkpoint(tmp_path / "other.pt", MLP([12, 8, 3]))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, MLP([12, 9, 3, 2]))
    msg = str(info.value)
    assert "other.pt" in msg
    assert "layers.0.weight: model (9, 12) vs checkpoint (8, 12)" in msg
    assert "missing keys ['layers.4.weight', 'layers.4.bias']" in msg


def test_save_load_round_trip_with_optimizer(tmp_path):
    torch.manual_seed(0)
    model = MLP([4, 3])
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "a" / "b.pt", model, opt, epoch=5, extra={"note": "x"})
    other = MLP([4, 3])
    opt2 = torch.optim.Adam(other.parameters())
    state = load_checkpoint(path, other, opt2)
    assert state["epoch"] == 5 and state["extra"] == {"note": "x"}
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters(), strict=True))
    assert opt2.state_dict()["state"][0]["step"] == 1
