"""fit / evaluate: equal to a hand-written loop, seeded, device-side metrics, clear errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from backproplab.errors import InputError, NonFiniteError
from backproplab.torchnn import MLP, History, evaluate, fit, plot_history, resolve_device

pytestmark = pytest.mark.torchnn

_spec = importlib.util.spec_from_file_location("_tn_helpers", Path(__file__).with_name("_helpers.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
blobs = _helpers.blobs


def _model(seed: int = 0) -> MLP:
    torch.manual_seed(seed)
    return MLP([12, 16, 3], "relu")


def test_fit_equals_a_hand_written_seeded_loop():
    X, y = blobs()
    model, ref = _model(), _model()
    hist = fit(model, (X, y), epochs=3, batch_size=32, lr=0.05, momentum=0.5, seed=7, progress=False,
               device="cpu")
    opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.5)
    gen = torch.Generator().manual_seed(7)
    losses = []
    for _ in range(3):
        perm = torch.randperm(len(X), generator=gen)
        total, correct = 0.0, 0
        for start in range(0, len(X), 32):
            idx = perm[start:start + 32]
            out = ref(X[idx])
            loss = F.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (out.argmax(1) == y[idx]).sum().item()
        losses.append((total / len(X), correct / len(X)))
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    for (loss, acc), tl, ta in zip(losses, hist.train_loss, hist.train_acc, strict=True):
        assert tl == pytest.approx(loss, rel=1e-6)
        assert ta == pytest.approx(acc)



def test_a_conv_net_trains_in_channels_last_on_the_cpu_to_the_values_of_a_plain_loop():
    """fit puts a CPU conv net in channels-last layout (oneDNN runs it about a quarter faster); the weights
    it reaches are those of a hand-written loop in the default layout, up to rounding."""
    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                   torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 3))

    X, y = torch.randn(48, 1, 8, 8, generator=torch.Generator().manual_seed(1)), torch.arange(48) % 3
    model, ref = net(), net()
    fit(model, (X, y), epochs=2, batch_size=16, lr=0.05, seed=3, progress=False, device="cpu")
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    opt, gen = torch.optim.SGD(ref.parameters(), lr=0.05), torch.Generator().manual_seed(3)
    for _ in range(2):
        for idx in torch.randperm(48, generator=gen).split(16):
            opt.zero_grad()
            F.cross_entropy(ref(X[idx]), y[idx]).backward()
            opt.step()
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)

def test_same_seed_same_result_regardless_of_global_rng():
    X, y = blobs()
    torch.manual_seed(1)
    h1 = fit(m1 := _model(), (X, y), (X, y), epochs=2, batch_size=50, seed=3, progress=False)
    m2 = _model()
    torch.manual_seed(999)
    state = torch.get_rng_state()
    h2 = fit(m2, (X, y), (X, y), epochs=2, batch_size=50, seed=3, progress=False)
    assert torch.equal(torch.get_rng_state(), state), "fit must not consume the caller's RNG stream"
    assert h1.to_dict()["train_loss"] == h2.to_dict()["train_loss"]
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters(), strict=True))
    h3 = fit(m3 := _model(), (X, y), epochs=2, batch_size=50, seed=4, progress=False)
    assert not all(torch.equal(p, q) for p, q in zip(m1.parameters(), m3.parameters(), strict=True))
    assert h3.val_loss == []


def test_history_shape_learning_and_dict_round_trip():
    X, y = blobs(seed=1)
    Xv, yv = blobs(n=90, seed=1)
    hist = fit(_model(), (X, y), (Xv, yv), epochs=4, batch_size=16, optimizer="adam", lr=0.01,
               seed=0, progress=False)
    assert hist.epochs == 4 and len(hist.val_acc) == 4 and len(hist.epoch_time) == 4
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert hist.val_acc[-1] > 0.9
    assert hist.params["optimizer"] == "Adam" and hist.params["batch_size"] == 16
    again = History.from_dict(hist.to_dict())
    assert again == hist
    fig = plot_history(hist, title="blobs")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2


def test_evaluate_matches_direct_computation_and_restores_mode():
    X, y = blobs()
    model = _model()
    model.train()
    loss, acc = evaluate(model, X, y, batch_size=37)
    with torch.no_grad():
        out = model(X)
    assert loss == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-5)
    assert acc == pytest.approx((out.argmax(1) == y).float().mean().item())
    assert model.training


def test_device_auto_picks_cuda_only_when_available():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(InputError, match="device"):
        resolve_device("tpu-ish")


def test_bad_arguments_are_named():
    X, y = blobs()
    with pytest.raises(InputError, match="batch_size"):
        fit(_model(), (X, y), epochs=1, batch_size=0, progress=False)
    with pytest.raises(InputError, match=r"train y must have shape \[N\]"):
        fit(_model(), (X, y[:5]), epochs=1, batch_size=8, progress=False)
    with pytest.raises(InputError, match="optimizer"):
        fit(_model(), (X, y), epochs=1, batch_size=8, optimizer="lbfgs-ish", progress=False)
    with pytest.raises(InputError, match="resume"):
        fit(_model(), (X, y), epochs=1, batch_size=8, resume=True, progress=False)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float64, torch.int64, torch.uint8],
                         ids=["float16", "float64", "int64", "uint8"])
def test_X_of_another_dtype_is_named_by_its_dtype_not_blamed_on_the_shape(dtype):
    # documented behaviour: refused with the dtype named, never converted silently (not even float64)
    X, y = blobs(n=16)
    with pytest.raises(InputError) as info:
        fit(_model(), (X.to(dtype), y), epochs=1, batch_size=8, progress=False, device="cpu")
    message = str(info.value)
    name = str(dtype).removeprefix("torch.")
    assert f"train X must have the model's dtype float32, got dtype {name}" in message
    assert "X.to(torch.float32)" in message and "input shape" not in message
    with pytest.raises(InputError, match=f"val X must have the model's dtype float32, got dtype {name}"):
        fit(_model(), (X, y), (X.to(dtype), y), epochs=1, batch_size=8, progress=False, device="cpu")


def test_a_float64_model_takes_float64_X():
    X, y = blobs(n=16)
    model = _model().double()
    history = fit(model, (X.double(), y), epochs=1, batch_size=8, progress=False, device="cpu")
    assert len(history) == 1 and all(p.dtype == torch.float64 for p in model.parameters())


def test_divergence_names_epoch_batch_and_layer():
    X, y = blobs()
    with pytest.raises(NonFiniteError, match=r"epoch 1, batch \d+ of 8; first non-finite: .*layers\.\d"):
        fit(_model(), (X * 1e4, y), epochs=2, batch_size=32, lr=1e4, progress=False)


def test_lr_schedule_scales_the_base_rate_each_epoch():
    X, y = blobs()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    seen = []
    fit(model, (X, y), epochs=3, batch_size=64, optimizer=opt, progress=False,
        lr_schedule=lambda e: seen.append(e) or 0.5 ** e)
    assert seen == [0, 1, 2]
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    with pytest.raises(InputError, match="lr_schedule"):
        fit(_model(), (X, y), epochs=1, batch_size=64, progress=False, lr_schedule=lambda e: 0.0)


def test_a_non_callable_lr_schedule_is_refused_before_a_resume_loads_the_checkpoint(tmp_path):
    """The door refuses it: the caller's model keeps its parameters (no checkpoint loaded into it)."""
    X, y = blobs()
    ckpt = tmp_path / "run.pt"
    fit(_model(), (X, y), epochs=1, batch_size=64, progress=False, checkpoint=ckpt)
    model = _model(seed=1)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(InputError, match=r"lr_schedule must be a callable\(epoch\) -> float or None, got 0\.1"):
        fit(model, (X, y), epochs=2, batch_size=64, progress=False, checkpoint=ckpt, resume=True, lr_schedule=0.1)
    for got, want in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_fit_takes_numpy_arrays_and_a_dataloader_as_it_takes_tensors():
    """fashion_mnist_flat returns NumPy arrays; a course hands a DataLoader: both train as the tensors do."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=96)
    runs = {}
    for kind, data in {"tensor": (torch.from_numpy(X), torch.from_numpy(y)), "numpy": (X, y),
                       "loader": DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=7)}.items():
        torch.manual_seed(0)
        model = MLP([4, 3])
        fit(model, data, epochs=2, batch_size=16, seed=0, progress=False)
        runs[kind] = model.layers[0].weight.detach().clone()
    torch.testing.assert_close(runs["numpy"], runs["tensor"], rtol=0, atol=0)
    torch.testing.assert_close(runs["loader"], runs["tensor"], rtol=0, atol=0)


@pytest.mark.parametrize("X, y, words", [
    (torch.full((8, 12), float("nan")), torch.zeros(8, dtype=torch.long), "X must be finite, got 96 NaN/inf"),
    (torch.zeros(8, 12, dtype=torch.float64), torch.zeros(8, dtype=torch.long), "X must have the model's dtype float32"),
    (torch.zeros(8, 5), torch.zeros(8, dtype=torch.long), "X must have the input shape the model expects"),
    (torch.zeros(8, 12), torch.full((8,), 3), "y must hold class indices in [0, 2]"),
    (torch.zeros(8, 12), torch.zeros(8), "y must hold integer class indices (int64)"),
])
def test_evaluate_checks_its_data_as_fit_does(X, y, words):
    """evaluate of NaN images returned (nan, 1.0): every NaN row's argmax is class 0, and so were the
    labels. The others were torch's RuntimeError or IndexError, naming no argument."""
    with pytest.raises(InputError) as err:
        evaluate(_model(), X, y)
    assert str(err.value).startswith("evaluate data ") and words in str(err.value)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8])
def test_labels_of_any_integer_dtype_train_and_evaluate_as_int64(dtype):
    """int32 labels (NumPy's default on Windows) stopped fit at its first batch with torch's 'expected
    target dtype to be Long or Byte, but got Int'."""
    X, y = blobs()
    hist = fit(_model(), (X, y.to(dtype)), (X, y.to(dtype)), epochs=1, batch_size=32, progress=False, device="cpu",
               seed=3)
    ref = fit(_model(), (X, y), (X, y), epochs=1, batch_size=32, progress=False, device="cpu", seed=3)
    assert hist.train_loss == ref.train_loss and hist.val_acc == ref.val_acc
    assert evaluate(_model(), X, y.to(dtype)) == evaluate(_model(), X, y)


def test_a_bad_eval_batch_size_is_refused_before_the_first_epoch():
    X, y = blobs()
    with pytest.raises(InputError, match="eval_batch_size must be a positive integer, got 0"):
        fit(_model(), (X, y), (X, y), epochs=1, batch_size=32, eval_batch_size=0, progress=False, device="cpu")


def test_numpy_floats_are_learning_rates():
    """fit(lr=np.float32(0.05)) was 'lr must be a positive finite number, got np.float32(0.05)'."""
    X, y = blobs()
    a = fit(_model(), (X, y), epochs=1, batch_size=32, lr=np.float32(0.5), momentum=np.float64(0.5), progress=False,
            device="cpu")
    b = fit(_model(), (X, y), epochs=1, batch_size=32, lr=float(np.float32(0.5)), momentum=0.5, progress=False,
            device="cpu")
    assert a.train_loss == b.train_loss and a.params["lr"] == 0.5


def test_nll_takes_log_probabilities_and_says_so_on_logits():
    """fit(MLP, loss="nll") trained on −logit[y], a loss with no minimum, without a word."""
    X, y = blobs()
    for call in (lambda: fit(_model(), (X, y), epochs=1, batch_size=32, loss="nll", progress=False, device="cpu"),
                 lambda: evaluate(_model(), X, y, loss="nll")):
        with pytest.raises(InputError, match=r"loss 'nll' takes log-probabilities \(a model ending in "
                                             r"nn.LogSoftmax\(dim=1\)\), but this model's outputs are not"):
            call()
    torch.manual_seed(0)
    log_model = torch.nn.Sequential(_model(), torch.nn.LogSoftmax(dim=1))
    nll = fit(log_model, (X, y), epochs=1, batch_size=32, loss="nll", progress=False, device="cpu", seed=5)
    torch.manual_seed(0)
    ce = fit(_model(), (X, y), epochs=1, batch_size=32, loss="cross_entropy", progress=False, device="cpu", seed=5)
    assert nll.train_loss == pytest.approx(ce.train_loss, rel=1e-5)


def test_a_model_with_one_output_has_no_accuracy_and_no_verdict():
    """The accuracy was out.argmax(dim=1) == y, always 0 for one output: the share of label 0 (0.52) stood in
    the history of a model that classified every row right, and diagnose called it a verdict."""
    from backproplab.torchnn import diagnose

    torch.manual_seed(0)
    X = torch.randn(64, 3)
    y = (X.sum(1) > 0).float()
    model = torch.nn.Linear(3, 1)

    def loss(out, target):
        return F.binary_cross_entropy_with_logits(out.squeeze(1), target)

    hist = fit(model, (X, y), (X, y), epochs=3, batch_size=16, lr=0.5, loss=loss, progress=False, device="cpu")
    assert np.isnan(hist.train_acc).all() and np.isnan(hist.val_acc).all() and np.isfinite(hist.train_loss).all()
    assert np.isnan(evaluate(model, X, y, loss=loss)[1])
    with pytest.raises(InputError, match="diagnose reads accuracies, and this history's are NaN"):
        diagnose(hist)


def test_a_history_continued_with_validation_it_did_not_have_is_refused():
    """Two epochs without validation then two with it left val_loss two long against four epochs: plotted at
    epochs 1-2 and left out of the verdict without a word."""
    torch.manual_seed(0)
    X = torch.randn(100, 4)
    y = (X[:, 0] > 0).long()
    model = torch.nn.Linear(4, 2)
    hist = fit(model, (X, y), None, epochs=2, batch_size=20, progress=False, device="cpu")
    with pytest.raises(InputError, match="history has validation for 0 of its 2 epochs and this run validates"):
        fit(model, (X, y), (X, y), epochs=2, batch_size=20, progress=False, device="cpu", history=hist)
    assert len(fit(model, (X, y), None, epochs=2, batch_size=20, progress=False, device="cpu", history=hist)) == 4
    with pytest.raises(InputError, match="history must be a backproplab History"):
        fit(model, (X, y), None, epochs=1, batch_size=20, progress=False, device="cpu", history={"train_loss": []})
