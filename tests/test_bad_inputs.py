"""Issue 9: bad input at every public door gets an error naming the argument, what was expected and
what was given; the CLI turns it into one line on stderr and status 2; a diverging run stops with a
NonFiniteError naming epoch, batch and layer, and leaves the last good state behind.

The table is one list of cases per door (``pytest.mark.parametrize``): each case is the call, the
exception type and the words its message must contain.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from backproplab import data
from backproplab.cli import main
from backproplab.errors import CheckpointError, ChecksumError, DataNotFoundError, InputError, NonFiniteError
from backproplab.lessons import get_lesson
from backproplab.scratch import SGD, Dense, Network, NumpyANN, exponential, inverse_time, step_decay
from backproplab.scratch import fit as np_fit
from backproplab.torchnn import MLP, PyTorchANN, PyTorchCNN, load_checkpoint, save_checkpoint
from backproplab.torchnn import fit as torch_fit

X4 = np.zeros((10, 4))
Y3 = np.arange(10) % 3
TX = torch.zeros(8, 4)
TY = torch.zeros(8, dtype=torch.long)


def _net() -> Network:
    return Network.from_sizes([4, 5, 3], "relu", seed=0)


def _tfit(train=(TX, TY), **kw):
    args = {"epochs": 1, "batch_size": 2, "progress": False, "device": "cpu"} | kw
    return torch_fit(MLP([4, 3]), train, **args)


def _np_fit(X=X4, y=Y3, epochs=1, batch_size=2, optimizer=None, **kw):
    return np_fit(_net(), X, y, epochs, batch_size, optimizer or SGD(0.1), progress=False, **kw)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "notackpt.pt").write_bytes(b"hello world, this is not a checkpoint")
    (tmp_path / "bad.yaml").write_text("layers: [1, 2\n")
    (tmp_path / "foreign.yaml").write_text("foo: 3\n")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("someone's notes")
    (tmp_path / "afile").write_text("not a folder")
    _report(tmp_path / "rep-lessons-list", lambda d: d.update(lessons=[d["lessons"]["xor"]]))
    _report(tmp_path / "rep-settings-str", lambda d: d.update(settings="quick"))
    _report(tmp_path / "rep-claim-no-passed", lambda d: d["lessons"]["xor"]["claims"][0].pop("passed"))
    _report(tmp_path / "rep-figure-shadow", lambda d: d["lessons"]["xor"]["figures"].update(x="/etc/shadow"))
    _report(tmp_path / "rep-figure-up", lambda d: d["lessons"]["xor"]["figures"].update(x="../../etc/passwd"))
    _report(tmp_path / "rep-foreign", lambda d: None)
    (tmp_path / "rep-foreign" / "figures" / "xor").mkdir(parents=True)
    (tmp_path / "rep-foreign" / "figures" / "xor" / "notes.txt").write_text("mine")
    _report(tmp_path / "rep-deep", lambda d: None)
    (tmp_path / "rep-deep" / "results.json").write_text("[" * 100_000 + "]" * 100_000)
    _backprop_files(tmp_path)
    return tmp_path


def _envelope(path: Path, **fields) -> Path:
    """A version-2 checkpoint of MLP([4, 3]) with ``fields`` replaced, its content checksum intact."""
    import hashlib
    import io

    payload = {"format": "backproplab.torchnn.checkpoint", "version": 2, "model": MLP([4, 3]).state_dict(),
               "optimizer": None, "history": None, "epoch": 0, "rng": {}, "extra": {}} | fields
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    content = buffer.getvalue()
    torch.save({"format": "backproplab.torchnn.checkpoint", "version": 2,
                "sha256": hashlib.sha256(content).hexdigest(),
                "content": torch.frombuffer(bytearray(content), dtype=torch.uint8)}, path)
    return path


def _flipped(path: Path) -> Path:
    """A saved checkpoint with one byte of a weight changed (the zip CRC fails; torch.load does not care)."""
    model = MLP([4, 3])
    save_checkpoint(path, model)
    raw = bytearray(path.read_bytes())
    raw[raw.find(model.layers[0].weight.detach().numpy().tobytes()) + 3] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


def _resume(path: Path, epochs: int = 3):
    return _tfit(epochs=epochs, checkpoint=path, resume=True)


IDX_WRAPS = bytes([0, 0, 0x08, 4]) + (65536).to_bytes(4, "big") * 4  # 65536**4 = 2**64 wraps to 0 in int64

def _report(folder: Path, change) -> None:
    """An earlier report of ours in ``folder`` whose results.json is a valid document after ``change``."""
    claim = {"name": "c", "value": 1, "bound": "true", "passed": True}
    doc = {"format": "backproplab-report/1", "complete": True, "passed": True,
           "settings": {"quick": True, "seed": 0, "device": "cpu", "lessons": ["xor"]},
           "versions": {k: "1" for k in ("backproplab", "python", "numpy", "torch", "matplotlib")},
           "summary": {"lessons": 1, "lessons_done": 1, "lessons_failed": 0, "claims": 1, "claims_passed": 1,
                       "claims_failed": 0},
           "lessons": {"xor": {"title": "XOR", "status": "done", "passed": True, "params": {}, "claims": [claim],
                               "tables": {}, "text": {}, "figures": {}, "error": None}},
           "timings": {"total_s": 1.0, "lessons": {"xor": 1.0}}}
    change(doc)
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(doc))
    (folder / ".backproplab-report").write_text('{"format": "backproplab-report/1"}')


def _backprop_files(tmp_path: Path) -> None:
    """Network files for the tracer's rows: an alias bomb, deep nesting, a 400-digit weight, a NUL."""
    from backproplab.lessons import backprop_trace as bp

    levels = ['&a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"&{n} [" + ", ".join([f"*{p}"] * 9) + "]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
    (tmp_path / "bomb.yaml").write_text("description: [" + ", ".join(levels) + "]\ninput: [1.0]\n")
    nested = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.json").write_text(f'{{"input": {nested}, "target": [1.0], "layers": []}}')
    (tmp_path / "deep.yaml").write_text(f"input: {nested}\ntarget: [1.0]\nlayers: []\n")
    course = bp.examples()["course"].read_text(encoding="utf-8")
    (tmp_path / "big.yaml").write_text(course.replace("[0.5, -0.4]", f"[{'9' * 400}, -0.4]"))
    (tmp_path / "nul.yaml").write_text(course.replace("name: course", 'name: "nul\\0byte"'))


D, S, T, L = pytest.mark.data, pytest.mark.scratch, pytest.mark.torchnn, pytest.mark.lessons


def case(id_, mark, call, exc, *words):
    return pytest.param(call, exc, words, id=id_, marks=mark)


# call(files) -> raises; the words are checked in the message, in order-free, case-sensitive form
CASES = [
    # -- data -------------------------------------------------------------------------------------
    case("fashion-split", D, lambda f: data.load_fashion_mnist("validation"), InputError,
         "split", "'train', 'test'", "validation"),
    case("one_hot-above", D, lambda f: data.one_hot([0, 5], 3), InputError, "labels", "[0, 2]", "5"),
    case("one_hot-negative", D, lambda f: data.one_hot([-1, 1], 3), InputError, "labels", "[0, 2]", "-1"),
    case("minibatch-size-0", D, lambda f: list(data.iterate_minibatches(X4, Y3, 0)), InputError,
         "batch_size", ">= 1", "0"),
    case("minibatch-lengths", D, lambda f: list(data.iterate_minibatches(X4, Y3[:5], 2)), InputError,
         "X and y", "same length", "10", "5"),
    case("digits-positive", D, lambda f: data.load_digits_binary(positive="evens"), InputError,
         "positive", "'0-4'", "evens"),
    case("digits-fraction", D, lambda f: data.load_digits_binary(train_fraction=1.5), InputError,
         "train_fraction", "between 0 and 1", "1.5"),
    case("moons-n", D, lambda f: data.moons(n=0), InputError, "n must be", ">= 1", "0"),
    case("idx-dims-overflow-int64", D, lambda f: data.read_idx(IDX_WRAPS, name="x.idx"), ChecksumError,
         "x.idx", "corrupt IDX header", "(65536, 65536, 65536, 65536)"),
    case("fashion-root-missing-no-download", D,
         lambda f: data.load_fashion_mnist("test", root=f / "nope", download=False), DataNotFoundError,
         "root", "nope", "does not exist", "--no-download"),
    case("fashion-deadline", D, lambda f: data.load_fashion_mnist("test", deadline=0), InputError,
         "deadline", "positive number of seconds", "0"),
    case("fashion-min_rate", D, lambda f: data.load_fashion_mnist("test", min_rate=-1), InputError,
         "min_rate", ">= 0", "-1"),
    # -- scratch (NumPy engine) -------------------------------------------------------------------
    case("dense-d_in", S, lambda f: Dense(0, 3), InputError, "d_in", ">= 1", "0"),
    case("dense-activation", S, lambda f: Dense(3, 3, "swishy"), InputError, "activation", "relu", "swishy"),
    case("forward-width", S, lambda f: _net().forward(np.zeros((2, 5))), InputError, "x", "(N, 4)", "(2, 5)"),
    case("fit-lr-0", S, lambda f: _np_fit(optimizer=SGD(0.0)), InputError, "lr", "> 0", "0.0"),
    case("sgd-lr-negative", S, lambda f: SGD(-1), InputError, "lr", "> 0", "-1"),
    case("fit-batch_size-0", S, lambda f: _np_fit(batch_size=0), InputError, "batch_size", ">= 1", "0"),
    case("fit-epochs-0", S, lambda f: _np_fit(epochs=0), InputError, "epochs", ">= 1", "0"),
    case("fit-labels-range", S, lambda f: _np_fit(y=np.arange(10)), InputError, "y", "[0, 2]", "9"),
    case("fit-onehot-width", S, lambda f: _np_fit(y=np.zeros((10, 4))), InputError, "y", "(10, 3)", "(10, 4)"),
    case("fit-X-nan", S, lambda f: _np_fit(X=np.full((10, 4), np.nan)), InputError, "X", "finite", "NaN"),
    case("fit-loss-name", S, lambda f: _np_fit(loss="hinge"), InputError,
         "loss", "softmax_cross_entropy", "hinge"),
    case("schedule-exponential", S, lambda f: exponential(0.1, -1), InputError, "d must", "> 0", "-1"),
    case("schedule-step-every", S, lambda f: step_decay(0.1, 0.5, 0), InputError, "every", ">= 1", "0"),
    case("schedule-inverse-k", S, lambda f: inverse_time(0.1, -2), InputError, "k must", ">= 0", "-2"),
    case("schedule-negative-t", S, lambda f: exponential(0.1, 0.5)(-1), InputError, "t must", "non-negative", "-1"),
    case("sgd-momentum", S, lambda f: SGD(0.1, momentum=1.5), InputError, "momentum", "[0, 1)", "1.5"),
    case("sgd-per", S, lambda f: SGD(0.1, per="minute"), InputError, "per", "'step'", "minute"),
    case("numpyann-input_size", S, lambda f: NumpyANN(0, 3, 2), InputError, "input_size", "0"),
    case("numpyann-output_size", S, lambda f: NumpyANN(4, 3, 1), InputError, "output_size", ">= 2", "1"),
    case("numpyann-X-width", S, lambda f: NumpyANN(4, 3, 2).train(np.zeros((5, 3)), np.zeros(5, int), epochs=1),
         InputError, "X_train", "(N, 4)", "(5, 3)"),
    case("numpyann-labels", S, lambda f: NumpyANN(4, 3, 2).train(np.zeros((5, 4)), np.full(5, 7), epochs=1),
         InputError, "y_train", "[0, 1]", "7"),
    # -- torchnn ----------------------------------------------------------------------------------
    case("tfit-epochs", T, lambda f: _tfit(epochs=0), InputError, "epochs", "positive integer", "0"),
    case("tfit-batch_size", T, lambda f: _tfit(batch_size=-1), InputError, "batch_size", "positive integer", "-1"),
    case("tfit-device", T, lambda f: _tfit(device="tpu"), InputError, "device", "'cuda'", "tpu"),
    case("tfit-lr", T, lambda f: _tfit(lr=-1.0), InputError, "lr", "positive finite", "-1"),
    case("tfit-labels-range", T, lambda f: _tfit(train=(TX, torch.full((8,), 7))), InputError,
         "train y", "[0, 2]", "7"),
    case("tfit-labels-float", T, lambda f: _tfit(train=(TX, torch.zeros(8))), InputError,
         "train y", "integer class indices", "float32"),
    case("tfit-X-nan", T, lambda f: _tfit(train=(torch.full((8, 4), float("nan")), TY)), InputError,
         "train X", "finite", "NaN"),
    case("tfit-y-length", T, lambda f: _tfit(train=(TX, TY[:5])), InputError, "train y", "[8]", "(5,)"),
    case("tfit-momentum", T, lambda f: _tfit(momentum=-1), InputError, "momentum", ">= 0", "-1"),
    case("tfit-weight_decay", T, lambda f: _tfit(weight_decay=-0.5), InputError, "weight_decay", ">= 0", "-0.5"),
    case("tfit-X-width", T, lambda f: _tfit(train=(torch.zeros(8, 5), TY)), InputError,
         "train X", "input shape the model expects", "(5,)"),
    case("tfit-X-float16", T, lambda f: _tfit(train=(TX.half(), TY)), InputError,
         "train X", "dtype float32", "float16"),
    case("tfit-X-float64", T, lambda f: _tfit(train=(TX.double(), TY)), InputError,
         "train X", "dtype float32", "float64"),
    case("tfit-X-int64", T, lambda f: _tfit(train=(TX.long(), TY)), InputError,
         "train X", "dtype float32", "int64"),
    case("checkpoint-flipped-bytes", T, lambda f: load_checkpoint(_flipped(f / "flipped.pt"), MLP([4, 3])),
         CheckpointError, "flipped.pt", "corrupt", "CRC"),
    case("checkpoint-history-list", T, lambda f: _resume(_envelope(f / "h.pt", history=[0.5])),
         CheckpointError, "h.pt", "'history' must be a dict", "list"),
    case("checkpoint-epoch-beyond", T, lambda f: _resume(_envelope(f / "e.pt", epoch=1000)),
         CheckpointError, "e.pt", "1000 completed epochs", "epochs=3"),
    case("checkpoint-epoch-negative", T, lambda f: _resume(_envelope(f / "n.pt", epoch=-5)),
         CheckpointError, "n.pt", "'epoch' must be", ">= 0", "-5"),
    case("save-checkpoint-epoch", T, lambda f: save_checkpoint(f / "s.pt", MLP([4, 3]), epoch=-1), InputError,
         "epoch", ">= 0", "-1"),
    case("mlp-sizes-short", T, lambda f: MLP([4]), InputError, "sizes", "input and an output", "[4]"),
    case("mlp-sizes-zero", T, lambda f: MLP([4, 0, 3]), InputError, "sizes[1]", "positive integer", "0"),
    case("mlp-activation", T, lambda f: MLP([4, 3, 2], "swishy"), InputError, "activation", "relu", "swishy"),
    case("checkpoint-foreign-file", T, lambda f: load_checkpoint(f / "notackpt.pt", MLP([4, 3])), CheckpointError,
         "checkpoint", "notackpt.pt", "not a torch file"),
    case("checkpoint-missing", T, lambda f: load_checkpoint(f / "none.pt", MLP([4, 3])), CheckpointError,
         "checkpoint", "none.pt", "does not exist"),
    case("pytorchann-size", T, lambda f: PyTorchANN(0, 3, 2), InputError, "input_size", "positive integer", "0"),
    case("pytorchann-epochs", T, lambda f: PyTorchANN(4, 3, 2).train(np.zeros((5, 4)), np.zeros(5, int), epochs=0),
         InputError, "epochs", "positive integer", "0"),
    case("pytorchcnn-dropout", T, lambda f: PyTorchCNN(dropout=1.5), InputError, "dropout", "[0, 1)", "1.5"),
    # -- lessons ----------------------------------------------------------------------------------
    case("lesson-unknown", L, lambda f: get_lesson("backpropp"), ValueError, "unknown lesson", "'backprop'",
         "backpropp"),
    case("gd-unknown-name", L, lambda f: get_lesson("gradient-descent").run(quick=True, expr="x**2 + z"),
         InputError, "expression", "unknown name 'z'", "expected variables x, y"),
    case("gd-syntax", L, lambda f: get_lesson("gradient-descent").run(quick=True, expr="x**2 +"),
         InputError, "expression", "ends too early", "expected"),
    case("gd-eta", L, lambda f: get_lesson("gradient-descent").run(quick=True, eta=-1), InputError,
         "eta", "positive", "-1"),
    case("backprop-bad-yaml", L, lambda f: get_lesson("backprop").run(quick=True, network=f / "bad.yaml"),
         InputError, "network file", "bad.yaml", "not valid YAML", "line"),
    case("backprop-unknown-key", L, lambda f: get_lesson("backprop").run(quick=True, network=f / "foreign.yaml"),
         InputError, "foreign.yaml", "unknown key(s) foo", "expected"),
    case("backprop-alias-bomb", L, lambda f: get_lesson("backprop").run(quick=True, network=f / "bomb.yaml"),
         InputError, "bomb.yaml", "line 1", "anchors and aliases", "not supported"),
    case("backprop-deep-json", L, lambda f: get_lesson("backprop").run(quick=True, network=f / "deep.json"),
         InputError, "deep.json", "nested too deeply", "at most 16"),
    case("backprop-deep-yaml", L, lambda f: get_lesson("backprop").run(quick=True, network=f / "deep.yaml"),
         InputError, "deep.yaml", "not valid YAML", "nesting"),
    case("backprop-400-digits", L, lambda f: get_lesson("backprop").run(quick=True, network=f / "big.yaml"),
         InputError, "big.yaml", "layers[0].weights[0][0]", "fits a float", "400 digits"),
    case("backprop-nul-name", L, lambda f: get_lesson("backprop").run(quick=True, network=f / "nul.yaml"),
         InputError, "nul.yaml", "name: control character", r"'\x00'"),
    case("backprop-out-is-a-file", L, lambda f: get_lesson("backprop").run(quick=True, out=f / "bad.yaml" / "x"),
         InputError, "out:", "bad.yaml", "which is a file", "expected a directory"),
    case("conv-kernel-too-big", L, lambda f: get_lesson("conv").run(quick=True, size=3, kernel=7), InputError,
         "kernel 7", "larger than the padded input", "n + 2*padding"),
    case("xor-seed-negative", L, lambda f: get_lesson("xor").run(quick=True, seed=-1), InputError,
         "seed", ">= 0", "-1"),
    case("gd-seed-negative", L, lambda f: get_lesson("gradient-descent").run(quick=True, seed=-3), InputError,
         "seed", ">= 0", "-3"),
    case("conv-stride", L, lambda f: get_lesson("conv").run(quick=True, size=8, kernel=3, stride=0), InputError,
         "stride", ">= 1", "0"),
]


@pytest.mark.parametrize(("call", "exc", "words"), CASES)
def test_bad_input_is_named(call, exc, words, files: Path) -> None:
    with pytest.raises(exc) as info:
        call(files)
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"message {message!r} lacks {missing}"


# argv (with {tmp} for the fixture folder) and the words the one stderr line must contain
CLI_CASES = [
    pytest.param(["nosuch"], ["COMMAND", "invalid choice", "nosuch"], id="unknown-command"),
    pytest.param(["xor", "--seed", "x"], ["--seed", "int", "'x'"], id="seed-not-int"),
    pytest.param(["gradient-descent", "--expr", "x + z"], ["expression", "unknown name 'z'"], id="gd-expr"),
    pytest.param(["gradient-descent", "--expr", "__import__('os')"], ["expression", "unexpected character"],
                 id="gd-code"),
    pytest.param(["gradient-descent", "--steps", "0"], ["steps", "from 1", "0"], id="gd-steps"),
    pytest.param(["conv", "--size", "3", "--kernel", "7"], ["kernel 7", "padded input"], id="conv-kernel"),
    pytest.param(["conv", "--size", "8", "--kernel", "3", "--padding", "-1"], ["padding", ">= 0", "-1"],
                 id="conv-padding"),
    pytest.param(["backprop", "{tmp}/bad.yaml"], ["network file", "bad.yaml", "YAML"], id="backprop-yaml"),
    pytest.param(["backprop", "{tmp}/nope.yaml"], ["nope.yaml", "does not exist"], id="backprop-missing"),
    pytest.param(["backprop", "--example", "nosuch"], ["--example", "invalid choice", "nosuch"],
                 id="backprop-example"),
    pytest.param(["backprop", "{tmp}/bomb.yaml"], ["bomb.yaml", "anchors and aliases"], id="backprop-alias-bomb"),
    pytest.param(["backprop", "{tmp}/deep.json"], ["deep.json", "nested too deeply"], id="backprop-deep-json"),
    pytest.param(["backprop", "{tmp}/deep.yaml"], ["deep.yaml", "nesting"], id="backprop-deep-yaml"),
    pytest.param(["backprop", "{tmp}/big.yaml", "--out", "{tmp}/o"], ["layers[0].weights[0][0]", "400 digits"],
                 id="backprop-400-digits"),
    pytest.param(["backprop", "{tmp}/nul.yaml"], ["name: control character", r"'\x00'"], id="backprop-nul-name"),
    pytest.param(["backprop", "--out", "{tmp}/bad.yaml"], ["out must be a directory", "bad.yaml", "is a file"], id="backprop-out-file"),
    pytest.param(["fashion", "--model", "resnet"], ["--model", "'cnn'", "resnet"], id="fashion-model"),
    pytest.param(["fashion", "--epochs", "0"], ["--epochs", "integer from 1 to 100", "0"], id="fashion-epochs"),
    pytest.param(["activations", "--seed", "-1"], ["seed", ">= 0", "-1"], id="activations-seed"),
    pytest.param(["conv", "--quick", "--seed", "-2"], ["seed", ">= 0", "-2"], id="conv-seed"),
    pytest.param(["activations", "--big-lr", "-1"], ["big_lr", "> 0", "-1"], id="activations-lr"),
    pytest.param(["reproduce", "--only", "nosuch", "--out", "{tmp}/r"], ["only", "unknown lesson", "nosuch"],
                 id="reproduce-only"),
    pytest.param(["reproduce", "--device", "tpu"], ["--device", "invalid choice", "tpu"], id="reproduce-device"),
    pytest.param(["reproduce", "--quick", "--only", "xor", "--out", "{tmp}/full"],
                 ["out", "not empty", "mine.txt", "--force"], id="reproduce-out-not-ours"),
    pytest.param(["data", "--root"], ["--root", "expected one argument"], id="data-root-missing"),
    # -- issue 13 ---------------------------------------------------------------------------------
    pytest.param(["conv", "--quick", "--out", "{tmp}/afile"], ["out must be a directory", "afile", "is a file"],
                 id="conv-out-is-a-file"),
    pytest.param(["conv", "--quick", "--out", "{tmp}/afile/sub"], ["out must be a directory", "lies below the file",
                                                                  "afile"], id="conv-out-below-a-file"),
    pytest.param(["reproduce", "--quick", "--out", "{tmp}/afile/sub"], ["out must be a directory", "lies below"],
                 id="reproduce-out-below-a-file"),
    pytest.param(["xor", "--seed", str(2**64)], ["--seed", "< 2**32", str(2**64)], id="seed-2**64"),
    pytest.param(["reproduce", "--seed", str(2**32)], ["--seed", "< 2**32", str(2**32)], id="reproduce-seed-2**32"),
    pytest.param(["conv", "--quick", "--size", "1000000000", "--kernel", "3"], ["size", "n=1000000000", "<= 4194304"],
                 id="conv-size-1e9"),
    pytest.param(["conv", "--quick", "--size", "30000", "--kernel", "3"], ["size", "n=30000", "<= 4194304"],
                 id="conv-size-30000"),
    pytest.param(["conv", "--quick", "--size", "2000", "--kernel", "64"], ["kernel", "multiply-adds", "<= 33554432"],
                 id="conv-work"),
    pytest.param(["conv", "--quick", "--kernel", "9", "--in-channels", "10000000", "--out-channels", "10000000"],
                 ["--in-channels, --out-channels and --kernel", "parameters", "at most 1,099,511,627,776"], id="conv-params"),
    # torch's conv2d raised a TypeError traceback on a stride or dilation of 2**63 and beyond
    pytest.param(["conv", "--quick", "--size", "5", "--kernel", "3", "--stride", "99999999999999999999"],
                 ["stride must be at most 4194304", "99999999999999999999"], id="conv-stride-huge"),
    pytest.param(["conv", "--quick", "--size", "5", "--kernel", "1", "--dilation", "99999999999999999999"],
                 ["dilation must be at most 4194304"], id="conv-dilation-huge"),
    # an empty path was the current folder: "got the directory '.'", "network file '.' does not exist"
    pytest.param(["bench", "--quick", "--json", ""], ["--json", "expected a file path, got ''"], id="bench-json-empty"),
    pytest.param(["backprop", ""], ["network", "expected a network file path, got ''"], id="backprop-empty"),
    # Path() drops a trailing slash: --json out/ wrote a file named out
    pytest.param(["bench", "--quick", "--json", "{tmp}/out/"], ["--json", "which names a folder"], id="bench-json-slash"),
    pytest.param(["bench", "--quick", "--json", "{tmp}/afile/x.json"],
                 ["the folder of --json must be a directory", "afile' is a file"], id="bench-json-below-a-file"),
    pytest.param(["conv", "--quick", "--out", "/dev/null"], ["'/dev/null' is a device, pipe or socket"],
                 id="conv-out-device"),
    # without --size they were ignored, exit 0
    pytest.param(["conv", "--quick", "--stride", "3"], ["stride=3", "only shape an output size", "--size"],
                 id="conv-stride-without-size"),
    pytest.param(["reproduce", "--resume", "--quick", "--device", "cpu", "--only", "xor", "--out",
                  "{tmp}/rep-lessons-list"], ["resume", "results.json", "['lessons']", "expected object"],
                 id="resume-lessons-list"),
    pytest.param(["reproduce", "--resume", "--quick", "--device", "cpu", "--only", "xor", "--out",
                  "{tmp}/rep-settings-str"], ["resume", "['settings']", "expected object", "'quick'"],
                 id="resume-settings-string"),
    pytest.param(["reproduce", "--resume", "--quick", "--device", "cpu", "--only", "xor", "--out",
                  "{tmp}/rep-claim-no-passed"], ["resume", "['claims'][0]", "lacks 'passed'"],
                 id="resume-claim-without-passed"),
    pytest.param(["reproduce", "--resume", "--quick", "--device", "cpu", "--only", "xor", "--out",
                  "{tmp}/rep-figure-shadow"], ["resume", "'/etc/shadow' does not match", "figures/"],
                 id="resume-figure-absolute"),
    pytest.param(["reproduce", "--resume", "--quick", "--device", "cpu", "--only", "xor", "--out",
                  "{tmp}/rep-figure-up"], ["resume", "'../../etc/passwd' does not match"], id="resume-figure-up"),
    pytest.param(["reproduce", "--resume", "--quick", "--device", "cpu", "--only", "xor", "--out",
                  "{tmp}/rep-deep"], ["resume", "cannot read", "RecursionError"], id="resume-deep-json"),
    pytest.param(["reproduce", "--quick", "--device", "cpu", "--only", "xor", "--out", "{tmp}/rep-foreign"],
                 ["earlier report plus other files", "figures/xor/notes.txt", "--force"], id="reproduce-foreign-figure"),
]


@pytest.mark.cli
@pytest.mark.parametrize(("argv", "words"), CLI_CASES)
def test_cli_bad_input_is_one_line_and_status_2(argv, words, files: Path, capsys) -> None:
    argv = [a.replace("{tmp}", str(files)) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("backproplab"), err
    assert "error:" in err
    missing = [w for w in words if w not in err]
    assert not missing, f"stderr {err!r} lacks {missing}"


# missing data: status 1 (not 2), still one line
CLI_MISSING_DATA_CASES = [
    pytest.param(["data", "--root", "{tmp}/nope", "--no-download"], ["root", "nope", "does not exist"],
                 id="data-root-missing-no-download"),
]


@pytest.mark.cli
@pytest.mark.parametrize(("argv", "words"), CLI_MISSING_DATA_CASES)
def test_cli_missing_data_is_one_line_and_status_1(argv, words, files: Path, capsys) -> None:
    argv = [a.replace("{tmp}", str(files)) for a in argv]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("backproplab: error:"), err
    missing = [w for w in words if w not in err]
    assert not missing, f"stderr {err!r} lacks {missing}"


def test_the_table_is_large_enough() -> None:
    assert len(CASES) + len(CLI_CASES) >= 30


ABSURD_CONV = [["conv", "--quick", "--size", "1000000000", "--kernel", "3"],
               ["conv", "--quick", "--size", "30000", "--kernel", "3"],
               ["conv", "--quick", "--size", "2048", "--kernel", "3", "--padding", "100000"],
               ["conv", "--quick", "--kernel", "3", "--in-channels", "1000000000", "--out-channels", "1000000000"]]


def _one_gigabyte() -> None:
    """The child's limits: 1 GiB of address space and 10 s of CPU (the kernel stops it past either).

    CPU time, not wall time, is the bound: on a shared machine wall time measures the neighbours too.
    The wall-clock timeout of the callers only guards against a hang that uses no CPU.
    """
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))
    resource.setrlimit(resource.RLIMIT_CPU, (10, 10))


def _refused_in_one_line(status: int, stderr: str) -> None:
    assert status == 2, stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1, stderr
    assert stderr.startswith("backproplab: error: ") and "expected" in stderr


@pytest.mark.cli
@pytest.mark.parametrize("argv", ABSURD_CONV, ids=["size-1e9", "size-30000", "padding", "channels"])
def test_absurd_conv_sizes_are_refused_within_1gb_and_10s_of_cpu(argv, limited_cli, tmp_path) -> None:
    _refused_in_one_line(*limited_cli(argv, tmp_path))


@pytest.mark.cli
def test_a_fresh_process_starts_and_refuses_within_1gb_and_10s_of_cpu() -> None:
    """Python's start-up and the imports fit the limits too (the cases above fork from a started server)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "backproplab", *ABSURD_CONV[2]], capture_output=True, text=True,
                          timeout=120, preexec_fn=_one_gigabyte, env=env)
    _refused_in_one_line(proc.returncode, proc.stderr)


@pytest.mark.cli
@pytest.mark.parametrize(("argv", "words"), CLI_CASES + CLI_MISSING_DATA_CASES)
def test_every_cli_case_ends_within_1gb_and_10s_of_cpu_in_its_own_process(argv, words, files: Path,
                                                                          limited_cli) -> None:
    """The whole CLI table again, each case its own process under 1 GiB of memory and 10 s of CPU."""
    argv = [a.replace("{tmp}", str(files)) for a in argv]
    status, stderr = limited_cli(argv, files)
    assert status in (1, 2), stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1, stderr
    assert all(w in stderr for w in words), stderr


# -- non-finite training -------------------------------------------------------------------------


def _replayed_params(net_factory, X, Y, batch_size, momentum, seed, steps):
    """The NumPy network's parameters and optimizer after ``steps`` SGD steps of fit's own batch order."""
    from backproplab.scratch.train import loss_and_grad

    net, opt = net_factory(), SGD(3.0, momentum=momentum)
    rng = np.random.default_rng(seed)
    done, n = 0, len(X)
    with np.errstate(all="ignore"):
        while done < steps:
            order = rng.permutation(n)
            for k in range(0, n, batch_size):
                if done == steps:
                    break
                idx = order[k:k + batch_size]
                _, g = loss_and_grad("half_mse", net._forward(X[idx].copy()), Y[idx])
                net.backward(g)
                opt.step(net.parameters(), net.gradients())
                done += 1
            opt.end_epoch()
    return net.parameters(), opt


@pytest.mark.scratch
@pytest.mark.parametrize(("batch_size", "momentum"), [(16, 0.9), (64, 0.0)], ids=["mid-epoch", "first-batch"])
def test_numpy_fit_divergence_restores_the_start_of_the_failing_epoch(batch_size, momentum) -> None:
    X = np.random.default_rng(0).standard_normal((64, 4))
    Y = X[:, :1] * 3

    def make() -> Network:
        return Network.from_sizes([4, 8, 1], ["tanh", "identity"], seed=0)

    net, opt = make(), SGD(3.0, momentum=momentum)
    with pytest.raises(NonFiniteError) as info:
        np_fit(net, X, Y, 500, batch_size, opt, loss="half_mse", seed=1, progress=False)
    err = info.value
    message = str(err)
    n_batches = 64 // batch_size
    assert re.search(rf"epoch {err.epoch}, batch {err.batch} of {n_batches};", message)
    assert "layers[" in message and f"restored to the start of epoch {err.epoch}" in message
    assert err.epoch > 1 and len(err.history) == err.epoch - 1
    # the policy of both engines (backproplab.divergence): the start of the failing epoch, i.e. the
    # parameters and momentum after the epochs before it, the same as an uninterrupted shorter run
    expected, expected_opt = _replayed_params(make, X, Y, batch_size, momentum, 1, (err.epoch - 1) * n_batches)
    for got, want in zip(net.parameters(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert opt.t == expected_opt.t
    for got, want in zip(opt._velocity or [], expected_opt._velocity or [], strict=True):
        np.testing.assert_array_equal(got, want)
    assert all(np.isfinite(p).all() for p in net.parameters())


@pytest.mark.scratch
def test_numpy_fit_names_the_first_layer_whose_activation_overflows() -> None:
    X = np.full((8, 2), 1e300)
    net = Network.from_sizes([2, 3, 2], "relu", seed=0)
    before = [p.copy() for p in net.parameters()]
    with pytest.raises(NonFiniteError, match=r"epoch 1, batch [12] of 2; first non-finite: layers\[0\] \(relu\) "
                                             r"activation"):
        np_fit(net, X, np.arange(8) % 2, 2, 4, SGD(0.1), progress=False)
    # the start of epoch 1: the initial parameters
    for got, want in zip(net.parameters(), before, strict=True):
        np.testing.assert_array_equal(got, want)


def _blobs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(256, 12, generator=g)
    return X, (X[:, 0] > 0).long() + (X[:, 1] > 0).long()


@pytest.mark.torchnn
def test_torch_fit_divergence_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    X, y = _blobs()
    ckpt = tmp_path / "run.pt"
    torch.manual_seed(0)
    model = MLP([12, 16, 3], "relu")
    torch.manual_seed(0)
    reference = MLP([12, 16, 3], "relu")
    with pytest.raises(NonFiniteError) as info:
        torch_fit(model, (X, y), epochs=30, batch_size=32, lr=50.0, device="cpu", progress=False,
                  checkpoint=ckpt, checkpoint_every=5)
    err = info.value
    message = str(err)
    assert f"epoch {err.epoch}, batch {err.batch} of 8" in message
    assert re.search(r"first non-finite: .*layers\.\d", message), message
    assert err.epoch > 1
    # the model is back at the start of the failing epoch, the same as an uninterrupted shorter run
    torch_fit(reference, (X, y), epochs=err.epoch - 1, batch_size=32, lr=50.0, device="cpu", progress=False)
    for (name, got), want in zip(model.state_dict().items(), reference.state_dict().values(), strict=True):
        assert torch.equal(got, want), name
    # ... and the checkpoint holds that state, although checkpoint_every=5 had skipped that epoch
    fresh = MLP([12, 16, 3], "relu")
    state = load_checkpoint(ckpt, fresh)
    assert int(state["epoch"]) == err.epoch - 1
    for got, want in zip(fresh.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(got, want)


@pytest.mark.torchnn
def test_torch_fit_names_the_first_layer_whose_activation_overflows() -> None:
    X, y = _blobs()
    torch.manual_seed(0)
    model = MLP([12, 16, 3], "relu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(NonFiniteError, match=r"epoch 1, batch 1 of 8; first non-finite: output \(activation\) "
                                             r"of layers\.0 \(Linear\)"):
        torch_fit(model, (X.sign() * 3e38, y), epochs=1, batch_size=32, device="cpu", progress=False)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_the_seeds_after_the_largest_seed_wrap_to_zero():
    """The lessons that take a median over several runs (digits, questions, mistakes, activations) draw them
    from one helper: ``--seed 2**32 - 1`` is valid, and the seeds after it must be too."""
    from backproplab.checks import SEED_LIMIT, check_seed, following_seeds

    assert following_seeds(7, 3) == [7, 8, 9]
    assert following_seeds(SEED_LIMIT - 2, 4) == [SEED_LIMIT - 2, SEED_LIMIT - 1, 0, 1]
    assert all(check_seed(s) == s for s in following_seeds(SEED_LIMIT - 1, 5))
