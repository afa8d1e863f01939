"""The IDX reader on bytes the tests write: valid files round-trip, damaged ones name the problem."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.data.idx import parse_idx_header, read_file_bytes, read_idx, read_idx_file
from backproplab.errors import ChecksumError

pytestmark = pytest.mark.data


def test_valid_images_round_trip(idx_encode):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
    data = idx_encode(images)
    assert len(data) == 4 + 3 * 4 + images.size
    out = read_idx(data)
    assert out.dtype == np.uint8 and out.shape == (3, 28, 28)
    np.testing.assert_array_equal(out, images)
    assert out.flags.writeable


def test_valid_labels_and_header_fields(idx_encode):
    labels = np.array([9, 0, 3, 7], dtype=np.uint8)
    dtype, shape, offset = parse_idx_header(idx_encode(labels))
    assert (dtype, shape, offset) == (np.dtype(np.uint8), (4,), 8)
    np.testing.assert_array_equal(read_idx(idx_encode(labels)), labels)


def test_big_endian_int32_is_decoded_to_native(idx_encode):
    values = np.array([[1, -2], [70000, -70000]], dtype=np.int32)
    out = read_idx(idx_encode(values, code=0x0C))
    assert out.dtype == np.dtype(np.int32) and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.integers(0, 2**32 - 1))
def test_any_uint8_shape_round_trips(idx_encode, shape, seed):
    array = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    data = idx_encode(array)
    np.testing.assert_array_equal(read_idx(data), array)
    with pytest.raises(ChecksumError):
        read_idx(data[:-1])


@pytest.mark.parametrize("magic, why", [
    (b"\x01\x00\x08\x01", "first byte not zero"),
    (b"\x00\x00\x07\x01", "unknown type code"),
    (b"\x00\x00\x08\x00", "no dimensions"),
])
def test_wrong_magic_is_refused(magic, why):
    data = magic + (4).to_bytes(4, "big") + bytes(4)
    with pytest.raises(ChecksumError, match="wrong IDX magic number") as info:
        read_idx(data, name="labels.idx")
    assert "labels.idx" in str(info.value) and magic.hex(" ") in str(info.value), why


def test_truncated_body_names_expected_and_actual_bytes(idx_encode):
    data = idx_encode(np.zeros((2, 28, 28), np.uint8))[:-10]
    with pytest.raises(ChecksumError, match=r"truncated.*expected 1584 bytes, got 1574 bytes"):
        read_idx(data, name="x")


def test_header_and_length_disagree(idx_encode):
    data = idx_encode(np.zeros((2, 28, 28), np.uint8)) + b"\x00" * 3
    with pytest.raises(ChecksumError, match=r"longer than its header says.*expected 1584 bytes, got 1587"):
        read_idx(data)


def test_truncated_header_and_tiny_input():
    with pytest.raises(ChecksumError, match="truncated IDX header"):
        read_idx(b"\x00\x00\x08\x03" + bytes(6))
    with pytest.raises(ChecksumError, match="at least a 4-byte magic"):
        read_idx(b"\x00\x00")


def test_read_idx_file_gzip_plain_and_truncated_gzip(tmp_path, idx_encode):
    labels = np.array([1, 2, 3], np.uint8)
    (tmp_path / "a").write_bytes(idx_encode(labels))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_encode(labels)))
    np.testing.assert_array_equal(read_idx_file(tmp_path / "a"), labels)
    np.testing.assert_array_equal(read_idx_file(tmp_path / "a.gz"), labels)
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(idx_encode(np.zeros(1000, np.uint8)))[:-12])
    with pytest.raises(ChecksumError, match="broken.gz.*gzip"):
        read_idx_file(broken)


@pytest.mark.parametrize("dims", [(2**32 - 1,) * 3, (2**32 - 1, 2**32 - 1, 2**30), (65536,) * 4],
                         ids=["huge", "wraps-negative-in-int64", "wraps-to-zero-in-int64"])
def test_dims_that_overflow_int64_are_refused_as_absurd(dims):
    # 65536**4 == 2**64 wraps to 0 in int64: a header-only file used to pass the length check and
    # then fail in NumPy's reshape; (2**32-1)**2 * 2**30 used to give "expected -9223372035781033968 bytes"
    header = bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    with pytest.raises(ChecksumError) as info:
        read_idx(header, name="labels.idx")
    message = str(info.value)
    assert "labels.idx" in message and "corrupt IDX header" in message and str(dims) in message
    assert f"got a file of {len(header)} bytes" in message
    assert "-" not in message.split("would need")[1], message


def test_large_but_possible_dims_are_checked_against_the_length_exactly():
    # 2**20 x 2**17 uint8 = 2**37 bytes (128 GiB): possible in principle, so the message is the exact length
    header = bytes([0, 0, 0x08, 2]) + (2**20).to_bytes(4, "big") + (2**17).to_bytes(4, "big")
    with pytest.raises(ChecksumError, match=rf"truncated.*expected {12 + 2**37} bytes, got 12 bytes"):
        read_idx(header)


def test_a_gzip_that_inflates_past_max_bytes_is_stopped_there(tmp_path):
    bomb = tmp_path / "train-labels-idx1-ubyte.gz"
    bomb.write_bytes(gzip.compress(bytes(50_000_000)))  # 49 kB on disk, 50 MB inflated
    with pytest.raises(ChecksumError, match=r"train-labels-idx1-ubyte\.gz: expected at most 60008 bytes of content"):
        read_file_bytes(bomb, max_bytes=60008)
    assert len(read_file_bytes(bomb)) == 50_000_000  # no limit asked: all of it
    plain = tmp_path / "plain"
    plain.write_bytes(bytes(100))
    with pytest.raises(ChecksumError, match=r"plain: expected at most 99 bytes, got a file of 100"):
        read_file_bytes(plain, max_bytes=99)
    assert read_file_bytes(plain, max_bytes=100) == bytes(100)


def test_gzip_members_are_all_read_and_limits_count_across_them(tmp_path):
    two = tmp_path / "two.gz"
    two.write_bytes(gzip.compress(b"abc") + gzip.compress(b"defg"))
    assert read_file_bytes(two) == b"abcdefg" == read_file_bytes(two, max_bytes=7)
    with pytest.raises(ChecksumError, match="at most 6 bytes"):
        read_file_bytes(two, max_bytes=6)


def test_a_gzip_file_larger_than_its_content_could_be_is_not_read(tmp_path, monkeypatch):
    """A 5 GB (sparse) .gz in --root was read whole before inflating: 'out of memory (MemoryError);
    expected smaller inputs or --quick', naming neither the file nor the limit."""
    from pathlib import Path

    big = tmp_path / "train-images-idx3-ubyte.gz"
    big.write_bytes(gzip.compress(b"x"))
    os.truncate(big, 5 * 2**30)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read whole"))
    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte\.gz: expected a gzip file of at most about "
                                            r"47040016 bytes .* got 5368709120 bytes; refusing to read it"):
        read_file_bytes(big, max_bytes=47040016)


@pytest.mark.skipif(not os.path.isfile("/proc/self/pagemap"), reason="needs Linux's /proc")
def test_a_file_whose_size_says_zero_is_read_only_to_the_bound(tmp_path):
    link = tmp_path / "train-labels-idx1-ubyte"
    link.symlink_to("/proc/self/pagemap")
    with pytest.raises(ChecksumError, match=r"expected at most 60008 bytes, got more \(its size said 0\)"):
        read_file_bytes(link, max_bytes=60008)
