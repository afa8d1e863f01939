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


def test_pytorch_ann_structure_seed_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = PyTorchANN(784, 128, 10, seed=5)
    assert torch.equal(torch.get_rng_state(), before)
    b = PyTorchANN(784, 128, 10, seed=5)
    assert isinstance(a.model, nn.Sequential)
    assert [type(m) for m in a.model] == [nn.Linear, nn.ReLU, nn.Linear]
    assert (a.model[0].in_features, a.model[0].out_features, a.model[2].out_features) == (784, 128, 10)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    # the same weights the course gets with torch.manual_seed(seed) before construction
    torch.manual_seed(5)
    ref = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    torch.testing.assert_close(a.model[0].weight, ref[0].weight, rtol=0, atol=0)


def test_train_with_a_bool_still_switches_mode():
    m = PyTorchANN(4, 3, 2, seed=0)
    assert m.eval() is m and m.training is False
    assert m.train() is m and m.training is True
    m.train(False)
    assert not m.training and not m.model[0].training
    m.train(True)
    assert m.model[0].training
    with pytest.raises(InputError, match="y_train"):
        m.train(np.zeros((3, 4)))


def test_cnn_architecture_and_shapes():
    model = PyTorchCNN(num_classes=7, seed=0)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    kinds = [type(m) for m in model.features]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d, nn.Dropout] * 4
    assert all(m.p == 0.3 for m in model.features if isinstance(m, nn.Dropout))
    lin = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in lin] == [(256, 128), (128, 7)]
    model.eval()
    x = torch.randn(2, 1, 28, 28)
    assert model(x).shape == (2, 7)
    torch.testing.assert_close(model(x), model(x.reshape(2, 784)))
    same = PyTorchCNN(num_classes=7, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), same.parameters(), strict=True))


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
