"""Comparing a student's values with the reference's, and saying what differed in words.

Every failed comparison says what was called with which input, what was expected and what came
back; the assignment modules add the likely cause when the difference matches a known mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backproplab.check.result import Assertion
from backproplab.check.runner import ProbeOutput


class Bad(Exception):
    """The student's value cannot be compared (missing, wrong type); the message says why."""


def summary(value: Any, limit: int = 6) -> str:
    """A short picture of a value: an array's shape, dtype and first entries; a number's repr."""
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        head = ", ".join(f"{v:.6g}" if value.dtype.kind in "iuf" else repr(v) for v in flat[:limit])
        more = ", …" if flat.size > limit else ""
        return f"array of shape {value.shape}, {value.dtype} [{head}{more}]"
    if isinstance(value, float):
        return f"{value:.8g}"
    return repr(value)


def array(out: ProbeOutput, key: str, what: str) -> np.ndarray:
    """The array the probe stored under ``key``; :class:`Bad` naming ``what`` when there is none."""
    if key in out.arrays:
        return out.arrays[key]
    if key in out.values:
        value = out.values[key]
        if isinstance(value, int | float | bool) or (isinstance(value, list) and value):
            try:
                if np.asarray(value).dtype.kind in "biuf":  # numbers, not their text ("0.7")
                    return np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                pass
        raise Bad(f"{what} returned {summary(value)}, not an array")
    raise Bad(f"{what} returned nothing the checker could read (None?)")


def number(out: ProbeOutput, key: str, what: str) -> float:
    """The float the probe stored under ``key``; :class:`Bad` when it is missing or not a number."""
    value = out.values.get(key, out.arrays.get(key))
    try:
        real = not np.iscomplexobj(value) and np.asarray(value).dtype.kind in "biuf"
        result = float(np.asarray(value, dtype=float).reshape(-1)[0]) if real and np.size(value) == 1 else None
    except (TypeError, ValueError):
        result = None
    if result is None:
        raise Bad(f"{what} returned {summary(value)}, not one number")
    return result


def worst(got: np.ndarray, expected: np.ndarray) -> str:
    """Where the largest difference is, and its size."""
    diff = np.abs(got.astype(float) - expected.astype(float))
    if not np.isfinite(diff).all():
        idx = np.unravel_index(int(np.argmax(~np.isfinite(diff))), diff.shape)
        return f"non-finite value {got[idx]} at index {tuple(int(i) for i in idx)}"
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return (f"largest difference {diff[idx]:.3g} at index {tuple(int(i) for i in idx)} "
            f"(expected {expected[idx]:.8g}, got {got[idx]:.8g})")


Hint = tuple[Callable[[np.ndarray, np.ndarray], bool], str | Callable[[np.ndarray, np.ndarray], str]]


def close(name: str, called: str, got: Any, expected: np.ndarray, *, rtol: float = 1e-6,
          atol: float = 1e-9, hints: Sequence[Hint] = (), shape_hint: str = "") -> Assertion:
    """An :class:`Assertion` that ``got`` equals ``expected`` within tolerances (shape first).

    ``hints`` are ``(predicate(got, expected), likely cause)`` pairs; the first that holds on a
    failure becomes the assertion's hint (a likely cause may itself be a function of them, for a text that
    quotes what was found).
    """
    expected = np.asarray(expected, dtype=float)
    got_arr = np.asarray(got)
    if got_arr.dtype == bool:
        got_arr = got_arr.astype(float)
    if got_arr.dtype.kind not in "iuf":  # real numbers: not complex (its real part would be compared), not times
        return Assertion(name, False, f"{called}: expected {summary(expected)}, got {summary(got)}"
                         + (" (complex numbers)" if got_arr.dtype.kind == "c" else ""))
    if got_arr.shape != expected.shape:
        return Assertion(name, False, f"{called}: expected shape {expected.shape}, got shape {got_arr.shape}",
                         shape_hint)
    got_arr = got_arr.astype(float)
    if np.allclose(got_arr, expected, rtol=rtol, atol=atol):
        return Assertion(name, True, f"{called}: matches the reference ({expected.size} values)")
    hint = ""
    for predicate, text in hints:
        try:
            with np.errstate(all="ignore"):
                if predicate(got_arr, expected):
                    hint = text(got_arr, expected) if callable(text) else text
                    break
        except (ValueError, TypeError, FloatingPointError):
            continue
    return Assertion(name, False, f"{called}: expected {summary(expected)}, got {summary(got_arr)}; "
                                  f"{worst(got_arr, expected)}", hint)


def guarded(name: str, fn: Callable[[], Assertion | list[Assertion]]) -> list[Assertion]:
    """Run one comparison; a :class:`Bad` value becomes a failed assertion with its message."""
    try:
        result = fn()
    except Bad as err:
        return [Assertion(name, False, str(err))]
    return result if isinstance(result, list) else [result]


def ratio(got: np.ndarray, expected: np.ndarray) -> float | None:
    """The single factor ``got ≈ r · expected`` if there is one (least squares, 1e-6 relative fit)."""
    e = expected.reshape(-1).astype(float)
    g = got.reshape(-1).astype(float)
    denom = float(e @ e)
    if denom == 0 or not np.isfinite(g).all():
        return None
    r = float(g @ e) / denom
    return r if np.allclose(g, r * e, rtol=1e-5, atol=1e-12 * max(1.0, abs(r))) else None


SHUFFLED_APART = "X and y were shuffled with different orders: shuffle one index array and index both with it"
"""The likely cause of a training step on rows that came with other rows' labels (:func:`labels_moved`)."""


def _rows(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)


def _like(seen: Any, ours: np.ndarray) -> bool:
    """Whether ``seen`` (from the child) is an array of numbers with as many rows and values as ``ours``:
    checked before any copy, as a child may send back up to MAX_RESULT_BYTES of anything."""
    return (isinstance(seen, np.ndarray) and seen.dtype.kind in "biuf" and seen.ndim >= 1
            and seen.size == ours.size and seen.shape[0] == ours.shape[0])


def labels_moved(X: np.ndarray, y: np.ndarray, X_seen: Any, y_seen: Any) -> bool:
    """Whether a training step was handed the training set's rows ``X_seen`` (each row of ``X`` once, in
    any order) and its labels ``y_seen`` (each label of ``y`` once), but some row with another row's label:
    X and y put in two orders. False when it cannot tell (nothing seen, other rows or labels)."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or not (_like(X_seen, X) and _like(y_seen, y)):
        return False
    X, y, X_seen, y_seen = _rows(X), _rows(y), _rows(X_seen), _rows(y_seen)
    if X_seen.shape != X.shape or y_seen.shape != y.shape:
        return False
    index = {row.tobytes(): i for i, row in enumerate(X)}
    found = [index.get(row.tobytes()) for row in X_seen]
    if len(index) != len(X) or None in found or sorted(found) != list(range(len(X))):
        return False
    if sorted(row.tobytes() for row in y_seen) != sorted(row.tobytes() for row in y):
        return False
    return any(not np.array_equal(y_seen[k], y[i]) for k, i in enumerate(found))
