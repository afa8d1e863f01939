"""Minibatches over NumPy arrays and torch tensors; one-hot labels; stratified subsets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.data import iterate_minibatches, num_batches, one_hot, stratified_subset, subset

pytestmark = pytest.mark.data


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 60), batch_size=st.integers(1, 70), drop_last=st.booleans(),
       seed=st.integers(0, 2**31 - 1), use_torch=st.booleans())
def test_one_epoch_visits_every_sample_once(n, batch_size, drop_last, seed, use_torch):
    X = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    y = np.arange(n)
    if use_torch:
        X, y = torch.from_numpy(X), torch.from_numpy(y)
    batches = list(iterate_minibatches(X, y, batch_size, seed=seed, drop_last=drop_last))
    assert len(batches) == num_batches(n, batch_size, drop_last)
    seen = [int(v) for _, yb in batches for v in yb]
    for Xb, yb in batches:
        assert type(Xb) is type(X) and type(yb) is type(y)
        assert len(Xb) == len(yb) and (len(Xb) == batch_size or not drop_last)
        np.testing.assert_array_equal(np.asarray(Xb)[:, 0], np.asarray(yb) * 2)  # rows stay paired
    if drop_last:
        assert len(seen) == n - n % batch_size and len(set(seen)) == len(seen)
    else:
        assert sorted(seen) == list(range(n))


def test_num_batches_values():
    assert num_batches(10, 3) == 4 and num_batches(10, 3, drop_last=True) == 3
    assert num_batches(9, 3) == num_batches(9, 3, True) == 3 and num_batches(0, 5) == 0


def test_seeded_shuffles_repeat_and_generators_advance():
    X, y = np.arange(20).reshape(20, 1), np.arange(20)

    def order(seed, data=(X, y)):
        return np.concatenate([np.asarray(b) for _, b in iterate_minibatches(*data, 6, seed=seed)])

    np.testing.assert_array_equal(order(5), order(5))
    assert not np.array_equal(order(5), order(6))
    assert not np.array_equal(order(5), np.arange(20))
    rng = np.random.default_rng(0)
    assert not np.array_equal(order(rng), order(rng))  # the generator advances: epochs differ
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    np.testing.assert_array_equal(order(7, (Xt, yt)), order(7, (Xt, yt)))
    g = torch.Generator().manual_seed(1)
    assert not np.array_equal(order(g, (Xt, yt)), order(g, (Xt, yt)))
    # the torch permutation for an int seed is torch.randperm on a generator seeded with it
    expected = torch.randperm(20, generator=torch.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(order(7, (Xt, yt)), expected)


def test_no_shuffle_gives_consecutive_views():
    X = np.arange(10.0).reshape(5, 2)
    y = np.arange(5)
    batches = list(iterate_minibatches(X, y, 2, shuffle=False))
    np.testing.assert_array_equal(batches[0][0], X[:2])
    np.testing.assert_array_equal(batches[-1][1], y[4:])
    assert np.shares_memory(batches[0][0], X)


def test_bad_arguments_fail_at_the_call():
    X, y = np.zeros((4, 2)), np.zeros(3)
    with pytest.raises(ValueError, match="X and y must have the same length, got 4 and 3"):
        iterate_minibatches(X, y, 2)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        iterate_minibatches(X, X, 0)
    with pytest.raises(ValueError, match="seed must be None, an int"):
        iterate_minibatches(X, X, 2, seed="abc")
    with pytest.raises(ValueError, match="batch_size"):
        num_batches(3, -1)


def test_one_hot():
    out = one_hot(np.array([2, 0, 1, 2]))
    np.testing.assert_array_equal(out, np.eye(3)[[2, 0, 1, 2]])
    assert out.dtype == np.float64 and out.shape == (4, 3)
    assert one_hot([1], num_classes=10).shape == (1, 10)
    np.testing.assert_array_equal(one_hot(torch.tensor([1, 0])), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for num_classes=3, got values from 0 to 3"):
        one_hot([0, 3], num_classes=3)
    with pytest.raises(ValueError, match=r"got values from -1"):
        one_hot([-1, 1])
    with pytest.raises(ValueError, match="labels must be 1-D"):
        one_hot(np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="fractional"):
        one_hot([0.5])


def test_stratified_subset_keeps_proportions_and_is_seeded():
    labels = np.repeat(np.arange(10), [100, 100, 100, 100, 100, 50, 50, 50, 50, 300])
    idx = stratified_subset(labels, 90, seed=0)
    assert idx.dtype == np.int64 and len(idx) == 90 and len(np.unique(idx)) == 90
    assert np.all(np.diff(idx) > 0)
    counts = np.bincount(labels[idx], minlength=10)  # 9% of each class: 9, 4.5 (rounded), 27
    assert counts.sum() == 90 and counts[9] == 27 and all(c == 9 for c in counts[:5])
    assert sorted(counts[5:9]) == [4, 4, 5, 5]
    np.testing.assert_array_equal(idx, stratified_subset(labels, 90, seed=0))
    assert not np.array_equal(idx, stratified_subset(labels, 90, seed=1))
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 1000\]"):
        stratified_subset(labels, 0, seed=0)


def test_subset_numpy_and_torch():
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20) % 2
    Xs, ys = subset(X, y, 6, seed=0)
    assert Xs.shape == (6, 2) and np.bincount(ys).tolist() == [3, 3]
    np.testing.assert_array_equal(Xs[:, 0] // 2 % 2, ys)
    Xt, yt = subset(torch.from_numpy(X), torch.from_numpy(y), 6, seed=0)
    np.testing.assert_array_equal(Xt.numpy(), Xs)
    np.testing.assert_array_equal(yt.numpy(), ys)
