"""Host kernels for upsampling: Resize / Upsample interpolation and ConvTranspose.

Resize's coordinates are computed in float32, as onnxruntime computes them,
so nearest-neighbour ties fall the same way in both.
"""
from __future__ import annotations

import numpy as np

from accelmap.ir.host import host_kernel


def _source_coords(size: int, length: int, scale: float, transform: str) -> np.ndarray:
    """Where each of `size` output positions samples an axis of `length` input positions."""
    x = np.arange(size, dtype=np.float32)
    scale32 = np.float32(scale)
    if transform == "half_pixel":
        return (x + np.float32(0.5)) / scale32 - np.float32(0.5)
    if transform == "pytorch_half_pixel":
        return (x + np.float32(0.5)) / scale32 - np.float32(0.5) if size > 1 else np.zeros(size, np.float32)
    if transform == "asymmetric":
        return x / scale32
    if transform == "align_corners":
        return x * np.float32(length - 1) / np.float32(size - 1) if size > 1 else np.zeros(size, np.float32)
    raise ValueError(f"Resize: unknown coordinate_transformation_mode {transform!r}")


def _nearest_index(coords: np.ndarray, nearest_mode: str, length: int) -> np.ndarray:
    """Round source coordinates to input indices per `nearest_mode`, clamped to the axis."""
    if nearest_mode == "round_prefer_floor":
        index = np.ceil(coords - np.float32(0.5))
    elif nearest_mode == "round_prefer_ceil":
        index = np.floor(coords + np.float32(0.5))
    elif nearest_mode == "floor":
        index = np.floor(coords)
    elif nearest_mode == "ceil":
        index = np.ceil(coords)
    else:
        raise ValueError(f"Resize: unknown nearest_mode {nearest_mode!r}")
    return np.clip(index, 0, length - 1).astype(np.int64)


def _linear_along(x: np.ndarray, axis: int, coords: np.ndarray) -> np.ndarray:
    """Linear interpolation of `x` along `axis` at `coords` (clamped to the axis)."""
    length = x.shape[axis]
    coords = np.clip(coords, 0, length - 1)
    low = np.floor(coords).astype(np.int64)
    high = np.minimum(low + 1, length - 1)
    weight = (coords - low).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    a, b = np.take(x, low, axis=axis), np.take(x, high, axis=axis)
    return (a * (1 - weight) + b * weight).astype(x.dtype, copy=False)


@host_kernel("Resize")
@host_kernel("Upsample")
def resize(x: np.ndarray, *, mode: str, coordinate_transformation_mode: str, nearest_mode: str,
           scales: tuple[float, ...], sizes: tuple[int, ...]) -> np.ndarray:
    """Resize every axis to sizes[i], sampling at coordinates set by scales[i] (output / input).

    `mode` is "nearest" or "linear" (n-linear: one linear pass per axis).
    """
    y = x
    for axis, (scale, size) in enumerate(zip(scales, sizes)):
        length = x.shape[axis]
        if scale == 1.0 and size == length:
            continue
        coords = _source_coords(size, length, scale, coordinate_transformation_mode)
        if mode == "nearest":
            y = np.take(y, _nearest_index(coords, nearest_mode, length), axis=axis)
        else:
            y = _linear_along(y, axis, coords)
    return y


@host_kernel("ConvTranspose")
def conv_transpose(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, *, strides: tuple[int, ...],
                   dilations: tuple[int, ...], group: int, pads: tuple[int, ...],
                   output_padding: tuple[int, ...]) -> np.ndarray:
    """N-D transposed convolution: x [N, G*C, ...], w [G*C, K, ...] -> y [N, G*K, ...].

    Each input position scatters its filter-weighted values to
    position*stride + tap*dilation; the full result (plus output_padding at
    the end) is then cropped by pads (begins..., ends...).
    """
    n, channels, *spatial = x.shape
    _, k, *kernel = w.shape
    rank = len(spatial)
    xg = x.reshape(n, group, channels // group, *spatial)
    wg = w.reshape(group, channels // group, k, *kernel)
    full = [(i - 1) * s + (r - 1) * d + 1 + extra
            for i, s, r, d, extra in zip(spatial, strides, kernel, dilations, output_padding)]
    y = np.zeros((n, group, k, *full), dtype=np.result_type(x, w))
    for tap in np.ndindex(*kernel):
        window = tuple(slice(t * d, t * d + (i - 1) * s + 1, s)
                       for t, i, s, d in zip(tap, spatial, strides, dilations))
        y[(slice(None),) * 3 + window] += np.einsum("ngc...,gck->ngk...", xg, wg[(slice(None),) * 3 + tap])
    crop = tuple(slice(begin, length - end) for begin, end, length in zip(pads[:rank], pads[rank:], full))
    y = y.reshape(n, group * k, *full)[(slice(None), slice(None)) + crop]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * rank)
    return y
