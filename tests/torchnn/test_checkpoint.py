"""Checkpoints: atomic, safely loaded, exact resume, and errors that name the file."""

from __future__ import annotations

import hashlib
import importlib.util
import io
from pathlib import Path

import pytest
import torch
from torch import nn

from backproplab.errors import CheckpointError, InputError
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


# -- issue 13.6 / 13.8: corrupted and inconsistent checkpoints -------------------------------------


def write_envelope(path: Path, payload: dict, version: int = 2) -> Path:
    """A checkpoint written independently of save_checkpoint: the v2 envelope (or a bare v1 payload)."""
    if version == 1:
        torch.save({**payload, "version": 1}, path)
        return path
    buffer = io.BytesIO()
    torch.save({**payload, "version": 2}, buffer)
    content = buffer.getvalue()
    torch.save({"format": "backproplab.torchnn.checkpoint", "version": 2,
                "sha256": hashlib.sha256(content).hexdigest(),
                "content": torch.tensor(list(content), dtype=torch.uint8)}, path)
    return path


def _payload(model: nn.Module, **fields) -> dict:
    base = {"format": "backproplab.torchnn.checkpoint", "model_class": type(model).__name__,
            "model": model.state_dict(), "optimizer": None, "history": None, "epoch": 0, "rng": {},
            "extra": {}}
    return base | fields


def flip_a_weight_byte(path: Path, weight: torch.Tensor) -> None:
    """Change one byte inside ``weight``'s stored bytes, as a bad disk sector or a bad copy would."""
    raw = bytearray(path.read_bytes())
    at = raw.find(weight.detach().numpy().tobytes())
    assert at > 0, "the tensor's bytes are stored verbatim"
    raw[at + 3] ^= 0xFF  # the high byte of the first float32 (little-endian): its exponent
    path.write_bytes(bytes(raw))


def test_flipped_bytes_are_refused_not_loaded_as_huge_weights(tmp_path):
    torch.manual_seed(0)
    model = MLP([12, 8, 3])
    path = save_checkpoint(tmp_path / "flipped.pt", model, epoch=1)
    flip_a_weight_byte(path, model.layers[0].weight)
    fresh = MLP([12, 8, 3])
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"checkpoint .*flipped\.pt is corrupt"):
        load_checkpoint(path, fresh)
    assert all(torch.equal(v, before[k]) for k, v in fresh.state_dict().items()), "model left untouched"


def test_content_whose_sha256_differs_is_refused_even_with_valid_zip_crcs(tmp_path):
    # rewritten by a tool that recomputed the zip CRCs but changed the state: only the SHA-256 sees it
    torch.manual_seed(0)
    model = MLP([12, 8, 3])
    path = save_checkpoint(tmp_path / "edited.pt", model, epoch=1)
    envelope = torch.load(path, weights_only=True)
    content = envelope["content"].clone()
    weight = model.layers[0].weight.detach().numpy().tobytes()
    at = bytes(content.numpy()).find(weight)
    content[at + 3] ^= 0xFF
    torch.save({**envelope, "content": content}, path)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert "edited.pt is corrupt" in message and "SHA-256 of its content" in message
    assert envelope["sha256"] in message


def test_saved_checkpoint_carries_the_sha256_of_its_content(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", MLP([4, 3]), epoch=2)
    envelope = torch.load(path, weights_only=True)
    assert envelope["version"] == 2
    assert hashlib.sha256(bytes(envelope["content"].numpy())).hexdigest() == envelope["sha256"]
    assert read_checkpoint(path)["epoch"] == 2


def test_version_1_checkpoints_still_load_and_are_crc_checked(tmp_path):
    torch.manual_seed(0)
    model = MLP([12, 8, 3])
    old = write_envelope(tmp_path / "v1.pt", _payload(model, epoch=4), version=1)
    fresh = MLP([12, 8, 3])
    assert load_checkpoint(old, fresh)["epoch"] == 4
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), fresh.parameters(), strict=True))
    flip_a_weight_byte(old, model.layers[0].weight)
    with pytest.raises(CheckpointError, match=r"v1\.pt is corrupt: its member .* fails the zip CRC-32 check"):
        load_checkpoint(old, fresh)


@pytest.mark.parametrize(("fields", "words"), [
    ({"history": [0.5, 0.4]}, ["'history' must be a dict or None", "list"]),
    ({"epoch": -5}, ["'epoch' must be", "integer >= 0", "-5"]),
    ({"epoch": "3"}, ["'epoch' must be", "'3'"]),
    ({"epoch": 5, "history": {"train_loss": [1.0, 0.9], "train_acc": [0.1, 0.2], "epoch_time": [1, 1]}},
     ["'epoch' says 5", "holds only 2"]),
    ({"epoch": 2, "history": {"train_loss": [1.0, 0.9], "train_acc": [0.1], "epoch_time": [1, 1]}},
     ["history lists disagree", "train_acc 1"]),
    ({"epoch": 1, "history": {"train_loss": "low", "train_acc": [], "epoch_time": []}},
     ["history['train_loss'] must be a list of numbers", "str"]),
    ({"optimizer": [1, 2]}, ["'optimizer' must be a dict or None", "list"]),
], ids=["history-list", "epoch-negative", "epoch-str", "epoch-beyond-history", "history-lengths",
        "history-values", "optimizer-list"])
def test_fields_of_the_wrong_type_are_named(tmp_path, fields, words):
    model = MLP([12, 3])
    path = write_envelope(tmp_path / "odd.pt", _payload(model, **fields))
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert "odd.pt" in message and all(w in message for w in words), message
    X, y = blobs(n=32)
    with pytest.raises(CheckpointError):  # resume refuses it too, before training anything
        fit(model, (X, y), epochs=3, batch_size=8, checkpoint=path, resume=True, progress=False, device="cpu")


def test_resume_from_a_checkpoint_beyond_epochs_is_refused_and_changes_nothing(tmp_path):
    X, y = blobs(n=32)
    torch.manual_seed(0)
    saved = MLP([12, 3])
    rows = {"train_loss": [1.0] * 1000, "train_acc": [0.5] * 1000, "epoch_time": [0.1] * 1000}
    path = write_envelope(tmp_path / "far.pt", _payload(saved, epoch=1000, history=rows))
    model = MLP([12, 3])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as info:
        fit(model, (X, y), epochs=3, batch_size=8, checkpoint=path, resume=True, progress=False, device="cpu")
    message = str(info.value)
    assert "far.pt has 1000 completed epochs, more than epochs=3" in message and "at most 3" in message
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_resume_at_exactly_epochs_trains_nothing_and_returns_the_history(tmp_path):
    X, y = blobs(n=32)
    path = tmp_path / "done.pt"
    torch.manual_seed(0)
    model = MLP([12, 3])
    first = fit(model, (X, y), epochs=2, batch_size=8, checkpoint=path, progress=False, device="cpu")
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    again = fit(model, (X, y), epochs=2, batch_size=8, checkpoint=path, resume=True, progress=False,
                device="cpu")
    assert again.train_loss == first.train_loss and len(again) == 2
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_save_refuses_a_negative_epoch_or_a_list_history(tmp_path):
    with pytest.raises(ValueError, match=r"epoch must be .* integer >= 0, got -1"):
        save_checkpoint(tmp_path / "x.pt", MLP([4, 3]), epoch=-1)
    with pytest.raises(ValueError, match="history must be a History, a dict or None, got list"):
        save_checkpoint(tmp_path / "x.pt", MLP([4, 3]), history=[1.0])
    assert not (tmp_path / "x.pt").exists()


def test_map_location_applies_to_the_state_not_to_the_checksummed_content(tmp_path):
    # "meta" stands in for "cuda" on a machine without a GPU: the content must still be hashed on the CPU
    model = MLP([4, 3])
    for version, path in ((2, save_checkpoint(tmp_path / "v2.pt", model, epoch=1)),
                          (1, write_envelope(tmp_path / "v1.pt", _payload(model, epoch=1), version=1))):
        state = read_checkpoint(path, map_location="meta")
        assert state["model"]["layers.0.weight"].device.type == "meta", version
        assert read_checkpoint(path)["model"]["layers.0.weight"].device.type == "cpu", version


def test_a_checkpoint_written_before_lr_was_recorded_still_resumes(tmp_path):
    """Histories in checkpoints had no 'lr' before History was shared: they load, lr NaN for those epochs."""
    X, y = blobs(n=32)
    torch.manual_seed(0)
    model = MLP([12, 3])
    old = {"train_loss": [1.0], "train_acc": [0.5], "val_loss": [], "val_acc": [], "epoch_time": [0.1],
           "probes": {}, "params": {"lr": 0.05}}
    opt = torch.optim.SGD(model.parameters(), lr=0.05).state_dict()
    path = write_envelope(tmp_path / "old.pt", _payload(model, epoch=1, history=old, optimizer=opt))
    hist = fit(model, (X, y), epochs=2, batch_size=8, lr=0.05, checkpoint=path, resume=True, progress=False,
               device="cpu")
    assert hist.train_loss[0] == 1.0 and len(hist) == 2 and len(hist.lr) == 2
    assert hist.lr[0] != hist.lr[0] and hist.lr[1] == pytest.approx(0.05)  # NaN: not known; then recorded
    assert read_checkpoint(path)["history"]["lr"][1] == pytest.approx(0.05)


def test_a_member_that_inflates_far_beyond_its_bytes_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """torch.save stores members uncompressed; a crafted 14 MB file declaring a 3 GiB data.pkl was
    inflated by testzip (seconds) and then allocated whole by torch.load."""
    import zipfile

    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/data.pkl", b"\0" * (16 * 2**20))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load reached"))
    monkeypatch.setattr(zipfile.ZipFile, "testzip", lambda self: pytest.fail("every member inflated"))
    with pytest.raises(CheckpointError, match=r"bomb.pt is not one torch.save writes: its member "
                                              r"'archive/data.pkl' inflates from \d+ to 16777216 bytes"):
        read_checkpoint(path)


def test_members_of_a_real_checkpoint_are_stored_as_they_are(tmp_path):
    import zipfile

    path = tmp_path / "real.pt"
    save_checkpoint(path, nn.Linear(300, 300), epoch=1)
    assert all(i.file_size == i.compress_size for i in zipfile.ZipFile(path).infolist())
    assert read_checkpoint(path)["epoch"] == 1


@pytest.mark.parametrize("make, words", [
    (lambda p: p.write_text("my notes\n"), "exists and is not a checkpoint"),
    (lambda p: p.mkdir(), "checkpoint must be a file path, got the directory"),
    (lambda p: __import__("os").mkfifo(p), "is a pipe; expected a path to a regular file"),
])
def test_fit_refuses_a_checkpoint_path_it_would_clobber_before_the_first_epoch(tmp_path, make, words):
    """fit(checkpoint='notes.txt') replaced the user's file after epoch 1; a folder failed only then."""
    X, y = blobs(n=40)
    target = tmp_path / "notes.txt"
    make(target)
    before = sorted(p.name for p in tmp_path.iterdir())
    model = _net(0)
    weights = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(InputError, match=words):
        fit(model, (X, y), epochs=1, batch_size=16, progress=False, device="cpu", checkpoint=target)
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True)), "model untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if target.is_file():
        assert target.read_text() == "my notes\n"


def test_fit_writes_over_an_earlier_checkpoint(tmp_path):
    X, y = blobs(n=40)
    ckpt = tmp_path / "run.pt"
    for epochs in (1, 2):
        fit(_net(0), (X, y), epochs=epochs, batch_size=16, progress=False, device="cpu", checkpoint=ckpt)
        assert read_checkpoint(ckpt)["epoch"] == epochs


def _first_epoch(path, model_seed=0, **kw):
    X, y = blobs(n=64)
    torch.manual_seed(model_seed)
    model = MLP([12, 8, 3])
    args = dict(epochs=1, batch_size=8, progress=False, device="cpu", checkpoint=path, seed=0)
    fit(model, (X, y), (X[:16], y[:16]), **{**args, **kw})
    return X, y


def test_resume_with_a_smaller_learning_rate_trains_at_it(tmp_path):
    # the divergence policy's advice: resume=True with a smaller lr; load_state_dict put the old lr back
    # (History.lr [0.01, 0.01] beside params lr 0.5, and the run diverged again at the old rate)
    X, y = _first_epoch(tmp_path / "c.pt", lr=0.01, momentum=0.9)
    torch.manual_seed(0)
    h = fit(MLP([12, 8, 3]), (X, y), (X[:16], y[:16]), epochs=2, batch_size=8, lr=0.002, momentum=0.9,
            progress=False, device="cpu", checkpoint=tmp_path / "c.pt", resume=True, seed=0)
    assert h.lr == [0.01, 0.002] and h.params["lr"] == 0.002
    state = read_checkpoint(tmp_path / "c.pt")
    assert state["optimizer"]["param_groups"][0]["lr"] == 0.002 and state["optimizer"]["state"], "momentum kept"


@pytest.mark.parametrize(("change", "words"), [
    ({"optimizer": "adam"}, "optimizer='SGD' there, 'Adam' here"),  # was KeyError: 'betas' mid-epoch
    ({"val": None}, "validation every epoch there, none here"),  # val_loss one row short, uncommented
])
def test_resuming_another_runs_checkpoint_is_refused_and_changes_nothing(tmp_path, change, words):
    X, y = _first_epoch(tmp_path / "c.pt")
    torch.manual_seed(1)
    model = MLP([12, 8, 3])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    val = change.pop("val", (X[:16], y[:16]))
    args = dict(epochs=2, batch_size=8, progress=False, device="cpu", checkpoint=tmp_path / "c.pt", resume=True,
                seed=0)
    with pytest.raises(CheckpointError, match=f"c.pt was written by another run \\({words}\\)"):
        fit(model, (X, y), val, **{**args, **change})
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_resuming_a_checkpoint_of_another_model_class_with_the_same_shapes_is_refused(tmp_path):
    from backproplab.torchnn import ANN_relu, ANN_sigmoid

    X, y = torch.randn(8, 784), torch.arange(8) % 10
    torch.manual_seed(0)
    fit(ANN_relu(784, 10), (X, y), epochs=1, batch_size=8, progress=False, device="cpu", checkpoint=tmp_path / "r.pt")
    with pytest.raises(CheckpointError, match="another run \\(model ANN_relu there, ANN_sigmoid here\\)"):
        fit(ANN_sigmoid(784, 10), (X, y), epochs=2, batch_size=8, progress=False, device="cpu",
            checkpoint=tmp_path / "r.pt", resume=True)


def test_a_run_resumed_with_another_seed_continues_the_saved_one(tmp_path):
    """The random states come from the checkpoint, so the seed given to the resumed run changes nothing; a
    review found it refused ("seed=0 there, 5 here"), which broke PyTorchANN.train resumed on a model
    rebuilt with another seed. The history keeps the checkpoint's seed, the one its batch order came from."""
    X, y = _first_epoch(tmp_path / "c.pt")
    args = dict(epochs=2, batch_size=8, progress=False, device="cpu")
    torch.manual_seed(0)
    whole = MLP([12, 8, 3])
    fit(whole, (X, y), (X[:16], y[:16]), seed=0, **args)
    torch.manual_seed(1)
    resumed = MLP([12, 8, 3])
    h = fit(resumed, (X, y), (X[:16], y[:16]), seed=5, checkpoint=tmp_path / "c.pt", resume=True, **args)
    assert h.params["seed"] == 0
    assert all(torch.equal(v, whole.state_dict()[k]) for k, v in resumed.state_dict().items())
