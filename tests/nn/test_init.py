"""Initializers: moments of large samples against the formulas, bounds, orthogonality,
exact constants, dtype and reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wintrain.errors import WintrainError
from wintrain.nn.init import INITIALIZERS

N_IN, N_OUT = 400, 600
N = N_IN * N_OUT


def make(name, **params):
    return INITIALIZERS.build(name, params, "cfg.yaml: init")


def sample(name, shape=(N_IN, N_OUT), seed=0, dtype=np.float64, **params):
    return make(name, **params)(shape, np.random.default_rng(seed), dtype)


# name, params, expected variance, uniform bound (None for Gaussian)
MOMENTS = [
    ("uniform", {"r": 0.3}, 0.3**2 / 3, 0.3),
    ("uniform", {}, 0.1**2 / 3, 0.1),
    ("normal", {"std": 0.05}, 0.05**2, None),
    ("normal", {}, 0.01**2, None),
    ("xavier_uniform", {}, 2 / (N_IN + N_OUT), math.sqrt(6 / (N_IN + N_OUT))),
    ("xavier_uniform", {"gain": 2.0}, 4 * 2 / (N_IN + N_OUT), 2 * math.sqrt(6 / (N_IN + N_OUT))),
    ("xavier_normal", {}, 2 / (N_IN + N_OUT), None),
    ("xavier_normal", {"gain": 0.5}, 0.25 * 2 / (N_IN + N_OUT), None),
    ("he_uniform", {}, 2 / N_IN, math.sqrt(6 / N_IN)),
    ("he_normal", {}, 2 / N_IN, None),
]


@pytest.mark.parametrize("name,params,variance,bound", MOMENTS, ids=[f"{m[0]}{m[1]}" for m in MOMENTS])
def test_mean_and_variance_match_formula(name, params, variance, bound):
    w = sample(name, **params)
    assert w.shape == (N_IN, N_OUT) and w.dtype == np.float64
    std = math.sqrt(variance)
    assert abs(w.mean()) < 5 * std / math.sqrt(N)  # ≈ 0 within sampling error
    # sample variance: relative standard error √(2/N) (Gaussian) or less (uniform) ≈ 0.3 %
    assert w.var() == pytest.approx(variance, rel=0.015)
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.999 * bound  # the whole range is used
        # uniform: a quarter of the mass in each half-interval
        assert np.mean(w > bound / 2) == pytest.approx(0.25, abs=0.01)
    else:
        # Gaussian: ≈ 68.3 % within one standard deviation
        assert np.mean(np.abs(w) < std) == pytest.approx(0.6827, abs=0.01)


def test_fans_are_first_and_last_dimension():
    # He uses n_in = shape[0] only: the transposed shape gives a different variance
    tall = sample("he_normal", shape=(600, 400))
    wide = sample("he_normal", shape=(400, 600))
    assert tall.var() == pytest.approx(2 / 600, rel=0.015)
    assert wide.var() == pytest.approx(2 / 400, rel=0.015)
    # Xavier is symmetric in n_in and n_out
    assert sample("xavier_normal", shape=(600, 400)).var() == pytest.approx(2 / 1000, rel=0.015)
    # a 1-D (bias-like) shape: fan_in = fan_out = length
    bias = sample("xavier_uniform", shape=(50_000,))
    assert np.abs(bias).max() <= math.sqrt(6 / 100_000)
    assert bias.var() == pytest.approx(2 / 100_000, rel=0.03)


@pytest.mark.parametrize("shape", [(300, 80), (80, 300), (64, 64)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal(shape, gain):
    w = sample("orthogonal", shape=shape, gain=gain)
    assert w.shape == shape
    rows, cols = shape
    gram = w.T @ w if rows >= cols else w @ w.T  # the small Gram matrix
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(shape)), atol=1e-10)
    if rows != cols:  # the big one is a projection, not the identity
        big = w @ w.T if rows > cols else w.T @ w
        assert not np.allclose(big, gain**2 * np.eye(max(shape)), atol=1e-3)
        np.testing.assert_allclose(np.trace(big), gain**2 * min(shape), rtol=1e-10)
    # every singular value equals the gain
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), gain, rtol=1e-10)


def test_orthogonal_is_random_and_sign_balanced():
    a = sample("orthogonal", shape=(50, 50), seed=1)
    b = sample("orthogonal", shape=(50, 50), seed=2)
    assert not np.allclose(a, b)
    # sign correction by diag(R): the diagonal is not systematically positive
    diagonals = np.concatenate([np.diag(sample("orthogonal", shape=(40, 40), seed=s)) for s in range(25)])
    assert abs(np.mean(diagonals > 0) - 0.5) < 0.1


def test_orthogonal_one_dimensional_fallback():
    w = sample("orthogonal", shape=(40_000,), gain=3.0)
    assert w.shape == (40_000,)
    assert w.var() == pytest.approx(9.0 / 40_000, rel=0.03)


def test_zeros_and_constant_exact():
    z = sample("zeros", shape=(3, 4))
    assert z.shape == (3, 4)
    np.testing.assert_array_equal(z, np.zeros((3, 4)))
    c = sample("constant", shape=(5,), value=0.25)
    np.testing.assert_array_equal(c, np.full(5, 0.25))
    c32 = sample("constant", shape=(2, 3), dtype=np.float32, value=-1.5)
    assert c32.dtype == np.float32
    np.testing.assert_array_equal(c32, np.full((2, 3), -1.5, dtype=np.float32))
    np.testing.assert_array_equal(sample("constant", shape=(2,)), [0.0, 0.0])  # default value 0


def test_zeros_and_constant_do_not_consume_randomness():
    rng = np.random.default_rng(7)
    make("zeros")((3,), rng, np.float64)
    make("constant", value=1.0)((3,), rng, np.float64)
    assert rng.random() == np.random.default_rng(7).random()


ALL = [
    ("zeros", {}),
    ("constant", {"value": 0.5}),
    ("uniform", {"r": 0.2}),
    ("normal", {"std": 0.1}),
    ("xavier_uniform", {"gain": 1.5}),
    ("xavier_normal", {}),
    ("he_uniform", {}),
    ("he_normal", {}),
    ("orthogonal", {"gain": 1.2}),
]


@pytest.mark.parametrize("name,params", ALL, ids=[a[0] for a in ALL])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_honoured(name, params, dtype):
    w = sample(name, shape=(7, 5), dtype=dtype, **params)
    assert w.dtype == dtype
    assert w.shape == (7, 5)
    assert np.all(np.isfinite(w))


@pytest.mark.parametrize("name,params", ALL, ids=[a[0] for a in ALL])
def test_same_seed_same_array(name, params):
    a = sample(name, shape=(20, 30), seed=42, **params)
    b = sample(name, shape=(20, 30), seed=42, **params)
    np.testing.assert_array_equal(a, b)
    if name not in ("zeros", "constant"):
        c = sample(name, shape=(20, 30), seed=43, **params)
        assert not np.array_equal(a, c)
        assert len(np.unique(a)) == a.size  # symmetry broken: all entries distinct


def test_float32_is_drawn_directly_with_the_same_distribution():
    # float32 tables are drawn in float32 (no float64 temporary for a 400k-row table)
    a = sample("xavier_normal", shape=(400, 600), seed=3, dtype=np.float32)
    b = sample("xavier_normal", shape=(400, 600), seed=3, dtype=np.float64)
    assert a.dtype == np.float32 and b.dtype == np.float64
    assert a.var() == pytest.approx(2 / 1000, rel=0.02) and b.var() == pytest.approx(2 / 1000, rel=0.02)


def test_initializer_registry_errors():
    assert set(INITIALIZERS.names()) == {
        "zeros", "constant", "uniform", "normal", "xavier_uniform", "xavier_normal",
        "he_uniform", "he_normal", "orthogonal",
    }
    with pytest.raises(WintrainError) as error:
        make("xavier")
    assert "xavier_uniform" in str(error.value) and "orthogonal" in str(error.value)
    with pytest.raises(WintrainError, match="did you mean 'gain'"):
        make("xavier_uniform", gian=1.0)
    with pytest.raises(WintrainError, match="std"):
        make("normal", std="wide")
    with pytest.raises(WintrainError, match="r must be > 0"):
        make("uniform", r=-0.1)
    with pytest.raises(WintrainError, match="std must be > 0"):
        make("normal", std=0.0)
