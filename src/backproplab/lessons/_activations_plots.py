"""The activations lesson's figures: every activation over its derivative, and the dead ReLUs."""

from __future__ import annotations

from typing import Any

import numpy as np


def activation_figure(fig, z: np.ndarray, table: dict[str, dict[str, np.ndarray]], leaky_alpha: float,
                      elu_alpha: float):
    """Each activation (top row) over its derivative (bottom row): scratch's line, torch autograd's dots."""
    names = list(table)
    axes = fig.subplots(2, len(names), sharex=True)
    for k, name in enumerate(names):
        t = table[name]
        axes[0, k].plot(z, t["f"], color="tab:blue")
        title = {"leaky_relu": f"leaky_relu (alpha {leaky_alpha})", "elu": f"elu (alpha {elu_alpha:g})"}
        axes[0, k].set_title(title.get(name, name), fontsize=10)
        axes[1, k].plot(z, t["grad"], color="tab:red", label="scratch")
        axes[1, k].plot(z[::60], t["grad_torch"][::60], "k.", ms=3, label="torch autograd")
        for ax in axes[:, k]:
            ax.axhline(0, color="0.8", lw=0.8)
            ax.axvline(0, color="0.8", lw=0.8)
        axes[1, k].set_xlabel("z")
    axes[0, 0].set_ylabel("f(z)")
    axes[1, 0].set_ylabel("f'(z)")
    axes[1, 0].legend(fontsize=7)
    fig.suptitle("Activations (top) and derivatives (bottom); sigmoid' <= 1/4, tanh' <= 1, ReLU' in {0, 1}")
    fig.tight_layout()
    return fig


def dead_figure(fig, dead: dict[str, Any]):
    """The dead fraction per epoch at both step sizes, the first layer's max pre-activations before and after
    the bias shift, and the dead fraction at each stage."""
    ax1, ax2, ax3 = fig.subplots(1, 3)
    epochs = range(0, len(dead["healthy_hist"]) + 1)
    ax1.plot(epochs, [dead["init_dead"]] + dead["healthy_hist"], "o-", label=f"lr {dead['small_lr']}")
    ax1.plot(epochs, [dead["init_dead"]] + dead["big_hist"], "s-", label=f"lr {dead['big_lr']:g}")
    ax1.set_ylim(0, 1)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("dead fraction (DeadUnits probe)")
    ax1.set_title("a too-large step kills units", fontsize=10)
    ax1.legend()
    bins = np.linspace(min(dead["pre_after"].min(), dead["pre_before"].min()),
                       max(dead["pre_after"].max(), dead["pre_before"].max()), 30)
    ax2.hist(dead["pre_before"], bins=bins, alpha=0.6, label="trained")
    ax2.hist(dead["pre_after"], bins=bins, alpha=0.6, label=f"biases - {dead['bias_shift']:g}")
    ax2.axvline(0, color="k", lw=1)
    ax2.set_xlabel("max over the data of w.x + b (first layer)")
    ax2.set_ylabel("units")
    ax2.set_title("dead: left of 0 (w.x + b <= 0 for every x)", fontsize=10)
    ax2.legend()
    rows = dead["rows"]
    labels = ["init", f"lr {dead['small_lr']}", f"lr {dead['big_lr']:g}", "shifted", "shifted\n+ training"]
    ax3.bar(labels, [r["dead (all ReLUs)"] for r in rows], color=["0.6", "tab:blue", "tab:orange", "tab:red",
                                                                   "tab:purple"])
    ax3.set_ylim(0, 1)
    ax3.set_ylabel("dead fraction (all ReLUs)")
    ax3.set_title("before and after", fontsize=10)
    ax3.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig
