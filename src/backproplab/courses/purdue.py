"""The "Purdue" homework (CONTRACTS.md part A): the three reference classes and the course's numbers.

Students write ``numpy_ann.py`` (class ``NumpyANN``), ``pytorch_ann.py`` (``PyTorchANN``) and
``pytorch_cnn.py`` (``PyTorchCNN``); these are the references, importable from here::

    from backproplab.courses.purdue import NumpyANN, PyTorchANN, PyTorchCNN

* :class:`NumpyANN` (A1): ``np.random.seed(seed)`` then ``0.01 * randn`` for W1 and W2;
  ``_cross_entropy(y_true, y_pred)`` is per row ``-(1/K) Σ y log p`` (a batch: the mean of the rows);
  ``_backward`` divides every gradient by the batch's rows and updates in place.
* :class:`PyTorchANN` (A2): ``self.model = Sequential(Linear, ReLU, Linear)``;
  ``train(X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate)`` with
  ``nn.CrossEntropyLoss`` and ``torch.optim.SGD``; ``predict`` gives labels;
  ``plot_train_val_metrics()`` one figure, two panels (saved as :data:`METRICS_PNG`);
  ``report_my_judgement()`` one of :data:`JUDGEMENTS`.
* :class:`PyTorchCNN` (A3): four conv blocks and a two-layer head in ``self.model``,
  :data:`CNN_PARAMETERS` parameters for 10 classes; trained and judged as ``PyTorchANN``.

The data: Fashion-MNIST, 784 floats per image; one-hot labels for ``NumpyANN``, class indices for
the PyTorch models. :data:`TARGETS` are the test accuracies the course asks of a full run; the
``fashion`` lesson holds its full-run claims to them.
"""

from __future__ import annotations

from backproplab.scratch.numpy_ann import NumpyANN
from backproplab.torchnn.diagnose import JUDGEMENTS, Verdict, diagnose, judgement
from backproplab.torchnn.models import PyTorchANN, PyTorchCNN

__all__ = ["NumpyANN", "PyTorchANN", "PyTorchCNN", "JUDGEMENTS", "Verdict", "diagnose", "judgement",
           "TARGETS", "POINTS", "CNN_PARAMETERS", "W1_00_SEED_0", "METRICS_PNG"]

#: Test accuracy a full Fashion-MNIST run must reach (items 1.10, 2.6, 3.2).
TARGETS: dict[str, float] = {"NumpyANN": 0.77, "PyTorchANN": 0.80, "PyTorchCNN": 0.85}

#: The course's points per item (the programming part: 42).
POINTS: dict[str, int] = {
    "1.1 __init__": 3, "1.2 _relu": 1, "1.3 _relu_grad": 1, "1.4 _cross_entropy": 1, "1.5 _forward": 2,
    "1.6 _backward": 3, "1.7 train": 2, "1.8 predict": 1, "1.9 accuracy": 2, "1.10 run": 2,
    "2.1 __init__": 3, "2.2 forward": 1, "2.3 train": 5, "2.4 predict": 1, "2.5 plot_train_val_metrics": 1,
    "2.6 run": 2, "2.7 report_my_judgement": 1,
    "3.1 __init__ and forward": 6, "3.2 run": 2, "3.3 report_my_judgement": 2,
}

#: Parameters of ``PyTorchCNN(num_classes=10)`` (item 3.1).
CNN_PARAMETERS = 422_986

#: ``NumpyANN(784, hidden, classes, lr, seed=0).W1[0, 0]``: 0.01 x the first standard normal of seed 0.
W1_00_SEED_0 = 0.017640523

#: The file name the PyTorch ANN's run saves its two-panel figure under (item 2.5).
METRICS_PNG = "pytorch_ann_train_val_metrics.png"
