"""Downloading against a local HTTP server on 127.0.0.1 that serves files the tests made.

Every failure must fall through to the next mirror and leave nothing in the cache.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from backproplab.data import download_file, load_fashion_mnist
from backproplab.data import fashion_mnist as fm
from backproplab.errors import DataNotFoundError

pytestmark = pytest.mark.data

TEST_FILES = fm.FILES["test"]


def leftovers(cache):
    """Everything in the cache except verified-array stamps."""
    if not cache.exists():
        return []
    return sorted(p.name for p in cache.iterdir() if p.name != "verified")


def served(fake, names=TEST_FILES):
    return {name: fake.gz[name] for name in names}


def test_success_lands_in_the_cache(isolated, fake, server):
    server.serve("good", served(fake))
    images, labels = load_fashion_mnist("test", mirrors=[server.url("good")], checksums=fake.checksums,
                                        progress=False, timeout=5)
    np.testing.assert_array_equal(images, fake.arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(labels, fake.arrays["t10k-labels-idx1-ubyte"])
    assert leftovers(isolated) == sorted(f"{n}.gz" for n in TEST_FILES)
    for name in TEST_FILES:
        assert (isolated / f"{name}.gz").read_bytes() == fake.gz[name]
    # found in the cache now: no second request even with a dead mirror list
    before = len(server.requests)
    load_fashion_mnist("test", mirrors=[server.url("gone")], checksums=fake.checksums, progress=False)
    assert len(server.requests) == before


def test_404_then_next_mirror(isolated, fake, server):
    server.serve("good", served(fake))
    path = download_file("t10k-labels-idx1-ubyte", mirrors=[server.url("missing"), server.url("good")],
                         expected=fake.checksums["t10k-labels-idx1-ubyte"], progress=False, timeout=5)
    assert path == isolated / "t10k-labels-idx1-ubyte.gz"
    assert server.requests == ["/missing/t10k-labels-idx1-ubyte.gz", "/good/t10k-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("how", ["short-body", "truncated-gzip", "wrong-checksum", "not-gzip"])
def test_bad_bodies_are_never_kept(isolated, fake, server, how):
    name = "t10k-images-idx3-ubyte"
    body = fake.gz[name]
    if how == "short-body":  # announces the full length, sends half, closes
        server.serve("bad", {name: body}, "short", len(body) // 2)
    elif how == "truncated-gzip":  # a consistent HTTP answer whose gzip stream stops early
        server.serve("bad", {name: body[: len(body) // 2]})
    elif how == "wrong-checksum":
        server.serve("bad", {name: gzip.compress(fake.raw[name][:-1] + b"\x01")})
    else:
        server.serve("bad", {name: fake.raw[name]})
    with pytest.raises(DataNotFoundError) as info:
        download_file(name, mirrors=[server.url("bad")], expected=fake.checksums[name], progress=False,
                      timeout=5)
    reason = {"short-body": "truncated body", "truncated-gzip": "truncated gzip stream",
              "wrong-checksum": "does not match", "not-gzip": "expected a gzip file"}[how]
    assert f"{server.url('bad')}{name}.gz" in str(info.value) and reason in str(info.value)
    assert leftovers(isolated) == []
    # the same failure followed by a good mirror succeeds
    server.serve("good", {name: body})
    download_file(name, mirrors=[server.url("bad"), server.url("good")], expected=fake.checksums[name],
                  progress=False, timeout=5)
    assert leftovers(isolated) == [f"{name}.gz"]


def test_server_that_never_answers_times_out_then_next_mirror(isolated, fake, server):
    name = "t10k-labels-idx1-ubyte"
    server.serve("hang", {name: b""}, "hang")
    server.serve("good", {name: fake.gz[name]})
    with pytest.raises(DataNotFoundError, match=r"no answer within 0.5 s"):
        download_file(name, mirrors=[server.url("hang"), server.url("missing")],
                      expected=fake.checksums[name], progress=False, timeout=0.5)
    assert leftovers(isolated) == []
    path = download_file(name, mirrors=[server.url("hang"), server.url("good")],
                         expected=fake.checksums[name], progress=False, timeout=0.5)
    assert path.read_bytes() == fake.gz[name]
    assert server.requests[-2:] == [f"/hang/{name}.gz", f"/good/{name}.gz"]


def test_every_mirror_failing_lists_each_one_and_the_remedies(isolated, server):
    mirrors = [server.url("a"), server.url("b")]
    with pytest.raises(DataNotFoundError) as info:
        load_fashion_mnist("test", mirrors=mirrors, progress=False, timeout=5)
    message = str(info.value)
    for needle in (f"{mirrors[0]}t10k-images-idx3-ubyte.gz: HTTP 404", f"{mirrors[1]}t10k-images-idx3-ubyte.gz: HTTP 404",
                   "dataset-fashion-mnist", "BACKPROPLAB_DATA", str(isolated), "mirrors tried"):
        assert needle in message, needle
    assert leftovers(isolated) == []


def test_interrupted_download_leaves_nothing(isolated, fake, server, monkeypatch):
    name = "t10k-images-idx3-ubyte"
    server.serve("good", {name: fake.gz[name]})

    class InterruptingBar:
        """Stands in for tqdm: the user presses Ctrl-C after the first chunk arrived."""

        def __init__(self, *args, **kwargs):
            self.n = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            self.n += n
            raise KeyboardInterrupt

    monkeypatch.setattr(fm, "tqdm", InterruptingBar)
    with pytest.raises(KeyboardInterrupt):
        download_file(name, mirrors=[server.url("good")], expected=fake.checksums[name], timeout=5)
    assert leftovers(isolated) == []
    assert list(isolated.iterdir()) == []


def test_progress_bar_is_switchable(isolated, fake, server, capsys):
    name = "t10k-labels-idx1-ubyte"
    server.serve("good", {name: fake.gz[name]})
    download_file(name, mirrors=[server.url("good")], expected=fake.checksums[name], progress=True, timeout=5)
    assert f"{name}.gz" in capsys.readouterr().err
    (isolated / f"{name}.gz").unlink()
    download_file(name, mirrors=[server.url("good")], expected=fake.checksums[name], progress=False, timeout=5)
    assert capsys.readouterr().err == ""


def test_unwritable_cache_gives_a_clear_error(isolated, fake, server, tmp_path, monkeypatch):
    # Tests run as root, so chmod would not stop a write: put the cache under a regular file.
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    server.serve("good", served(fake))
    with pytest.raises(DataNotFoundError) as info:
        load_fashion_mnist("test", mirrors=[server.url("good")], checksums=fake.checksums, progress=False)
    message = str(info.value)
    assert f"the cache directory {blocker / 'backproplab'} is not writable" in message
    assert "XDG_CACHE_HOME" in message and "dataset-fashion-mnist" in message
    assert server.requests == []
    assert blocker.read_text() == "x"


def test_bad_timeout_is_refused(isolated):
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, got 0"):
        download_file("t10k-labels-idx1-ubyte", mirrors=[], timeout=0)
