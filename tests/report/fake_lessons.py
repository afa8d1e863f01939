"""Tiny stand-in lessons for the report tests: a figure, a table, Markdown text and claims.

``make_lessons(behaviour)`` builds fresh lesson modules ``alpha`` (all claims pass), ``beta``
(takes ``device``; one claim fails unless ``behaviour["beta_passes"]``) and ``gamma``. Each call is
appended to ``behaviour["calls"]``. ``behaviour`` may also ask a lesson to raise an exception
(``"raise": {name: exc}``; a KeyboardInterrupt is raised only once), to send itself a signal
(``"signal": {name: signum}``), or to wait for a file to appear (``"wait_for": {name: (ready, go)}``).
Loaded by path (tests use importlib import mode), here and in subprocess scripts.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import time
import types
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from backproplab.lessons.result import Claim, LessonResult  # noqa: E402

MARKDOWN = """## How it works

The loss is **mean squared error**; its gradient is `2 (y - t) / n`.

| step | loss |
| --- | --- |
| 0 | 1.0 |
| 1 | 0.5 |

- first point
- second point with <script>alert(1)</script> escaped

```
w <- w - lr * grad
```
"""


def _hooks(behaviour: dict, name: str) -> None:
    behaviour.setdefault("calls", []).append(name)
    exc = behaviour.get("raise", {}).get(name)
    if exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            del behaviour["raise"][name]
        raise exc
    signum = behaviour.get("signal", {}).get(name)
    if signum is not None:
        os.kill(os.getpid(), signum)
    wait = behaviour.get("wait_for", {}).get(name)
    if wait is not None:
        ready, go = (Path(p) for p in wait)
        ready.write_text("ready")
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.02)


_PNG: dict[int, Path] = {}
_CURVES: dict[tuple, Path] = {}


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _weights_png(seed: int) -> Path:
    if seed not in _PNG:
        fig, ax = plt.subplots(figsize=(3, 3))
        ax.imshow(np.random.default_rng(seed).random((8, 8)), cmap="viridis")
        ax.set_title("weights")
        handle, name = tempfile.mkstemp(prefix="fake-weights-", suffix=".png")
        os.close(handle)
        fig.savefig(name, dpi=60)
        plt.close(fig)
        _PNG[seed] = Path(name)
        atexit.register(_remove, _PNG[seed])
    return _PNG[seed]


def _result(name: str, title: str, seed: int, quick: bool, claims: list[Claim], **params) -> LessonResult:
    rng = np.random.default_rng(seed)
    steps = 20 if quick else 60
    loss = np.exp(-np.linspace(0, 4, steps)) + 0.02 * rng.random(steps)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(loss, label=f"{name} loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    if name != "alpha":  # alpha hands over a live Figure; the others a saved PNG (cheaper for the tests)
        key = (name, seed, quick)
        if key not in _CURVES:
            handle, path = tempfile.mkstemp(prefix=f"fake-{name}-", suffix=".png")
            os.close(handle)
            fig.savefig(path, dpi=80)
            _CURVES[key] = Path(path)
            atexit.register(_remove, _CURVES[key])
        plt.close(fig)
        fig = _CURVES[key]
    weights = _weights_png(seed)  # a figure given as a saved PNG path, as lessons may do
    table = [{"step": int(i), "loss": float(loss[i]), "note": "start" if i == 0 else ""}
             for i in range(0, steps, 5)]
    return LessonResult(name=name, title=title, params={"seed": seed, "quick": quick, "steps": steps, **params},
                        claims=claims, figures={"loss curve": fig, "weights": weights},
                        tables={"loss_by_step": table}, text={"explanation": MARKDOWN})


def make_lessons(behaviour: dict | None = None) -> dict[str, types.ModuleType]:
    """Fresh fake lesson modules ``alpha``, ``beta``, ``gamma`` (name -> module, in order)."""
    behaviour = {} if behaviour is None else behaviour

    def alpha_run(quick: bool = False, seed: int = 0, out=None) -> LessonResult:
        _hooks(behaviour, "alpha")
        value = float(np.random.default_rng(seed).random()) * 1e-3
        claims = [Claim.at_most("final loss is small", value, 0.01, evidence=f"loss {value:.3g} after training"),
                  Claim.holds("its weights cycle", True, value=1, evidence="epoch 1 starts as epoch 0 did")]
        return _result("alpha", "Alpha: a lesson that passes", seed, quick, claims)

    def beta_run(quick: bool = False, seed: int = 0, out=None, device: str = "cpu") -> LessonResult:
        _hooks(behaviour, "beta")
        acc = 0.5 + 0.1 * float(np.random.default_rng(seed + 1).random())
        bound = 0.5 if behaviour.get("beta_passes") else 0.95
        claims = [Claim.at_least("validation accuracy reaches the target", acc, bound,
                                 evidence=f"accuracy {acc:.3f} on 100 validation images"),
                  Claim.close_to("mean is near zero", 0.001, 0.0, 0.01)]
        return _result("beta", "Beta: a lesson with a failing claim", seed, quick, claims, device=device)

    def gamma_run(quick: bool = False, seed: int = 0, out=None) -> LessonResult:
        _hooks(behaviour, "gamma")
        result = _result("gamma", "Gamma: the last lesson", seed, quick,
                         [Claim.holds("the run finishes", True, evidence="it did")])
        # a lesson's own wall times differ between runs; they belong in results.json's "timings"
        result.timings = {"train": 0.25 + float(np.random.default_rng().random()), "evaluate": 1.5}
        return result

    lessons = {}
    for order, (name, title, run) in enumerate([("alpha", "Alpha: a lesson that passes", alpha_run),
                                                ("beta", "Beta: a lesson with a failing claim", beta_run),
                                                ("gamma", "Gamma: the last lesson", gamma_run)]):
        module = types.ModuleType(f"fake_lessons_{name}", f"The fake {name} lesson.")
        module.NAME, module.TITLE, module.ORDER, module.run = name, title, order, run
        lessons[name] = module
    return lessons
