"""The reference solution handed to instructors by `backproplab check --init ... --solution` (Purdue)."""
# ruff: noqa: B905 - the course targets any Python 3, before zip(strict=)

import torch
from torch import nn


class PyTorchCNN(nn.Module):
    def __init__(self, num_classes, seed):
        super().__init__()
        torch.manual_seed(seed)
        layers = []
        channels = [1, 32, 64, 128, 256]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                       nn.BatchNorm2d(c_out), nn.Dropout(0.3)]
        layers += [nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes)]
        self.model = nn.Sequential(*layers)
        self.history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}

    def forward(self, X):
        return self.model(X)

    def _evaluate(self, X, y, loss_fn):
        nn.Module.train(self, False)
        with torch.no_grad():
            logits = self.forward(X)
            result = loss_fn(logits, y).item(), (logits.argmax(dim=1) == y).float().mean().item()
        nn.Module.train(self, True)
        return result

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
        nn.Module.train(self, True)
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        for _ in range(epochs):
            for start in range(0, X_train.shape[0], batch_size):
                xb, yb = X_train[start:start + batch_size], y_train[start:start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(self.forward(xb), yb)
                loss.backward()
                optimizer.step()
            for key, value in zip(("train_loss", "train_acc"), self._evaluate(X_train, y_train, loss_fn)):
                self.history[key].append(value)
            for key, value in zip(("val_loss", "val_acc"), self._evaluate(X_val, y_val, loss_fn)):
                self.history[key].append(value)

    def predict(self, X):
        nn.Module.train(self, False)
        with torch.no_grad():
            return self.forward(X).argmax(dim=1)

    def report_my_judgement(self):
        tl, vl = self.history["train_loss"], self.history["val_loss"]
        ta, va = self.history["train_acc"], self.history["val_acc"]
        if ta[-1] - va[-1] > 0.05:
            return "overfitting"
        best = min(range(len(vl)), key=lambda i: vl[i])
        if best < len(vl) - 1 and (vl[-1] - vl[best]) / vl[best] > 0.10 and tl[-1] < tl[best]:
            return "overfitting"
        if len(tl) < 2 or va[-1] - va[-2] > 0.01 or (tl[-2] - tl[-1]) / tl[-2] > 0.05:
            return "underfitting"
        return "underfitting" if ta[-1] < 0.80 else "generalizing"
