"""Host kernels for transformer ops: LayerNormalization, RMSNormalization and Gelu."""
from __future__ import annotations

import math

import numpy as np

from accelmap.ir.host import host_kernel
from accelmap.ir.host.special import erf


@host_kernel("LayerNormalization")
def layer_normalization(x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None, *, axis: int,
                        epsilon: float, stash_type: str) -> np.ndarray:
    """(x - mean) / sqrt(var + epsilon) * scale + bias, statistics over axes axis..rank-1.

    The statistics are computed in `stash_type` (float32 normally), as the
    spec's first stage; the result is cast back to x's dtype.
    """
    axes = tuple(range(axis, x.ndim))
    xs = x.astype(stash_type, copy=False)
    mean = xs.mean(axis=axes, keepdims=True)
    centred = xs - mean
    variance = (centred * centred).mean(axis=axes, keepdims=True)
    y = centred / np.sqrt(variance + np.asarray(epsilon, dtype=stash_type)) * scale
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype, copy=False)


@host_kernel("RMSNormalization")
def rms_normalization(x: np.ndarray, scale: np.ndarray, *, axis: int, epsilon: float,
                      stash_type: str) -> np.ndarray:
    """x / sqrt(mean(x^2) + epsilon) * scale, the mean over axes axis..rank-1 computed in `stash_type`."""
    axes = tuple(range(axis, x.ndim))
    xs = x.astype(stash_type, copy=False)
    mean_square = (xs * xs).mean(axis=axes, keepdims=True)
    y = xs / np.sqrt(mean_square + np.asarray(epsilon, dtype=stash_type)) * scale
    return y.astype(x.dtype, copy=False)


@host_kernel("Gelu")
def gelu(x: np.ndarray, *, approximate: str) -> np.ndarray:
    """x * Phi(x): exact with erf ("none"), or the tanh approximation ("tanh")."""
    if approximate == "tanh":
        inner = np.asarray(math.sqrt(2.0 / math.pi), dtype=x.dtype) * (x + np.asarray(0.044715, x.dtype) * x ** 3)
        return (0.5 * x * (1.0 + np.tanh(inner))).astype(x.dtype, copy=False)
    return (0.5 * x * (1.0 + erf(x / np.asarray(math.sqrt(2.0), dtype=x.dtype)))).astype(x.dtype, copy=False)
