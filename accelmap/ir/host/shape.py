"""Host kernels for ops that move data without arithmetic: Flatten, Reshape, Concat, Identity."""
from __future__ import annotations

from math import prod

import numpy as np

from accelmap.ir.host import host_kernel


@host_kernel("Flatten")
def flatten(x: np.ndarray, *, axis: int) -> np.ndarray:
    """A 2-D view: the axes before `axis` in rows, the rest in columns."""
    return x.reshape(prod(x.shape[:axis]), prod(x.shape[axis:]))


@host_kernel("Reshape")
def reshape(x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
    """x with the (fully resolved) `shape`."""
    return x.reshape(shape)


@host_kernel("Concat")
def concat(*xs: np.ndarray, axis: int) -> np.ndarray:
    """The inputs joined along `axis`."""
    return np.concatenate(xs, axis=axis)


@host_kernel("Identity")
def identity(x: np.ndarray) -> np.ndarray:
    """x itself (the loader adds it to keep a graph output's ONNX name)."""
    return x
