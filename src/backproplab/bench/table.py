"""The benchmark table: one :class:`Row` per workload, as Markdown and as JSON."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from backproplab.files import check_output_file

__all__ = ["FULL_EPOCH", "Row", "check_json_path", "to_markdown", "to_json"]

FULL_EPOCH = 60_000
"""Images in one Fashion-MNIST training epoch (what ``per 60k (est.)`` extrapolates to)."""


@dataclass
class Row:
    """One workload: our time, the reference's time on the same work, the ratio and the accuracies.

    Attributes
    ----------
    group : the section of the table ("engine", "ann", "loops", "cnn", "scale-batch", "scale-width")
    workload : what was trained (model, batch, epoch)
    samples : training images in the timed epoch
    ours, reference : what was timed on each side
    ours_s, reference_s : wall seconds of one epoch on ``samples`` images
    ours_acc, reference_acc : test accuracy after the epoch (fraction in [0, 1])
    note : anything a reader must know to compare the two sides
    ours_cpu_s, reference_cpu_s : process CPU seconds of the same calls (all threads, building the
        model and the call's set-up included): steadier than wall time on a shared machine
    """

    group: str
    workload: str
    samples: int
    ours: str
    reference: str
    ours_s: float
    reference_s: float
    ours_acc: float
    reference_acc: float
    note: str = ""
    ours_cpu_s: float = math.nan
    reference_cpu_s: float = math.nan

    @property
    def ratio(self) -> float:
        """``ours_s / reference_s`` (below 1: we are faster)."""
        return self.ours_s / self.reference_s if self.reference_s > 0 else math.inf

    @property
    def cpu_ratio(self) -> float:
        """``ours_cpu_s / reference_cpu_s`` (NaN when CPU time was not measured)."""
        if not (self.reference_cpu_s > 0) or math.isnan(self.ours_cpu_s):
            return math.nan
        return self.ours_cpu_s / self.reference_cpu_s

    def extrapolated(self, seconds: float) -> float | None:
        """``seconds`` scaled linearly to a full 60k-image epoch; None when the row ran on all of it."""
        if self.samples >= FULL_EPOCH:
            return None
        return seconds * FULL_EPOCH / self.samples

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the fields plus ``ratio`` and the 60k extrapolations (null for full epochs)."""
        d = asdict(self)
        d["ratio"] = self.ratio
        d["cpu_ratio"] = self.cpu_ratio
        d["ours_s_per_60k_est"] = self.extrapolated(self.ours_s)
        d["reference_s_per_60k_est"] = self.extrapolated(self.reference_s)
        for key, value in d.items():
            if isinstance(value, float) and not math.isfinite(value):
                d[key] = None  # JSON has no NaN/inf
        return d


def _ratio(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.2f}×"


def _acc(value: float) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _load_text(load: Any, cpus: Any) -> str:
    if not load or any(v is None for v in load):
        return ""
    return f", load average {load[0]:.1f} → {load[1]:.1f} on {cpus} CPUs"


def to_markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    """A Markdown table: workload, images, ours / reference (s), ratio, est. s per 60k, accuracies, notes."""
    lines = [
        f"backproplab bench — device {meta.get('device')}, threads {meta.get('threads')}, "
        f"{'quick, ' if meta.get('quick') else ''}seed {meta.get('seed')}, total {meta.get('total_s', 0):.0f} s"
        + _load_text(meta.get("load_average_1min"), meta.get("cpu_count")),
        "",
        "| workload | images | ours | ours s | reference | reference s | ratio ours/ref "
        "| CPU-time ratio | ours s/60k (est.) | acc ours | acc ref | note |",
        "| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        est = r.extrapolated(r.ours_s)
        est_text = f"≈ {est:.1f}" if est is not None else "(full epoch)"
        lines.append(
            f"| {r.workload} | {r.samples:,} | {r.ours} | {r.ours_s:.2f} | {r.reference} | {r.reference_s:.2f} "
            f"| {r.ratio:.2f}× | {_ratio(r.cpu_ratio)} | {est_text} "
            f"| {_acc(r.ours_acc)} | {_acc(r.reference_acc)} | {r.note} |")
    lines += ["", "Times are wall seconds of one training epoch on the images given (median of the rounds); "
              "the CPU-time ratio compares process CPU seconds of the same calls (steadier on a shared machine); "
              "'s/60k (est.)' scales a subset's time linearly to the full 60,000-image epoch and is an "
              "estimate, not a measurement. Accuracy: on the Fashion-MNIST test images "
              f"({meta.get('test_samples', 0):,}) after the epoch."]
    return "\n".join(lines)


def to_json(rows: list[Row], meta: dict[str, Any]) -> str:
    """``{"meta": {...}, "rows": [Row.to_dict(), ...]}`` as indented JSON text (no NaN)."""
    return json.dumps({"meta": meta, "rows": [r.to_dict() for r in rows]}, indent=2, allow_nan=False) + "\n"


def check_json_path(path: str | os.PathLike) -> Path:
    """Fail before minutes of timing when ``--json PATH`` cannot be written or would lose a file: a
    directory, a device or pipe, a parent that is a file or not writable, an existing file that is not
    an earlier bench JSON (see :func:`backproplab.files.check_output_file`). Returns the path."""
    return check_output_file(path, "json", keys=("meta", "rows"))
