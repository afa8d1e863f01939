"""The digits binary task and the toy sets: shapes, seeds, standardisation, labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from backproplab.data import circles, load_digits_binary, moons, spirals, xor
from backproplab.errors import InputError

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def split0():
    return load_digits_binary(seed=0)


def test_digits_shapes_types_and_50_50_split(split0):
    X_train, y_train, X_val, y_val = split0
    assert X_train.dtype == np.float64 and X_val.dtype == np.float64
    assert y_train.dtype == np.int64 and y_val.dtype == np.int64
    assert X_train.shape[1] == X_val.shape[1] == 64 and y_train.ndim == 1
    assert len(X_train) + len(X_val) == 1797 and abs(len(X_train) - len(X_val)) <= 1
    assert set(np.unique(y_train)) == {0, 1} and set(np.unique(y_val)) == {0, 1}


def test_digits_standardised_with_training_statistics(split0):
    X_train, _, X_val, _ = split0
    raw = load_digits().data
    constant = raw.std(axis=0) == 0
    assert constant.any()  # the digits have always-blank pixels: the std=0 guard matters
    np.testing.assert_allclose(X_train.mean(axis=0), 0.0, atol=1e-12)
    live = X_train.std(axis=0) > 0
    np.testing.assert_allclose(X_train.std(axis=0)[live], 1.0, rtol=1e-12)
    assert np.isfinite(X_train).all() and np.isfinite(X_val).all()
    # the validation split is not re-standardised by its own statistics
    assert np.abs(X_val.mean(axis=0)).max() > 1e-3


def test_digits_labels_follow_the_positive_choice(split0):
    raw = load_digits()
    expected_share = float(np.mean(raw.target < 5))
    X_train, y_train, X_val, y_val = split0
    X_train59, y_train59, X_val59, y_val59 = load_digits_binary(seed=0, positive="5-9")
    np.testing.assert_array_equal(X_train, X_train59)
    np.testing.assert_array_equal(y_train59, 1 - y_train)
    np.testing.assert_array_equal(y_val59, 1 - y_val)
    # stratified: both halves keep the share of digits 0-4
    assert abs(y_train.mean() - expected_share) < 0.005 and abs(y_val.mean() - expected_share) < 0.005
    # label 1 counts exactly the digits 0-4 (901 of them), not 5-9 (896)
    assert y_train.sum() + y_val.sum() == (raw.target < 5).sum() == 901
    assert y_train59.sum() + y_val59.sum() == (raw.target >= 5).sum() == 896


def test_digits_seeded(split0):
    again = load_digits_binary(seed=0)
    other = load_digits_binary(seed=1)
    for a, b in zip(split0, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(split0[0], other[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(positive="1-5"), "positive must be one of '0-4', '5-9'; got '1-5'"),
    (dict(train_fraction=1.0), "train_fraction must be a number strictly between 0 and 1, got 1.0"),
])
def test_digits_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_digits_binary(**kwargs)


def test_xor_is_the_truth_table():
    X, y = xor()
    assert X.dtype == np.float64 and X.shape == (4, 2) and y.dtype == np.float64 and y.shape == (4,)
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(float))


@pytest.mark.parametrize("make, kwargs, classes", [
    (moons, dict(n=101, noise=0.1), 2),
    (circles, dict(n=101, noise=0.05), 2),
    (spirals, dict(n=101, classes=3, noise=0.2), 3),
])
def test_toy_sets_shapes_balance_and_seeds(make, kwargs, classes):
    X, y = make(**kwargs, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64 and y.shape == (101,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == classes and counts.max() - counts.min() <= 1
    X2, y2 = make(**kwargs, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(**kwargs, seed=4)[0])
    X3, _ = make(**kwargs, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(X, X3)


def test_noise_free_geometry():
    X, y = circles(n=40, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    X, y = moons(n=40, noise=0.0, seed=0)
    np.testing.assert_allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1.0, X[y == 1, 1] - 0.5), 1.0)
    X, y = spirals(n=30, classes=3, noise=0.0, seed=0)
    assert np.hypot(X[:, 0], X[:, 1]).max() == pytest.approx(1.0)


@pytest.mark.parametrize("call, match", [
    (lambda: moons(n=0), "n must be an integer >= 1, got 0"),
    (lambda: circles(noise=-1.0), "noise must be a number >= 0, got -1.0"),
    (lambda: circles(factor=1.5), "factor must be a number strictly between 0 and 1"),
    (lambda: spirals(classes=1), "classes must be an integer >= 2, got 1"),
    (lambda: moons(seed="x"), "seed must be an int, a numpy Generator or None"),
])
def test_toy_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("seed", [-1, 2**32, True, 1.0, "0"])
def test_digits_seed_is_checked_by_its_own_name(seed):
    """seed=-1 was scikit-learn's InvalidParameterError about train_test_split's 'random_state'."""
    with pytest.raises(InputError, match=r"^seed must be an integer >= 0 and < 2\*\*32"):
        load_digits_binary(seed=seed)
    assert load_digits_binary(seed=np.uint32(2**32 - 1))[0].shape == (898, 64)


def test_numpy_floats_are_numbers_for_noise_factor_and_train_fraction():
    """moons(noise=np.float32(0.1)) was 'noise must be a number >= 0, got np.float32(0.1)'."""
    np.testing.assert_array_equal(moons(50, noise=np.float32(0.25), seed=1)[1], moons(50, noise=0.25, seed=1)[1])
    assert circles(40, factor=np.float32(0.5), seed=1)[0].shape == (40, 2)
    assert load_digits_binary(train_fraction=np.float32(0.5))[0].shape == (898, 64)
    with pytest.raises(InputError, match="noise must be a number >= 0, got np.True_"):
        moons(50, noise=np.bool_(True))
