"""The reference solution handed to instructors by `backproplab check --init ... --solution` (Purdue)."""

import matplotlib.pyplot as plt
import torch
from torch import nn


class PyTorchANN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, seed):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.seed = seed
        torch.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(input_size, hidden_size), nn.ReLU(),
                                   nn.Linear(hidden_size, output_size))
        self.history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}

    def forward(self, X):
        return self.model(X)

    def _evaluate(self, X, y, loss_fn):
        with torch.no_grad():
            logits = self.forward(X)
            return loss_fn(logits, y).item(), (logits.argmax(dim=1) == y).float().mean().item()

    def train(self, X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate):
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        for _ in range(epochs):
            for start in range(0, X_train.shape[0], batch_size):
                xb, yb = X_train[start:start + batch_size], y_train[start:start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(self.forward(xb), yb)
                loss.backward()
                optimizer.step()
            tl, ta = self._evaluate(X_train, y_train, loss_fn)
            vl, va = self._evaluate(X_val, y_val, loss_fn)
            self.history["train_loss"].append(tl)
            self.history["train_acc"].append(ta)
            self.history["val_loss"].append(vl)
            self.history["val_acc"].append(va)

    def predict(self, X):
        with torch.no_grad():
            return self.forward(X).argmax(dim=1)

    def plot_train_val_metrics(self):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        ax1.plot(self.history["train_loss"], label="train")
        ax1.plot(self.history["val_loss"], label="validation")
        ax1.set_title("loss")
        ax2.plot(self.history["train_acc"], label="train")
        ax2.plot(self.history["val_acc"], label="validation")
        ax2.set_title("accuracy")
        fig.savefig("pytorch_ann_train_val_metrics.png")
        return fig

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
