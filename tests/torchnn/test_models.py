"""The course's models: seeded construction reproduces the published outputs; shapes; train(mode)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from backproplab.errors import InputError
from backproplab.torchnn import MLP, ANN_relu, ANN_sigmoid, PyTorchANN, PyTorchCNN, seeded_init

pytestmark = pytest.mark.torchnn

# The course's published outputs on the first two normalised Fashion-MNIST test images.
SIGMOID_66 = [[0.3537, 0.5558, 0.1939, -0.0044, 0.0700, -0.0687, 0.2242, -0.4975, 0.0686, -0.2119],
              [0.3567, 0.5539, 0.1965, -0.0021, 0.0705, -0.0674, 0.2192, -0.5005, 0.0655, -0.2142]]
RELU_66 = [[0.0143, 0.0178, 0.0555, -0.0060, 0.0667, 0.0119, 0.0641, -0.0007, -0.0232, -0.0485],
           [0.0806, 0.0433, 0.0496, -0.0265, 0.0924, 0.0328, 0.0222, -0.0572, -0.1343, -0.0696]]


@pytest.mark.parametrize(("cls", "expected"), [(ANN_sigmoid, SIGMOID_66), (ANN_relu, RELU_66)])
def test_seeded_course_outputs_on_first_two_test_images(needs_fashion, cls, expected):
    from backproplab.data import fashion_mnist_tensors

    X, _ = fashion_mnist_tensors("test", download=False, limit=2)
    torch.manual_seed(66)
    model = cls(784, 10)
    with torch.no_grad():
        out = model(X)
    # the course printed 4 decimals: rounding error up to 5e-5, held within 1e-4
    torch.testing.assert_close(out, torch.tensor(expected), atol=1e-4, rtol=0)


def test_four_linear_layers_in_course_order_and_flattening():
    torch.manual_seed(0)
    model = ANN_relu(784, 10)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 512), (512, 1024), (1024, 512), (512, 10)]
    assert list(model.state_dict()) == [f"fc{i}.{p}" for i in range(1, 5) for p in ("weight", "bias")]
    x = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(model(x), model(x.reshape(3, 784)))
    # same draws as four bare nn.Linear created in that order after the same seed
    torch.manual_seed(0)
    bare = [nn.Linear(784, 512), nn.Linear(512, 1024), nn.Linear(1024, 512), nn.Linear(512, 10)]
    for a, b in zip(linears, bare, strict=True):
        torch.testing.assert_close(a.weight, b.weight, rtol=0, atol=0)


def test_sigmoid_and_relu_differ_only_in_activation():
    torch.manual_seed(1)
    s = ANN_sigmoid(20, 3)
    torch.manual_seed(1)
    r = ANN_relu(20, 3)
    for (ks, vs), (kr, vr) in zip(s.state_dict().items(), r.state_dict().items(), strict=True):
        assert ks == kr
        torch.testing.assert_close(vs, vr, rtol=0, atol=0)
    x = torch.randn(4, 20)
    h = torch.sigmoid(s.fc1(x))
    h = torch.sigmoid(s.fc2(h))
    h = torch.sigmoid(s.fc3(h))
    torch.testing.assert_close(s(x), s.fc4(h))


def test_pytorch_ann_structure_and_seed_as_the_course_calls_torch_manual_seed():
    a = PyTorchANN(784, 128, 10, seed=5)
    after_a = torch.rand(3)
    b = PyTorchANN(784, 128, 10, seed=5)
    assert isinstance(a.model, nn.Sequential)
    assert [type(m) for m in a.model] == [nn.Linear, nn.ReLU, nn.Linear]
    assert (a.model[0].in_features, a.model[0].out_features, a.model[2].out_features) == (784, 128, 10)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    # the course's file: torch.manual_seed(seed), then the layers; the global RNG stays seeded
    torch.manual_seed(5)
    ref = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    torch.testing.assert_close(a.model[0].weight, ref[0].weight, rtol=0, atol=0)
    torch.testing.assert_close(a.model[2].bias, ref[2].bias, rtol=0, atol=0)
    assert torch.equal(torch.rand(3), after_a)
    with pytest.raises(InputError, match="seed"):
        PyTorchANN(4, 3, 2, seed=-1)


def test_train_with_a_bool_still_switches_mode():
    m = PyTorchANN(4, 3, 2, seed=0)
    assert m.eval() is m and m.training is False  # nn.Module.eval calls self.train(False)
    assert m.train() is m and m.training is True
    m.train(False)
    assert not m.training and not m.model[0].training
    m.train(True)
    assert m.model[0].training
    m.train(mode=False)
    assert not m.model[0].training
    with pytest.raises(InputError, match="y_train"):
        m.train(np.zeros((3, 4)))


# --- the course's contract, A2 and A3 -------------------------------------------------------------
def _blobs(n=120, d=6, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, d, generator=g) * 3
    y = torch.randint(0, classes, (n,), generator=g)
    return centers[y] + torch.randn(n, d, generator=g), y


def test_2_1_init_sets_the_attributes_and_one_sequential():
    m = PyTorchANN(784, 128, 10, 3)
    assert (m.input_size, m.hidden_size, m.output_size, m.seed) == (784, 128, 10, 3)
    assert [type(x) for x in m.model] == [nn.Linear, nn.ReLU, nn.Linear]
    x = torch.randn(2, 784)
    torch.testing.assert_close(m(x), m.model(x), rtol=0, atol=0)  # 2.2: logits, no softmax


def test_2_3_train_is_sgd_on_cross_entropy_with_learning_rate():
    """The contract's loop, written out, gives the same weights as ``train`` (same batch order)."""
    X, y = _blobs()
    m = PyTorchANN(6, 5, 3, seed=1)
    ref = PyTorchANN(6, 5, 3, seed=1)
    assert m.train(X, y, X[:30], y[:30], 2, 16, 0.2, device="cpu") is m
    assert type(m.history.params["optimizer"]) is str and m.history.params["optimizer"] == "SGD"
    assert m.history.params["lr"] == 0.2
    # the batch order fit draws: torch.randperm with a generator seeded by the model's seed
    g = torch.Generator().manual_seed(1)
    opt = torch.optim.SGD(ref.model.parameters(), lr=0.2)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(2):
        perm = torch.randperm(len(X), generator=g)
        for i in range(0, len(X), 16):
            idx = perm[i:i + 16]
            opt.zero_grad()
            loss_fn(ref(X[idx]), y[idx]).backward()
            opt.step()
    for a, b in zip(m.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    h = m.history
    assert len(h.train_loss) == len(h.val_loss) == len(h.train_acc) == len(h.val_acc) == 2


def test_2_3_learning_rate_keyword_and_adam_only_by_opt_in():
    X, y = _blobs()
    m = PyTorchANN(6, 5, 3, seed=0)
    m.train(X_train=X, y_train=y, X_val=X, y_val=y, epochs=1, batch_size=32, learning_rate=0.05, device="cpu")
    assert m.history.params["optimizer"] == "SGD" and m.history.params["lr"] == 0.05
    m.train(X, y, epochs=1, batch_size=32, learning_rate=1e-3, optimizer="adam", device="cpu")
    assert m.history.params["optimizer"] == "Adam"
    with pytest.raises(InputError, match="learning_rate"):
        m.train(X, y, epochs=1, batch_size=32, lr=0.1)
    with pytest.raises(InputError, match="learning_rate"):
        m.train(X, y, epochs=1, batch_size=32, learning_rate=-1.0)
    with pytest.raises(InputError, match="y_train"):
        m.train(X, y + 3, epochs=1, batch_size=32)


def test_2_4_predict_gives_integer_labels():
    X, _ = _blobs()
    m = PyTorchANN(6, 5, 3, seed=0)
    pred = m.predict(X)
    assert pred.dtype == np.int64 and pred.shape == (len(X),)
    np.testing.assert_array_equal(pred, m(X).argmax(dim=1).numpy())


@pytest.mark.parametrize(("model", "X", "words"), [
    (lambda: PyTorchANN(784, 8, 10, seed=0), np.full((5, 784), np.nan, np.float32), "X must be finite, got 3920"),
    (lambda: PyTorchCNN(10, seed=0), np.full((2, 1, 28, 28), np.inf, np.float32), "X must be finite, got 1568"),
    (lambda: PyTorchANN(784, 8, 10, seed=0), np.zeros((0, 784)), "X must be a batch [N, ...] of N >= 1 samples, got"),
    (lambda: PyTorchANN(784, 8, 10, seed=0), np.zeros(784), "X must be a batch [N, ...] of N >= 1 samples, got"),
    (lambda: PyTorchANN(784, 8, 10, seed=0), np.zeros((2, 700)), "X must have the input shape the model expects, got "
                                                                 "samples of shape (700,)"),
    (lambda: PyTorchCNN(10, seed=0), np.zeros((2, 28, 28)), "X must have the input shape the model expects, got "
                                                            "samples of shape (28, 28)"),
])
def test_2_4_predict_and_accuracy_check_X(model, X, words):
    """NaN images were all predicted class 0, so accuracy against labels 0 was 1.0; an empty X was
    NumPy's 'attempt to get argmax of an empty sequence', a wrong shape torch's RuntimeError or ValueError."""
    for call in (lambda m: m.predict(X), lambda m: m.accuracy(X, np.zeros(len(X), dtype=np.int64))):
        with pytest.raises(InputError) as err:
            call(model())
        assert str(err.value).startswith(words)


def test_2_5_plot_has_two_panels_and_saves(tmp_path):
    X, y = _blobs()
    m = PyTorchANN(6, 5, 3, seed=0)
    m.train(X, y, X, y, 2, 32, 0.1, device="cpu")
    path = tmp_path / "pytorch_ann_train_val_metrics.png"
    fig = m.plot_train_val_metrics(path)
    assert len(fig.axes) == 2 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    assert labels == ["train loss", "validation loss", "train accuracy", "validation accuracy"]


@pytest.mark.parametrize("cls", [PyTorchANN, PyTorchCNN])
def test_2_7_3_3_report_my_judgement_is_one_of_three_strings(cls, capsys):
    m = cls(6, 5, 3, seed=0) if cls is PyTorchANN else cls(3, seed=0)
    X, y = _blobs(n=64, d=6 if cls is PyTorchANN else 784)
    m.train(X, y, X, y, 2, 32, 0.05, device="cpu")
    word = m.report_my_judgement()
    assert type(word) is str and word in ("underfitting", "overfitting", "generalizing")
    assert capsys.readouterr().out.startswith(word)
    assert m.judge().label in ("underfitting", "overfitting", "generalizing well", "not converged")


def test_3_1_cnn_layout_and_parameter_count():
    m = PyTorchCNN(10, 0)
    assert sum(p.numel() for p in m.parameters()) == 422_986
    kinds = [type(x) for x in m.model]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d, nn.Dropout] * 4 + \
        [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear]
    convs = [x for x in m.model if isinstance(x, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 32), (32, 64), (64, 128), (128, 256)]
    assert all(c.stride == (1, 1) for c in convs)


def test_mlp_layers_and_errors():
    m = MLP([5, 8, 8, 3], "tanh")
    kinds = [type(x) for x in m.layers]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert m(torch.randn(4, 5)).shape == (4, 3)
    with pytest.raises(InputError, match="sizes"):
        MLP([5])
    with pytest.raises(InputError, match="activation"):
        MLP([5, 3], "swish-ish")
    with pytest.raises(InputError, match="d_out"):
        ANN_relu(784, 0)


def test_seeded_init_restores_the_caller_stream():
    torch.manual_seed(9)
    expected = torch.rand(3)
    torch.manual_seed(9)
    with seeded_init(1):
        torch.rand(100)
    assert torch.equal(torch.rand(3), expected)


def test_a_column_of_class_indices_is_refused_not_arg_maxed_into_zeros():
    """y of shape [N, 1] was taken for one-hot rows and arg-maxed: every label 0, and a history of 0.99
    validation accuracy for a model whose accuracy on the real labels was 0.30."""
    rng = np.random.default_rng(0)
    X = rng.random((60, 6)).astype(np.float32)
    y = (X[:, 0] * 3).astype(np.int64)
    model = PyTorchANN(6, 8, 3, seed=0)
    with pytest.raises(InputError, match=r"y_train must be class indices \[N\] or one-hot rows \[N, 3\], got shape "
                                         r"\(60, 1\) \(a column of indices: pass y_train.reshape\(-1\)\)"):
        model.train(X, y.reshape(-1, 1), X, y, epochs=1, batch_size=20, learning_rate=0.1)
    model.train(X, y, X, np.eye(3)[y], epochs=1, batch_size=20, learning_rate=0.1)  # one-hot rows still read
    assert model.accuracy(X, np.eye(3)[y]) == model.accuracy(X, y)
    with pytest.raises(InputError, match=r"y must be class indices"):
        model.accuracy(X, y.reshape(-1, 1))
    with pytest.raises(InputError, match=r"y must have one label per row of X \(60\), got 1"):
        model.accuracy(X, y[:1])  # broadcast against every prediction before
