"""Initializers: how a weight matrix (or bias, or embedding table) starts.

The lecture's advice: biases start at zero; weights start small and random so that units
sit in the useful range of their nonlinearity and symmetry is broken — Uniform(−r, r) with
a well-chosen r, or Xavier, whose variance is inversely proportional to fan-in + fan-out:
Var(W) = 2 / (n_in + n_out).

Every initializer is called as ``init(shape, rng, dtype)``.  For a weight matrix of shape
``(n_in, n_out)`` (the layer computes ``x @ W``) ``fan_in = shape[0]`` and
``fan_out = shape[-1]``; a 1-D shape (a bias) has fan_in = fan_out = its length.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from wintrain.registry import Registry


class Initializer:
    """Base class: ``__call__(shape, rng, dtype) -> array`` of that shape."""

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        raise NotImplementedError


INITIALIZERS: Registry[Initializer] = Registry("initializer")


def uniform(rng: np.random.Generator, shape: tuple[int, ...], r: float, dtype: DTypeLike) -> np.ndarray:
    """U(−r, r) drawn directly in ``dtype`` (no float64 temporary for a large float32 table)."""
    draw = rng.random(shape, dtype=np.float32 if np.dtype(dtype) == np.float32 else np.float64)
    draw *= 2 * r
    draw -= r
    return draw.astype(dtype, copy=False)


def normal(rng: np.random.Generator, shape: tuple[int, ...], std: float, dtype: DTypeLike) -> np.ndarray:
    """N(0, std²) drawn directly in ``dtype``."""
    draw = rng.standard_normal(shape, dtype=np.float32 if np.dtype(dtype) == np.float32 else np.float64)
    draw *= std
    return draw.astype(dtype, copy=False)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``: first and last dimension."""
    return int(shape[0]), int(shape[-1])


@INITIALIZERS.register("zeros")
class Zeros(Initializer):
    """All zeros — the lecture's default for biases."""

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)


@INITIALIZERS.register("constant")
class Constant(Initializer):
    """Every entry equal to ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        return np.full(shape, self.value, dtype=dtype)


@INITIALIZERS.register("uniform")
class Uniform(Initializer):
    """Uniform(−r, r): variance r²/3."""

    def __init__(self, r: float = 0.1) -> None:
        if r <= 0:
            raise ValueError(f"r must be > 0, got {r}")
        self.r = r

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        return uniform(rng, shape, self.r, dtype)


@INITIALIZERS.register("normal")
class Normal(Initializer):
    """Normal(0, std²)."""

    def __init__(self, std: float = 0.01) -> None:
        if std <= 0:
            raise ValueError(f"std must be > 0, got {std}")
        self.std = std

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        return normal(rng, shape, self.std, dtype)


@INITIALIZERS.register("xavier_uniform")
class XavierUniform(Initializer):
    """Glorot/Xavier uniform: U(−r, r) with r = gain·√(6 / (n_in + n_out)), so Var(W) = gain²·2/(n_in + n_out)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        fan_in, fan_out = fans(shape)
        r = self.gain * math.sqrt(6.0 / (fan_in + fan_out))
        return uniform(rng, shape, r, dtype)


@INITIALIZERS.register("xavier_normal")
class XavierNormal(Initializer):
    """Glorot/Xavier normal: N(0, σ²) with σ² = gain²·2/(n_in + n_out)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        fan_in, fan_out = fans(shape)
        std = self.gain * math.sqrt(2.0 / (fan_in + fan_out))
        return normal(rng, shape, std, dtype)


@INITIALIZERS.register("he_uniform")
class HeUniform(Initializer):
    """He/Kaiming uniform for ReLU layers: U(−r, r) with r = √(6 / n_in), so Var(W) = 2/n_in."""

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        fan_in, _ = fans(shape)
        r = math.sqrt(6.0 / fan_in)
        return uniform(rng, shape, r, dtype)


@INITIALIZERS.register("he_normal")
class HeNormal(Initializer):
    """He/Kaiming normal: N(0, 2/n_in)."""

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        fan_in, _ = fans(shape)
        return normal(rng, shape, math.sqrt(2.0 / fan_in), dtype)


@INITIALIZERS.register("orthogonal")
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014): Q from the QR of a Gaussian
    matrix, signs fixed by diag(R) so the result is uniformly distributed.  1-D shapes fall back
    to N(0, gain²/n)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: DTypeLike) -> np.ndarray:
        if len(shape) < 2:
            return rng.normal(0.0, self.gain / math.sqrt(shape[0]), size=shape).astype(dtype)
        rows, cols = shape[0], int(np.prod(shape[1:]))
        gaussian = rng.normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(gaussian)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype)
