"""Small synthetic classification data for fast torchnn tests."""

from __future__ import annotations

import torch


def blobs(n: int = 240, d: int = 12, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs: ``X [n, d]`` float32, ``y [n]`` int64, separable enough to learn in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, d, generator=g) * 2.0
    y = torch.randint(0, classes, (n,), generator=g)
    X = centers[y] + torch.randn(n, d, generator=g)
    return X, y
