"""The digits lesson's figures: the five seeds' curves, the sweeps, depth, and the initialisations' W1.

Object API only (``matplotlib.figure.Figure``, no pyplot state); accuracy axes start at a floor taken
from the data (:func:`accuracy_floor`), so no curve or bar is cut off.
"""

from __future__ import annotations

import numpy as np

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def accuracy_floor(values, margin: float = 0.02, step: float = 0.05) -> float:
    """A lower axis limit for accuracies: ``margin`` under the smallest value, rounded down to ``step``.

    From the data, so no curve or bar is cut off (a fixed floor cut the three-linear-layer curve at 0.70
    and seed 0's dip at 0.85).
    """
    lowest = float(np.nanmin(np.concatenate([np.ravel(v) for v in values])))
    return max(0.0, float(np.floor(round((lowest - margin) / step, 9)) * step))


def plot_seeds(seed_runs):
    fig = _new_figure(10, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    for s, h in seed_runs:
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        ax1.plot(epochs, h["train_loss"], label=f"seed {s}")
        ax2.plot(epochs, h["val_acc"], label=f"seed {s}")
    ax1.set(xlabel="epoch", ylabel="training loss (BCE)", yscale="log", title="64-32-1: training loss")
    ax2.axhline(0.95, color="k", ls="--", lw=0.8)
    ax2.set(xlabel="epoch", ylabel="validation accuracy", title="64-32-1: validation accuracy",
            ylim=(accuracy_floor([h["val_acc"] for _, h in seed_runs] + [[0.95]]), 1.0))
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_sweeps(sweeps, epochs):
    fig = _new_figure(13, 7)
    axes = fig.subplots(2, 3)
    floor = accuracy_floor([h["val_acc"] for runs in sweeps.values() for _, h in runs])  # one for all six
    for col, (knob, runs) in enumerate(sweeps.items()):
        top, bottom = axes[0, col], axes[1, col]
        for value, h in runs:
            top.plot(np.arange(1, len(h["val_acc"]) + 1), h["val_acc"], label=f"{value:g}")
        top.set(xlabel="epoch", ylabel="validation accuracy", title=f"{knob}", ylim=(floor, 1.0))
        top.legend(fontsize=7, title=knob, title_fontsize=7)
        values = [v for v, _ in runs]
        bottom.plot(values, [h["val_acc"][-1] for _, h in runs], "o-")
        bottom.set(xscale="log", xlabel=knob, ylabel=f"val accuracy after {epochs} epochs",
                   ylim=(floor, 1.0))
        bottom.grid(alpha=0.3)
    fig.suptitle("Digits 64-h-1: sweeps (one knob at a time, the others at lr=0.3, batch 32, width 32)")
    fig.tight_layout()
    return fig


def plot_depth(depth_runs):
    fig = _new_figure(12, 3.8)
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    for label, (_, h) in depth_runs.items():
        ax1.plot(np.arange(1, len(h["val_acc"]) + 1), h["val_acc"], label=label)
    ax1.set(xlabel="epoch", ylabel="validation accuracy", title="depth",
            ylim=(accuracy_floor([h["val_acc"] for _, h in depth_runs.values()]), 1.0))
    ax1.legend(fontsize=7)
    labels = list(depth_runs)
    accs = [depth_runs[k][1]["val_acc"][-1] for k in labels]
    ax2.barh(range(len(labels)), accs, color="#4c72b0")
    ax2.set_yticks(range(len(labels)), [k.split(" (")[0] if len(k) > 30 else k for k in labels], fontsize=7)
    ax2.set(xlim=(accuracy_floor([accs]), 1.0), xlabel="final validation accuracy")
    for i, a in enumerate(accs):
        ax2.text(a, i, f" {a:.3f}", va="center", fontsize=7)
    fig.tight_layout()
    return fig


def plot_init(init_nets):
    fig = _new_figure(12, 3.4)
    axes = fig.subplots(1, len(init_nets))
    for ax, (label, net) in zip(axes, init_nets.items(), strict=True):
        W1 = net.layers[0].W
        lim = float(np.max(np.abs(W1))) or 1.0
        image = ax.imshow(W1, aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim)
        ax.set(title=f"{label}: W1 after training", xlabel="hidden unit", ylabel="input pixel")
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle("Each column is one hidden unit's incoming weights: identical columns = one unit copied 32 times")
    fig.tight_layout()
    return fig
