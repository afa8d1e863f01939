"""Fashion-MNIST: locate, download, verify, load, and the course's normalisation.

Where the files are looked for, in order (the first directory holding a file wins, per file):

1. the ``root`` argument, when given;
2. ``$BACKPROPLAB_DATA``, when set;
3. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist`` package);
4. the user cache, ``$XDG_CACHE_HOME/backproplab`` or ``~/.cache/backproplab``.

A ``root`` or ``$BACKPROPLAB_DATA`` that names no directory is not skipped silently: it is a
one-line warning on stderr (the search goes on), or an error when downloading is off.
One that is a directory but lacks a file is said too (once per file, naming where the file came from
instead): a misnamed or misplaced copy is not passed over in silence.

Each file may be gzip-compressed (``name.gz``) or not (``name``). The first time a file is used
its header is checked (:mod:`backproplab.data.idx`) and the SHA-256 of its decompressed content is
compared with :data:`SHA256`; a file that fails either check is never used. A verified array is
remembered in the cache (``verified/<key>-<name>.npy`` plus a JSON stamp keyed by the source's
path, size and modification time and the expected checksum, and holding the SHA-256 of the cached
array itself), so a warm load reads one ``.npy`` per file and hashes it (about 0.1 s for 47 MB)
instead of decompressing and re-hashing the source. A cached array that does not match its stamp
(flipped bytes, labels out of range) is never returned: it is rebuilt from the source files with a
one-line warning on stderr. When the cache is not writable, loading still works and simply
re-hashes every time.

When a file is found nowhere and ``download=True``, it is fetched from :data:`MIRRORS` in order
into the cache, streamed into a part file that is renamed into place only after the SHA-256 of its
decompressed content matched; any failure (HTTP error, timeout, a deadline per file or a minimum
rate missed, truncated body, bad checksum) moves on to the next mirror and leaves no file behind
(see :mod:`backproplab.data.download`).

Where things are: the places and the loaders are here; the verified-array cache in
:mod:`backproplab.data.verified`; the download mechanics in :mod:`backproplab.data.download`; the
subsets and one-hot encoding (for any labelled array, re-exported here) in
:mod:`backproplab.data.subsets`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from backproplab.data.download import (
    DEFAULT_DEADLINE,
    DEFAULT_MIN_RATE,
    DEFAULT_TIMEOUT,
    Limits,
    ensure_writable,
    try_mirrors,
)
from backproplab.data.subsets import one_hot, stratified_subset, subset
from backproplab.data.verified import cache_dir, load_verified, warn
from backproplab.errors import ChecksumError, DataNotFoundError, InputError

if TYPE_CHECKING:
    import torch

__all__ = ["SPLITS", "FILES", "SHA256", "SIZES", "MIRRORS", "DEBIAN_DIR", "DEBIAN_PACKAGE", "ENV_VAR", "MEAN",
           "STD", "FASHION_CLASSES", "cache_dir", "search_places", "check_explicit_places", "download_file",
           "load_fashion_mnist", "describe_files", "fashion_mnist_flat", "fashion_mnist_tensors",
           "stratified_subset", "subset", "one_hot"]

#: The allowed values of ``split``.
SPLITS: tuple[str, ...] = ("train", "test")

#: split -> (images file, labels file), names without ``.gz``.
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: SHA-256 of each file's decompressed content (DESIGN.md).
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

#: Decompressed size of each file in bytes (DESIGN.md).
SIZES: dict[str, int] = {
    "train-images-idx3-ubyte": 47040016,
    "train-labels-idx1-ubyte": 60008,
    "t10k-images-idx3-ubyte": 7840016,
    "t10k-labels-idx1-ubyte": 10008,
}

#: Base URLs tried in order for ``<name>.gz``: the original host, then two public mirrors.
MIRRORS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)

#: Where Debian's ``dataset-fashion-mnist`` package puts the files.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
ENV_VAR = "BACKPROPLAB_DATA"

_WRITABLE_HINT = f"set XDG_CACHE_HOME or {ENV_VAR} to a writable directory"

#: The course's normalisation constants (mean and std of the training pixels / 255, rounded).
MEAN = 0.1307
STD = 0.3081

#: The ten class names, indexed by label.
FASHION_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


# --------------------------------------------------------------------------------------------
# Where to look


def search_places(root: str | os.PathLike | None = None) -> list[tuple[Path | None, str]]:
    """The directories searched, in order, each with a short description.

    An entry's directory is ``None`` when it is not configured (``$BACKPROPLAB_DATA`` unset).
    """
    places: list[tuple[Path | None, str]] = []
    if root is not None:
        places.append((Path(root), "root argument"))
    env = os.environ.get(ENV_VAR)
    places.append((Path(env) if env else None, f"${ENV_VAR}"))
    places.append((Path(DEBIAN_DIR), f"Debian package {DEBIAN_PACKAGE}"))
    places.append((cache_dir(), "user cache"))
    return places


def check_explicit_places(root: str | os.PathLike | None, download: bool) -> None:
    """Say when a place the user named (``root``, ``$BACKPROPLAB_DATA``) is not a directory.

    With ``download=True`` that is a one-line warning on stderr (once per process and place) and
    the search goes on (the environment variable, Debian folder, cache, download); with
    ``download=False`` it is an error, since the user asked for local files and named where they are.

    Raises
    ------
    DataNotFoundError
        ``download=False`` and ``root`` or ``$BACKPROPLAB_DATA`` names nothing that exists.
    InputError
        ``download=False`` and it names a file or a device, not a directory.
    """
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise InputError(f"root must be a folder path or None, got {type(root).__name__}")
    env = os.environ.get(ENV_VAR)
    for value, label in ((root, "root"), (env or None, f"${ENV_VAR}")):
        if value is None or Path(value).is_dir():
            continue
        why = "is not a directory" if Path(value).exists() else "does not exist"
        if not download:
            # a file or a device named as the folder is a mistake in the command (exit 2), not missing data
            raise (InputError if Path(value).exists() else DataNotFoundError)(
                f"Fashion-MNIST: {label} {str(value)!r} {why}; expected a directory holding the four "
                "Fashion-MNIST files (with --no-download / download=False a named place that is missing "
                "is an error, not skipped)")
        if (label, str(value)) not in _WARNED_PLACES:  # once per process: a lesson loads several times
            _WARNED_PLACES.add((label, str(value)))
            warn(f"Fashion-MNIST: {label} {str(value)!r} {why}; searching the other places instead")


_WARNED_PLACES: set[tuple[str, ...]] = set()


def _find(name: str, places: Sequence[tuple[Path | None, str]]) -> tuple[Path, str] | None:
    for directory, label in places:
        if directory is None:
            continue
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate, label
    return None


def _not_found(name: str, places, download: bool, failures: Sequence[tuple[str, str]] | None,
               note: str | None = None) -> DataNotFoundError:
    lines = [f"Fashion-MNIST file {name} (or {name}.gz) not found.", "  searched, in order:"]
    for directory, label in places:
        shown = str(directory) if directory is not None else "(not set)"
        lines.append(f"    {shown}  [{label}]")
    if not download:
        lines.append("  download: not attempted (download=False / --no-download)")
    elif note is not None:
        lines.append(f"  download: {note}")
    elif failures:
        lines.append("  mirrors tried:")
        lines.extend(f"    {url}: {reason}" for url, reason in failures)
    else:
        lines.append("  mirrors tried: none (the mirror list is empty)")
    lines.append(
        f"  to fix: install the Debian package ({'apt-get install ' + DEBIAN_PACKAGE}), or set "
        f"{ENV_VAR} to a directory holding the four Fashion-MNIST files (.gz or uncompressed), "
        "or allow the download (download=True; leave out --no-download)")
    return DataNotFoundError("\n".join(lines))


# --------------------------------------------------------------------------------------------
# Verified-array cache (the cache itself is in backproplab.data.verified)


def _check_layout(name: str, array: np.ndarray, path: Path) -> None:
    if "images" in name:
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[1:] != (28, 28):
            raise ChecksumError(
                f"{path}: expected uint8 images of shape [N, 28, 28], got {array.dtype} {array.shape}")
    else:
        if array.dtype != np.uint8 or array.ndim != 1:
            raise ChecksumError(f"{path}: expected uint8 labels of shape [N], got {array.dtype} {array.shape}")
        if array.size and int(array.max()) >= len(FASHION_CLASSES):
            raise ChecksumError(
                f"{path}: expected labels in 0..{len(FASHION_CLASSES) - 1}, got a maximum of {int(array.max())}")


def _load_verified(name: str, path: Path, expected: str, rehash: bool = False) -> tuple[np.ndarray, str]:
    """Load one Fashion-MNIST file, checked; returns the array and ``"stamp"`` or ``"hashed"``."""
    return load_verified(name, path, expected, max_bytes=SIZES[name], check_layout=_check_layout, rehash=rehash)


# --------------------------------------------------------------------------------------------
# Download (the mechanics, limits and part files are in backproplab.data.download)


def download_file(name: str, directory: str | os.PathLike | None = None, *,
                  mirrors: Sequence[str] | None = None, expected: str | None = None,
                  timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE,
                  min_rate: float = DEFAULT_MIN_RATE, progress: bool = True) -> Path:
    """Download ``<name>.gz`` into ``directory`` (default: the cache), trying each mirror in order.

    Parameters
    ----------
    name : str
        File name without ``.gz``, e.g. ``"t10k-labels-idx1-ubyte"``.
    directory : path, optional
        Destination; default :func:`cache_dir`.
    mirrors : sequence of str, optional
        Base URLs; default :data:`MIRRORS`.
    expected : str, optional
        SHA-256 of the decompressed content; default ``SHA256[name]``.
    timeout : float
        Seconds to wait for a connection or the next bytes.
    deadline : float
        Seconds the whole file may take from one mirror before the next is tried.
    min_rate : float
        Bytes per second a mirror must average once ``timeout`` seconds have passed (0: no minimum).
    progress : bool
        Show a progress bar.

    Returns
    -------
    pathlib.Path
        The verified ``.gz`` file.

    Raises
    ------
    InputError
        ``timeout``, ``deadline`` or ``min_rate`` out of range.
    DataNotFoundError
        When the directory is not writable, or every mirror failed (each failure listed).
    """
    limits = Limits(timeout, deadline, min_rate)
    directory = Path(directory) if directory is not None else cache_dir()
    mirrors = tuple(MIRRORS if mirrors is None else mirrors)
    expected = expected if expected is not None else SHA256[name]
    places = [(directory, "download destination")]
    problem = ensure_writable(directory, _WRITABLE_HINT)
    if problem is not None:
        raise _not_found(name, places, True, None, note=f"impossible: {problem}")
    path, failures = try_mirrors(name, directory, mirrors, expected, limits, progress, max_bytes=SIZES[name])
    if path is None:
        raise _not_found(name, places, True, failures)
    return path


# --------------------------------------------------------------------------------------------
# Public loading API


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise InputError(f"split must be one of {', '.join(map(repr, SPLITS))}; got {split!r}")


def _say_named_places_passed(name: str, places, found_in: str, where: str) -> None:
    """Warn (once per process, place and file) that a folder the user named (``root``,
    ``$BACKPROPLAB_DATA``) exists but lacks ``name``, which came from ``where`` instead: files put in
    the wrong folder, or misnamed, were passed over without a word."""
    for directory, label in places:
        if label == found_in or label not in ("root argument", f"${ENV_VAR}"):
            break
        if directory is None or not directory.is_dir() or (label, str(directory), name) in _WARNED_PLACES:
            continue
        _WARNED_PLACES.add((label, str(directory), name))
        warn(f"Fashion-MNIST: {label} {str(directory)!r} holds no {name} (or {name}.gz); using {where}")


def _locate(name: str, root, download: bool, mirrors, checksums, limits: Limits, progress) -> tuple[Path, str]:
    places = search_places(root)
    found = _find(name, places)
    if found is not None:
        _say_named_places_passed(name, places, found[1], f"{found[0]} [{found[1]}]")
        return found
    if not download:
        raise _not_found(name, places, False, None)
    target = cache_dir()
    problem = ensure_writable(target, _WRITABLE_HINT)
    if problem is not None:
        raise _not_found(name, places, True, None, note=f"impossible: {problem}")
    mirrors = tuple(MIRRORS if mirrors is None else mirrors)
    path, failures = try_mirrors(name, target, mirrors, _expected(name, checksums), limits, progress,
                                  max_bytes=SIZES[name])
    if path is None:
        raise _not_found(name, places, True, failures)
    _say_named_places_passed(name, places, "downloaded", f"a download into {path.parent}")
    return path, "downloaded"


def _expected(name: str, checksums: Mapping[str, str] | None) -> str:
    if checksums is not None and name in checksums:
        return checksums[name]
    return SHA256[name]


def load_fashion_mnist(split: str, root: str | os.PathLike | None = None, download: bool = True, *,
                       mirrors: Sequence[str] | None = None, checksums: Mapping[str, str] | None = None,
                       timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE,
                       min_rate: float = DEFAULT_MIN_RATE, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of Fashion-MNIST as NumPy arrays, checked against its published SHA-256.

    Parameters
    ----------
    split : {"train", "test"}
        60,000 training or 10,000 test images.
    root : path, optional
        Directory searched first (then ``$BACKPROPLAB_DATA``, the Debian directory, the cache).
    download : bool
        Download missing files into the cache from :data:`MIRRORS`.
    mirrors : sequence of str, optional
        Base URLs to download from, in order (default :data:`MIRRORS`).
    checksums : mapping, optional
        ``name -> sha256`` overriding :data:`SHA256` for the names it holds (tests use this).
    timeout : float
        Seconds a download waits for a connection or the next bytes before trying the next mirror.
    deadline : float
        Seconds one file may take from one mirror before the next mirror is tried.
    min_rate : float
        Bytes per second a mirror must average once ``timeout`` seconds have passed (0: no minimum).
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    images : numpy.ndarray, uint8, shape [N, 28, 28]
    labels : numpy.ndarray, int64, shape [N], values 0..9 (see :data:`FASHION_CLASSES`)

    Raises
    ------
    InputError
        Unknown ``split``.
    DataNotFoundError
        A file is missing and was not (or could not be) downloaded; the message lists the places
        searched, the mirrors tried, the Debian package and ``BACKPROPLAB_DATA``. Also when
        ``download=False`` and ``root`` or ``$BACKPROPLAB_DATA`` names no directory (with
        ``download=True`` that is a warning on stderr, and the search goes on).
    ChecksumError
        A file's header or checksum is wrong; the message names the file, expected and actual value.
    """
    _check_split(split)
    limits = Limits(timeout, deadline, min_rate)
    check_explicit_places(root, download)
    arrays = []
    paths = []
    for name in FILES[split]:
        path, _ = _locate(name, root, download, mirrors, checksums, limits, progress)
        array, _ = _load_verified(name, path, _expected(name, checksums))
        arrays.append(array)
        paths.append(path)
    images, labels = arrays
    if len(images) != len(labels):
        raise ChecksumError(
            f"{paths[0]} and {paths[1]} disagree: expected as many labels as images ({len(images)}), "
            f"got {len(labels)}")
    return images, labels.astype(np.int64)


def describe_files(root: str | os.PathLike | None = None, download: bool = True, *,
                   mirrors: Sequence[str] | None = None, checksums: Mapping[str, str] | None = None,
                   timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE,
                   min_rate: float = DEFAULT_MIN_RATE, progress: bool = True,
                   rehash: bool = True) -> list[dict]:
    """Where each of the four Fashion-MNIST files is, its size, and whether it verified.

    Used by ``backproplab data``. With ``rehash=True`` (the default) every file's checksum is
    computed afresh instead of trusting the cache's stamp.

    Returns
    -------
    list of dict
        One per file, in :data:`FILES` order, with keys ``file`` (name without ``.gz``), ``path``,
        ``bytes`` (size on disk), ``status`` (``"verified"``), ``found_in`` (which search place,
        or ``"downloaded"``) and ``sha256``.

    Raises
    ------
    DataNotFoundError, ChecksumError
        As :func:`load_fashion_mnist`.
    """
    limits = Limits(timeout, deadline, min_rate)
    check_explicit_places(root, download)
    rows = []
    for split in SPLITS:
        for name in FILES[split]:
            path, found_in = _locate(name, root, download, mirrors, checksums, limits, progress)
            expected = _expected(name, checksums)
            _load_verified(name, path, expected, rehash=rehash)
            rows.append({"file": name, "path": str(path), "bytes": path.stat().st_size,
                         "status": "verified", "found_in": found_in, "sha256": expected})
    return rows


# --------------------------------------------------------------------------------------------
# Course views of the data


def _apply_limit(images: np.ndarray, labels: np.ndarray, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    if limit is None:
        return images, labels
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise InputError(f"limit must be None or a positive integer, got {limit!r}")
    return images[:limit], labels[:limit]


def fashion_mnist_flat(split: str, root: str | os.PathLike | None = None, download: bool = True,
                       limit: int | None = None, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST for NumPy models: flattened pixels scaled to [0, 1].

    Parameters
    ----------
    split, root, download
        As :func:`load_fashion_mnist` (extra keyword arguments are passed on to it).
    limit : int, optional
        Keep only the first ``min(limit, N)`` samples (use :func:`stratified_subset` for a
        class-balanced random subset).

    Returns
    -------
    X : numpy.ndarray, float32, shape [N, 784], values in [0, 1]
    y : numpy.ndarray, int64, shape [N]
    """
    images, labels = _apply_limit(*load_fashion_mnist(split, root, download, **kwargs), limit)
    X = images.reshape(len(images), -1).astype(np.float32)
    X /= np.float32(255.0)
    return X, labels


def fashion_mnist_tensors(split: str, root: str | os.PathLike | None = None, download: bool = True,
                          limit: int | None = None, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST for PyTorch models, with the course's normalisation.

    Pixels are scaled to [0, 1], then ``(x - 0.1307) / 0.3081``.

    Parameters
    ----------
    split, root, download
        As :func:`load_fashion_mnist` (extra keyword arguments are passed on to it).
    limit : int, optional
        Keep only the first ``min(limit, N)`` samples.

    Returns
    -------
    X : torch.Tensor, float32, shape [N, 1, 28, 28]
    y : torch.Tensor, int64, shape [N]
    """
    import torch

    images, labels = _apply_limit(*load_fashion_mnist(split, root, download, **kwargs), limit)
    X = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32)
    X.div_(255.0).sub_(MEAN).div_(STD)
    return X.unsqueeze(1), torch.from_numpy(np.ascontiguousarray(labels))


