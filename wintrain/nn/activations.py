"""Nonlinearities, each a graph node: forward f(z), backward dz = dout · f'(z).

All take and return z: (B, n).  Built by name from :data:`ACTIVATIONS`; ``size`` (n) and
``dtype`` are supplied by the model, the other arguments are the config's parameters.
"""

from __future__ import annotations

import math

import numpy as np

from wintrain.nn.layers import Layer, Parameter
from wintrain.registry import Registry

ACTIVATIONS: Registry[Activation] = Registry("activation")


class Activation(Layer):
    """Base class; subclasses define ``forward`` and ``backward``.  ``name`` (e.g. ``hidden1.prelu``)
    prefixes the names of an activation's own parameters; ``kind`` is its registry name (``prelu``) and
    ``group`` the hidden layer it follows (``hidden1``), both set by the network that holds it."""

    kind: str = ""

    def __init__(self, size: int, dtype: np.dtype, name: str = "act") -> None:
        self.size = size
        self.dtype = np.dtype(dtype)
        self.name = name


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)), computed without overflow for large |z|."""
    out = np.exp(-np.abs(z))
    positive = z >= 0
    return np.where(positive, 1.0 / (1.0 + out), out / (1.0 + out)).astype(z.dtype, copy=False)


@ACTIVATIONS.register("sigmoid")
class Sigmoid(Activation):
    """σ(z) = 1/(1 + e^(−z)); σ'(z) = σ(z)(1 − σ(z))."""

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        out = _sigmoid(z)
        self.cache = out
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        s = self.cache
        return dout * s * (1.0 - s)


@ACTIVATIONS.register("tanh")
class Tanh(Activation):
    """tanh(z) = 2σ(2z) − 1; tanh'(z) = 1 − tanh²(z)."""

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        out = np.tanh(z, out=z)  # z is the affine output, owned by this forward pass
        self.cache = out
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        t = self.cache
        grad = t * t
        np.subtract(1.0, grad, out=grad)
        grad *= dout
        return grad


@ACTIVATIONS.register("hardtanh")
class HardTanh(Activation):
    """hardtanh(z) = −1 for z < −1, z for −1 ≤ z ≤ 1, 1 for z > 1; derivative 1 inside, 0 outside."""

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        self.cache = (z >= -1.0) & (z <= 1.0)
        return np.clip(z, -1.0, 1.0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.cache


@ACTIVATIONS.register("relu")
class ReLU(Activation):
    """relu(z) = max(0, z); derivative 1 for z > 0, else 0."""

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        self.cache = z > 0
        return np.maximum(z, 0.0, out=z)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.cache


@ACTIVATIONS.register("leaky_relu")
class LeakyReLU(Activation):
    """leaky_relu(z) = z for z > 0, α·z otherwise; derivative 1 or α."""

    def __init__(self, size: int, dtype: np.dtype, name: str = "act", alpha: float = 0.01) -> None:
        super().__init__(size, dtype, name)
        self.alpha = alpha

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        positive = z > 0
        self.cache = positive
        return np.where(positive, z, self.dtype.type(self.alpha) * z)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.where(self.cache, dout, self.dtype.type(self.alpha) * dout)


@ACTIVATIONS.register("prelu")
class PReLU(Activation):
    """prelu(z) = z for z > 0, α_j·z otherwise, with α (n,) learned per unit (He et al. 2015).

    ∂/∂z = 1 or α_j;  ∂L/∂α_j = Σ_batch dout·z over the entries with z ≤ 0.
    """

    def __init__(self, size: int, dtype: np.dtype, name: str = "act", alpha: float = 0.25) -> None:
        super().__init__(size, dtype, name)
        self.alpha = Parameter(f"{name}.alpha", np.full(size, alpha, dtype=dtype), decay=False)

    def parameters(self) -> list[Parameter]:
        return [self.alpha]

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        positive = z > 0
        self.cache = (z, positive)
        return np.where(positive, z, self.alpha.value * z)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        z, positive = self.cache
        self.alpha.grad[...] = np.where(positive, 0.0, dout * z).sum(axis=0)
        return np.where(positive, dout, dout * self.alpha.value)


@ACTIVATIONS.register("elu")
class ELU(Activation):
    """elu(z) = z for z > 0, α(e^z − 1) otherwise; derivative 1 or α·e^z (= elu(z) + α)."""

    def __init__(self, size: int, dtype: np.dtype, name: str = "act", alpha: float = 1.0) -> None:
        super().__init__(size, dtype, name)
        self.alpha = alpha

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        positive = z > 0
        out = np.where(positive, z, self.dtype.type(self.alpha) * np.expm1(np.minimum(z, 0.0)))
        self.cache = (out, positive)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        out, positive = self.cache
        return np.where(positive, dout, dout * (out + self.dtype.type(self.alpha)))


@ACTIVATIONS.register("gelu")
class GELU(Activation):
    """GELU, tanh approximation (Hendrycks & Gimpel 2016):
    gelu(z) = ½ z (1 + tanh(u)),  u = √(2/π)(z + 0.044715 z³);
    gelu'(z) = ½(1 + tanh u) + ½ z (1 − tanh² u) · √(2/π)(1 + 3·0.044715 z²)."""

    C = math.sqrt(2.0 / math.pi)
    K = 0.044715

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        t = np.tanh(self.dtype.type(self.C) * (z + self.dtype.type(self.K) * z**3))
        self.cache = (z, t)
        return 0.5 * z * (1.0 + t)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        z, t = self.cache
        du = self.dtype.type(self.C) * (1.0 + self.dtype.type(3.0 * self.K) * z * z)
        return dout * (0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du)


@ACTIVATIONS.register("swish")
class Swish(Activation):
    """swish / SiLU (Ramachandran et al. 2017): swish(z) = z·σ(z); derivative σ(z)(1 + z(1 − σ(z)))."""

    def forward(self, z: np.ndarray, train: bool = False) -> np.ndarray:
        s = _sigmoid(z)
        self.cache = (z, s)
        return z * s

    def backward(self, dout: np.ndarray) -> np.ndarray:
        z, s = self.cache
        return dout * s * (1.0 + z * (1.0 - s))
