"""Fashion-MNIST: where files are found, what is refused, the warm cache, and the real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from backproplab.data import (
    FASHION_CLASSES,
    describe_files,
    fashion_mnist_flat,
    fashion_mnist_tensors,
    load_fashion_mnist,
)
from backproplab.data import fashion_mnist as fm
from backproplab.errors import ChecksumError, DataNotFoundError, InputError

pytestmark = pytest.mark.data


# ---- offline, on small files the tests write ------------------------------------------------

@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "raw"])
def test_loads_gz_or_uncompressed_from_root(isolated, fake, tmp_path, compressed):
    root = fake.write(tmp_path / "root", compressed=compressed)
    images, labels = load_fashion_mnist("test", root=root, download=False, checksums=fake.checksums)
    assert images.dtype == np.uint8 and images.shape == (10, 28, 28)
    assert labels.dtype == np.int64 and labels.shape == (10,)
    np.testing.assert_array_equal(images, fake.arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(labels, fake.arrays["t10k-labels-idx1-ubyte"])


def test_search_order_root_env_debian_cache(isolated, fake, tmp_path, monkeypatch):
    dirs = {label: fake.write(tmp_path / label) for label in ("root", "env", "debian")}
    fake.write(isolated)
    monkeypatch.setenv("BACKPROPLAB_DATA", str(dirs["env"]))
    monkeypatch.setattr(fm, "DEBIAN_DIR", dirs["debian"])

    def where(**kw):
        rows = describe_files(download=False, checksums=fake.checksums, **kw)
        return {Path(r["path"]).parent for r in rows}

    assert where(root=dirs["root"]) == {dirs["root"]}
    assert where() == {dirs["env"]}
    monkeypatch.delenv("BACKPROPLAB_DATA")
    assert where() == {dirs["debian"]}
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")
    assert where() == {isolated}
    # an explicit root that lacks the files falls through to the rest
    (tmp_path / "empty").mkdir()
    assert where(root=tmp_path / "empty") == {isolated}


@pytest.mark.parametrize("how", ["root", "env"])
def test_a_named_place_that_does_not_exist_is_a_warning_then_the_search_goes_on(
        isolated, fake, tmp_path, monkeypatch, capsys, how):
    debian = fake.write(tmp_path / "debian")
    monkeypatch.setattr(fm, "DEBIAN_DIR", debian)
    missing = tmp_path / "typo"
    kwargs = {"root": missing} if how == "root" else {}
    if how == "env":
        monkeypatch.setenv("BACKPROPLAB_DATA", str(missing))
    images, _ = load_fashion_mnist("test", checksums=fake.checksums, progress=False, mirrors=[], **kwargs)
    np.testing.assert_array_equal(images, fake.arrays["t10k-images-idx3-ubyte"])
    err = capsys.readouterr().err
    label = "root" if how == "root" else "$BACKPROPLAB_DATA"
    assert err == (f"backproplab: warning: Fashion-MNIST: {label} {str(missing)!r} does not exist; "
                   "searching the other places instead\n")
    load_fashion_mnist("test", checksums=fake.checksums, progress=False, mirrors=[], **kwargs)
    assert capsys.readouterr().err == "", "said once per process, not at every load"


@pytest.mark.parametrize("how", ["root", "env"])
def test_a_named_folder_without_the_files_is_said_once_per_file(isolated, fake, tmp_path, monkeypatch, capsys, how):
    """A named folder that exists but lacks the files (put in the wrong folder, or misnamed) was passed over
    without a word, and the Debian copy was used: the user learned nothing of why their files were not read."""
    debian = fake.write(tmp_path / "debian")
    monkeypatch.setattr(fm, "DEBIAN_DIR", debian)
    named = tmp_path / "mine"
    named.mkdir()
    (named / "t10k-images.gz").write_bytes((debian / "t10k-images-idx3-ubyte.gz").read_bytes())  # misnamed
    kwargs = {"root": named} if how == "root" else {}
    if how == "env":
        monkeypatch.setenv("BACKPROPLAB_DATA", str(named))
    images, _ = load_fashion_mnist("test", checksums=fake.checksums, progress=False, mirrors=[], **kwargs)
    np.testing.assert_array_equal(images, fake.arrays["t10k-images-idx3-ubyte"])
    label = "root argument" if how == "root" else "$BACKPROPLAB_DATA"
    assert capsys.readouterr().err.splitlines() == [
        f"backproplab: warning: Fashion-MNIST: {label} {str(named)!r} holds no {name} (or {name}.gz); using "
        f"{debian / (name + '.gz')} [Debian package dataset-fashion-mnist]"
        for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
    load_fashion_mnist("test", checksums=fake.checksums, progress=False, mirrors=[], **kwargs)
    assert capsys.readouterr().err == "", "said once per process, not at every load"


@pytest.mark.parametrize("how", ["root", "env", "root-is-a-file"])
def test_a_named_place_that_does_not_exist_is_an_error_without_download(
        isolated, fake, tmp_path, monkeypatch, capsys, how):
    monkeypatch.setattr(fm, "DEBIAN_DIR", fake.write(tmp_path / "debian"))  # found there otherwise
    missing = tmp_path / "typo"
    if how == "root-is-a-file":
        missing.write_text("not a folder")
    if how == "env":
        monkeypatch.setenv("BACKPROPLAB_DATA", str(missing))
    kwargs = {} if how == "env" else {"root": missing}
    # a file named as the folder is the command's mistake (InputError, exit 2), a missing folder missing data
    error = InputError if how == "root-is-a-file" else DataNotFoundError
    with pytest.raises(error) as info:
        load_fashion_mnist("test", download=False, checksums=fake.checksums, **kwargs)
    message = str(info.value)
    why = "is not a directory" if how == "root-is-a-file" else "does not exist"
    assert f"{str(missing)!r} {why}" in message and "--no-download" in message and "\n" not in message
    with pytest.raises(error, match=why):
        describe_files(download=False, checksums=fake.checksums, **kwargs)
    assert capsys.readouterr().err == ""


def test_describe_files_rows(isolated, fake, tmp_path):
    root = fake.write(tmp_path / "root")
    rows = describe_files(root=root, download=False, checksums=fake.checksums)
    assert [r["file"] for r in rows] == [n for s in ("train", "test") for n in fm.FILES[s]]
    for row in rows:
        assert row["status"] == "verified" and row["found_in"] == "root argument"
        assert row["bytes"] == len(fake.gz[row["file"]]) == os.path.getsize(row["path"])
        assert row["sha256"] == fake.checksums[row["file"]]


def test_missing_without_download_lists_everything(isolated, tmp_path):
    (tmp_path / "mine").mkdir()  # an existing root without the files (a missing one is refused first)
    with pytest.raises(DataNotFoundError) as info:
        load_fashion_mnist("train", root=tmp_path / "mine", download=False)
    message = str(info.value)
    for needle in ("train-images-idx3-ubyte", str(tmp_path / "mine"), "$BACKPROPLAB_DATA", "(not set)",
                   str(tmp_path / "debian-empty"), str(isolated), "dataset-fashion-mnist",
                   "BACKPROPLAB_DATA to a directory", "download: not attempted"):
        assert needle in message, needle
    assert isinstance(info.value, FileNotFoundError)


def test_unknown_split_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'test'; got 'valid'"):
        load_fashion_mnist("valid")


def test_checksum_mismatch_names_file_expected_and_actual(isolated, fake, tmp_path):
    root = fake.write(tmp_path / "root")
    with pytest.raises(ChecksumError) as info:
        load_fashion_mnist("test", root=root, download=False)  # the real checksums
    message = str(info.value)
    assert str(root / "t10k-images-idx3-ubyte.gz") in message
    assert fm.SHA256["t10k-images-idx3-ubyte"] in message
    assert fake.checksums["t10k-images-idx3-ubyte"] in message
    assert not (isolated / "verified").exists() or not any((isolated / "verified").iterdir())


def test_bad_header_is_refused_before_hashing(isolated, fake, tmp_path):
    root = fake.write(tmp_path / "root", compressed=False)
    path = root / "t10k-labels-idx1-ubyte"
    path.write_bytes(fake.raw["t10k-labels-idx1-ubyte"][:-1])
    with pytest.raises(ChecksumError, match=r"truncated.*expected 18 bytes, got 17"):
        load_fashion_mnist("test", root=root, download=False, checksums=fake.checksums)


def test_labels_and_images_count_must_agree(isolated, fake, tmp_path, idx_encode):
    import hashlib

    root = fake.write(tmp_path / "root", compressed=False)
    labels = idx_encode(np.zeros(9, np.uint8))
    (root / "t10k-labels-idx1-ubyte").write_bytes(labels)
    sums = dict(fake.checksums, **{"t10k-labels-idx1-ubyte": hashlib.sha256(labels).hexdigest()})
    with pytest.raises(ChecksumError, match=r"expected as many labels as images \(10\), got 9"):
        load_fashion_mnist("test", root=root, download=False, checksums=sums)


def test_warm_load_uses_the_stamp_and_notices_changes(isolated, fake, tmp_path):
    root = fake.write(tmp_path / "root", compressed=False)
    name = "t10k-images-idx3-ubyte"
    path = root / name
    expected = fake.checksums[name]
    first, how = fm._load_verified(name, path, expected)
    assert how == "hashed" and len(list((isolated / "verified").glob("*.npy"))) == 1
    second, how = fm._load_verified(name, path, expected)
    assert how == "stamp"
    np.testing.assert_array_equal(first, second)
    assert second.flags.writeable
    # the stamp is keyed by the expected checksum too: another expectation re-hashes (and fails)
    with pytest.raises(ChecksumError):
        fm._load_verified(name, path, "0" * 64)
    # a file changed in place (same size, new mtime) is hashed again and refused
    damaged = bytearray(fake.raw[name])
    damaged[-1] ^= 0xFF
    path.write_bytes(bytes(damaged))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(ChecksumError, match=expected):
        fm._load_verified(name, path, expected)


def test_unwritable_cache_still_loads_by_rehashing(isolated, fake, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    root = fake.write(tmp_path / "root")
    for _ in range(2):
        images, _ = load_fashion_mnist("test", root=root, download=False, checksums=fake.checksums)
        np.testing.assert_array_equal(images, fake.arrays["t10k-images-idx3-ubyte"])
    _, how = fm._load_verified("t10k-images-idx3-ubyte", root / "t10k-images-idx3-ubyte.gz",
                               fake.checksums["t10k-images-idx3-ubyte"])
    assert how == "hashed"


def test_a_pipe_in_the_cache_costs_only_speed_and_stays_a_pipe(isolated, fake, tmp_path):
    """atomic_open refuses to rename over a pipe; the cache treats that as unwritable, not as an error."""
    from backproplab.data.verified import stamp_paths

    root = fake.write(tmp_path / "root")
    source = root / "t10k-labels-idx1-ubyte.gz"
    npy, _ = stamp_paths(source, "t10k-labels-idx1-ubyte")
    npy.parent.mkdir(parents=True)
    os.mkfifo(npy)
    _, labels = load_fashion_mnist("test", root=root, download=False, checksums=fake.checksums)
    np.testing.assert_array_equal(labels, fake.arrays["t10k-labels-idx1-ubyte"])
    assert npy.is_fifo()


def test_flat_and_tensor_views(isolated, fake, tmp_path):
    root = fake.write(tmp_path / "root")
    kw = dict(root=root, download=False, checksums=fake.checksums)
    raw = fake.arrays["train-images-idx3-ubyte"]
    X, y = fashion_mnist_flat("train", **kw)
    assert X.dtype == np.float32 and X.shape == (20, 784) and y.dtype == np.int64
    np.testing.assert_allclose(X, raw.reshape(20, 784) / 255.0, rtol=0, atol=1e-7)
    assert 0.0 <= X.min() and X.max() <= 1.0
    Xt, yt = fashion_mnist_tensors("train", limit=7, **kw)
    assert Xt.dtype == torch.float32 and Xt.shape == (7, 1, 28, 28) and yt.dtype == torch.int64
    expected = (torch.from_numpy(raw[:7]).float().unsqueeze(1) / 255.0 - 0.1307) / 0.3081
    torch.testing.assert_close(Xt, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(yt, torch.from_numpy(fake.arrays["train-labels-idx1-ubyte"][:7]).long())
    assert fashion_mnist_flat("train", limit=1000, **kw)[0].shape == (20, 784)
    with pytest.raises(ValueError, match="limit must be None or a positive integer, got 0"):
        fashion_mnist_flat("train", limit=0, **kw)


def test_class_names():
    assert len(FASHION_CLASSES) == 10
    assert FASHION_CLASSES[0] == "T-shirt/top" and FASHION_CLASSES[9] == "Ankle boot"


# ---- the real data (CI installs dataset-fashion-mnist) ---------------------------------------

def test_real_train_split(needs_fashion):
    images, labels = load_fashion_mnist("train", download=False)
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 6000))
    counts = np.bincount(images.ravel(), minlength=256)  # exact moments via a histogram
    values = np.arange(256) / 255.0
    mean = (counts * values).sum() / counts.sum()
    std = np.sqrt((counts * (values - mean) ** 2).sum() / counts.sum())
    assert abs(mean - 0.2860) < 0.001
    assert abs(std - 0.3530) < 0.001


def test_real_test_split(needs_fashion):
    images, labels = load_fashion_mnist("test", download=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 1000))


def test_real_course_tensors_are_normalised(needs_fashion):
    X, y = fashion_mnist_tensors("train", download=False)
    assert X.shape == (60000, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    # (0.2860 - 0.1307) / 0.3081 and 0.3530 / 0.3081
    assert abs(X.mean().item() - 0.5041) < 0.005
    assert abs(X.std().item() - 1.1457) < 0.005


def test_real_describe_files(needs_fashion):
    rows = describe_files(download=False)
    assert [r["status"] for r in rows] == ["verified"] * 4
    assert all(Path(r["path"]).is_file() for r in rows)


@pytest.mark.parametrize("damage", ["label-byte", "image-byte", "header", "truncated"])
def test_a_corrupted_cache_is_rebuilt_from_the_source_with_a_warning(isolated, fake, tmp_path, capsys, damage):
    root = fake.write(tmp_path / "root")
    sums = fake.checksums
    load_fashion_mnist("test", root=root, download=False, checksums=sums)
    name = "t10k-labels-idx1-ubyte" if damage == "label-byte" else "t10k-images-idx3-ubyte"
    npy = next((isolated / "verified").glob(f"*-{name}.npy"))
    raw = bytearray(npy.read_bytes())
    if damage in ("label-byte", "image-byte"):
        raw[-1] = 255  # a label of 255 (the case), or one pixel changed: same size, same shape
    elif damage == "header":
        raw[10:20] = b"X" * 10
    else:
        raw = raw[: len(raw) // 2]
    npy.write_bytes(bytes(raw))
    capsys.readouterr()
    images, labels = load_fashion_mnist("test", root=root, download=False, checksums=sums)
    np.testing.assert_array_equal(labels, fake.arrays["t10k-labels-idx1-ubyte"])
    np.testing.assert_array_equal(images, fake.arrays["t10k-images-idx3-ubyte"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("backproplab: warning: the verified-array cache is corrupt")
    assert str(npy) in err and f"rebuilding it from {root / name}.gz" in err
    # rebuilt: the next load uses the stamp again, silently
    _, how = fm._load_verified(name, root / f"{name}.gz", sums[name])
    assert how == "stamp" and capsys.readouterr().err == ""


def test_a_stamp_from_before_the_array_hash_is_a_silent_rebuild(isolated, fake, tmp_path, capsys):
    root = fake.write(tmp_path / "root")
    name = "t10k-labels-idx1-ubyte"
    fm._load_verified(name, root / f"{name}.gz", fake.checksums[name])
    stamp = next((isolated / "verified").glob(f"*-{name}.json"))
    meta = json.loads(stamp.read_text())
    del meta["array_sha256"]
    stamp.write_text(json.dumps(meta))
    _, how = fm._load_verified(name, root / f"{name}.gz", fake.checksums[name])
    assert how == "hashed" and capsys.readouterr().err == ""
    assert "array_sha256" in json.loads(stamp.read_text())


def test_a_gzip_bomb_in_root_is_refused_at_the_published_size(isolated, fake, tmp_path):
    import gzip

    root = fake.write(tmp_path / "root")
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(20_000_000)))  # 20 kB -> 20 MB
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte\.gz: expected at most 10008 bytes of content"):
        load_fashion_mnist("test", root=root, download=False, checksums=fake.checksums)


@pytest.mark.parametrize("root", [3, 2.5, ["data"]])
def test_a_root_that_is_not_a_path_is_named(root):
    """load_fashion_mnist("test", root=3) was 'TypeError: expected str, bytes or os.PathLike object, not int'."""
    from backproplab.errors import InputError

    with pytest.raises(InputError, match=f"^root must be a folder path or None, got {type(root).__name__}$"):
        fm.load_fashion_mnist("test", root=root, download=False)
