"""Host kernels for CNN ops: normalisation and activations."""
from __future__ import annotations

import numpy as np

from accelmap.ir.host import host_kernel


@host_kernel("BatchNormalization")
def batch_normalization(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, mean: np.ndarray,
                        var: np.ndarray, *, epsilon: float) -> np.ndarray:
    """y = scale * (x - mean) / sqrt(var + epsilon) + bias, per channel (axis 1)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (scale / np.sqrt(var + epsilon)).reshape(shape)
    return ((x - mean.reshape(shape)) * inv + bias.reshape(shape)).astype(x.dtype)


@host_kernel("Relu")
def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0)."""
    return np.maximum(x, 0)
