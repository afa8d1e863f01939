"""Downloading against a local HTTP server on 127.0.0.1 that serves files the tests made.

Every failure must fall through to the next mirror and leave nothing in the cache.
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from backproplab.data import download as dl
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

    monkeypatch.setattr(dl, "tqdm", InterruptingBar)
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


# -- issue 13.7: a mirror that drips bytes must not hold the download forever ----------------------


def ends_within(seconds, call):
    """Run ``call`` in a thread; its result, or a failed test when it is still running after ``seconds``.

    A hang guard (the bug was a download that never ended), far above the few seconds it needs.
    """
    box = {}

    def run():
        try:
            box["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            box["error"] = err

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still downloading after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_the_issue_case_one_byte_every_1_5_s_with_timeout_2_ends_and_the_next_mirror_serves(
        isolated, fake, server):
    name = "t10k-images-idx3-ubyte"  # 7.9 kB: 3 hours at one byte per 1.5 s
    server.serve("drip", {name: fake.gz[name]}, "drip", 1.5)
    server.serve("good", {name: fake.gz[name]})
    path = ends_within(20, lambda: download_file(
        name, mirrors=[server.url("drip"), server.url("good")], expected=fake.checksums[name],
        progress=False, timeout=2))
    assert path.read_bytes() == fake.gz[name]
    assert server.requests == [f"/drip/{name}.gz", f"/good/{name}.gz"]
    assert leftovers(isolated) == [f"{name}.gz"]


def test_a_dripping_mirror_is_left_at_the_deadline(isolated, fake, server):
    name = "t10k-labels-idx1-ubyte"  # 38 bytes: 7.6 s at one byte per 0.2 s, over the 1.5 s deadline
    server.serve("drip", {name: fake.gz[name]}, "drip", 0.2)
    with pytest.raises(DataNotFoundError) as info:
        ends_within(20, lambda: download_file(name, mirrors=[server.url("drip")], expected=fake.checksums[name],
                                              progress=False, timeout=1, deadline=1.5, min_rate=0))
    message = str(info.value)
    assert f"{server.url('drip')}{name}.gz: not finished within the deadline of 1.5 s per file" in message
    assert re.search(r"\((\d+) bytes in 1\.\d s\)", message), message
    assert leftovers(isolated) == [] and list(isolated.iterdir()) == []


def test_a_mirror_below_the_minimum_rate_is_left_before_its_deadline(isolated, fake, server):
    name = "t10k-images-idx3-ubyte"
    server.serve("slow", {name: fake.gz[name]}, "drip", 0.05)  # about 20 bytes/s
    with pytest.raises(DataNotFoundError) as info:
        ends_within(20, lambda: download_file(name, mirrors=[server.url("slow")], expected=fake.checksums[name],
                                              progress=False, timeout=0.5, deadline=60, min_rate=1000))
    assert re.search(r"too slow: \d+ bytes in 0\.\d s, below the minimum rate of 1000 bytes/s", str(info.value))
    assert list(isolated.iterdir()) == []


@pytest.mark.parametrize(("arg", "value", "words"), [
    ("deadline", 0, "deadline must be a positive number of seconds, got 0"),
    ("deadline", "10", "deadline must be a positive number of seconds, got '10'"),
    ("min_rate", -1, "min_rate must be a finite number of bytes per second >= 0, got -1"),
    ("min_rate", float("inf"), "min_rate must be a finite number"),
])
def test_bad_limits_are_refused(isolated, arg, value, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        download_file("t10k-labels-idx1-ubyte", mirrors=[], **{arg: value})
    with pytest.raises(ValueError, match=re.escape(words)):
        load_fashion_mnist("test", mirrors=[], **{arg: value})


_CHILD = """
import sys
from backproplab.data import download_file
download_file("t10k-images-idx3-ubyte", sys.argv[1], mirrors=[sys.argv[2]], expected="0" * 64,
              progress=False, timeout=5, deadline=60, min_rate=0)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_download_stopped_by_a_signal_leaves_no_part_file(tmp_path, fake, server, sig):
    name = "t10k-images-idx3-ubyte"
    server.serve("drip", {name: fake.gz[name]}, "drip", 0.05)
    target = tmp_path / "target"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(target), server.url("drip")], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(400):  # until the part file exists (at most 20 s), bytes arriving into it
            parts = list(target.glob("*.part")) if target.exists() else []
            if parts:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        assert parts, "the child never started writing"
        child.send_signal(sig)
        child.wait(20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -sig, child.stderr.read().decode()[-2000:]
    assert list(target.iterdir()) == [], "the part file was removed"


def test_part_files_of_dead_processes_are_swept_by_the_next_download(isolated, fake, server):
    name = "t10k-labels-idx1-ubyte"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        isolated.mkdir(parents=True)
        dead_part = isolated / f".{name}.gz.{gone.pid}-0badc0de.part"  # its process was SIGKILLed
        old_style = isolated / f".{name}.gz.k2j3h4g5.part"  # atomic_open's name, before part files had a pid
        busy_part = isolated / f".{name}.gz.{living.pid}-00c0ffee.part"  # another download in progress
        other = isolated / ".t10k-images-idx3-ubyte.gz.1-00000000.part"  # another file's: not swept now
        for part in (dead_part, old_style, busy_part, other):
            part.write_bytes(b"\x1f\x8b half")
        server.serve("good", {name: fake.gz[name]})
        download_file(name, mirrors=[server.url("good")], expected=fake.checksums[name], progress=False)
        assert sorted(p.name for p in isolated.iterdir()) == sorted([busy_part.name, other.name, f"{name}.gz"])
    finally:
        living.kill()
        living.wait()


# -- a mirror that sends more than the file can be: the body is bounded by the file's known size ----

LABELS = "t10k-labels-idx1-ubyte"  # 10,008 bytes of content: a gzip of it has at most 1,058,684 bytes
BOUND = 10008 + 10008 // 100 + 2**20
GZIP_HEAD = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime
FULL_BLOCK = b"\x00" + struct.pack("<HH", 0xFFFF, 0) + bytes(0xFFFF)  # a stored block: 64 kB of content
EMPTY_BLOCKS = b"\x00\x00\x00\xff\xff" * 13107  # stored blocks of no content: input that never inflates


def refused_then_next_mirror_serves(isolated, fake, server, words):
    """The ``bad`` mirror alone: a clear error, nothing in the cache; then ``bad, good``: good's file."""
    with pytest.raises(DataNotFoundError) as info:
        ends_within(20, lambda: download_file(LABELS, mirrors=[server.url("bad")], expected=fake.checksums[LABELS],
                                              progress=False, timeout=5))
    assert f"{server.url('bad')}{LABELS}.gz: " in str(info.value) and words in str(info.value), str(info.value)
    assert list(isolated.iterdir()) == []
    server.serve("good", {LABELS: fake.gz[LABELS]})
    path = ends_within(20, lambda: download_file(LABELS, mirrors=[server.url("bad"), server.url("good")],
                                                 expected=fake.checksums[LABELS], progress=False, timeout=5))
    assert path.read_bytes() == fake.gz[LABELS]
    assert leftovers(isolated) == [f"{LABELS}.gz"] and list(isolated.glob(".*.part")) == []


@pytest.mark.parametrize(("block", "length", "words"), [
    # the reviewer's case: 1.56 GB written in 8 s, and the disk filled at the default deadline
    (FULL_BLOCK, None, "too large: the gzip stream inflates to more than this file's 10008 bytes"),
    (EMPTY_BLOCKS, None, f"too large: sent more than {BOUND} bytes (stopped there)"),
    (EMPTY_BLOCKS, "many", f"too large: sent more than {BOUND} bytes"),  # a Content-Length urllib ignores
    (EMPTY_BLOCKS, "38", "truncated gzip stream after 38 bytes"),  # urllib stops at the announced length
], ids=["stored-blocks", "empty-stored-blocks", "invalid-length", "length-too-small"])
def test_an_endless_gzip_body_is_stopped_and_the_next_mirror_serves(isolated, fake, server, block, length, words):
    server.serve("bad", {LABELS: GZIP_HEAD}, "endless", block, length)
    refused_then_next_mirror_serves(isolated, fake, server, words)


@pytest.mark.parametrize("junk", [12 * 2**20, BOUND + 1 - 38], ids=["12-MiB", "one-past-the-bound"])
def test_an_honest_content_length_past_the_bound_is_refused_before_the_body(isolated, fake, server, junk):
    server.serve("bad", {LABELS: fake.gz[LABELS] + bytes(junk)})
    refused_then_next_mirror_serves(
        isolated, fake, server, f"too large: Content-Length announces {38 + junk} bytes, but a gzip file of "
                                f"this file's 10008 bytes of content has at most {BOUND}")


@pytest.mark.parametrize("kind", ["ok", "drip"])
def test_a_gzip_file_of_several_members_is_downloaded_and_read(isolated, fake, server, kind):
    """gzip (and the loader) read every member of a file; the download refused the second as trailing data."""
    from backproplab.data.idx import read_idx_file

    raw = fake.raw[LABELS]
    members = gzip.compress(raw[:5000], mtime=0) + gzip.compress(raw[5000:9000], mtime=0) + gzip.compress(
        raw[9000:], mtime=0)
    assert gzip.decompress(members) == raw
    server.serve("multi", {LABELS: members}, kind, *([0.001] if kind == "drip" else []))
    path = ends_within(60, lambda: download_file(LABELS, mirrors=[server.url("multi")], expected=fake.checksums[LABELS],
                                                 progress=False, timeout=5))
    assert path.read_bytes() == members
    np.testing.assert_array_equal(read_idx_file(path), fake.arrays[LABELS])


@pytest.mark.parametrize("tail", [b"\x00" * 8, b"\x1f\x8b" + b"junk" * 4], ids=["zeros", "a-broken-member"])
def test_bytes_after_a_member_that_are_no_gzip_member_are_refused(isolated, fake, server, tail):
    server.serve("bad", {LABELS: fake.gz[LABELS] + tail})
    refused_then_next_mirror_serves(isolated, fake, server, "data after the end of the gzip stream at byte 38")


@pytest.mark.parametrize("kind", ["ok", "drip", "endless"])
def test_data_after_a_valid_gzip_stream_is_refused(isolated, fake, server, kind):
    # once accepted as verified, such a file was refused by every load and never downloaded again
    good = fake.gz[LABELS]
    assert len(good) == 38
    if kind == "endless":  # no Content-Length: junk until the client closes
        server.serve("bad", {LABELS: good}, "endless", os.urandom(2**16), None)
    else:  # announced, sent at once or one byte every 10 ms
        server.serve("bad", {LABELS: good + b"junk" * 4}, kind, *([0.01] if kind == "drip" else []))
    refused_then_next_mirror_serves(isolated, fake, server, "data after the end of the gzip stream at byte 38")
