"""Host kernels for reductions over axes: ReduceMean, ReduceSum, ReduceMax and GlobalMaxPool.

The converters resolve `axes` (attribute or input, empty meaning all) to a
non-empty tuple of non-negative axes, so every opset version shares a kernel.
"""
from __future__ import annotations

import numpy as np

from accelmap.ir.host import host_kernel


@host_kernel("ReduceMean")
def reduce_mean(x: np.ndarray, *, axes: tuple[int, ...], keepdims: int) -> np.ndarray:
    """Mean over `axes`, in x's dtype."""
    return np.mean(x, axis=axes, keepdims=bool(keepdims)).astype(x.dtype, copy=False)


@host_kernel("ReduceSum")
def reduce_sum(x: np.ndarray, *, axes: tuple[int, ...], keepdims: int) -> np.ndarray:
    """Sum over `axes`, in x's dtype."""
    return np.sum(x, axis=axes, keepdims=bool(keepdims), dtype=x.dtype)


@host_kernel("ReduceMax")
def reduce_max(x: np.ndarray, *, axes: tuple[int, ...], keepdims: int) -> np.ndarray:
    """Maximum over `axes`."""
    return np.max(x, axis=axes, keepdims=bool(keepdims))


@host_kernel("GlobalMaxPool")
def global_max_pool(x: np.ndarray) -> np.ndarray:
    """Maximum over every spatial axis (2 and up), keeping them as unit axes."""
    return np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)
