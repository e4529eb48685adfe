"""Host kernels that move data without arithmetic: permute, select, split, slice, reshape, tile, pad,
triangle masks and running sums.

Attributes arrive normalised by the converters: axes non-negative, every
default filled in, and inputs that act as attributes (axes, split sizes,
starts/ends, pads, repeats, shapes) already resolved to tuples.
"""
from __future__ import annotations

from itertools import accumulate

import numpy as np

from accelmap.ir.host import host_kernel


@host_kernel("Transpose")
def transpose(x: np.ndarray, *, perm: tuple[int, ...]) -> np.ndarray:
    """Permute the axes: output axis i is input axis perm[i]."""
    return np.transpose(x, perm)


@host_kernel("Gather")
def gather(data: np.ndarray, indices: np.ndarray, *, axis: int) -> np.ndarray:
    """Select entries of `data` along `axis` (negative indices count from the end)."""
    indices = np.asarray(indices, dtype=np.int64)
    return np.take(data, np.where(indices < 0, indices + data.shape[axis], indices), axis=axis)


@host_kernel("Split")
def split(x: np.ndarray, *, axis: int, split: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Cut `x` along `axis` into consecutive pieces of the given sizes."""
    return tuple(np.split(x, list(accumulate(split))[:-1], axis=axis))


@host_kernel("Slice")
def slice_(x: np.ndarray, *, starts: tuple[int, ...], ends: tuple[int, ...],
           steps: tuple[int, ...]) -> np.ndarray:
    """Strided slice with one (start, end, step) per axis, already clamped.

    An end of -1 (clamped so, only with a negative step) means "through
    index 0", so it becomes an open end.
    """
    return x[tuple(slice(start, None if end < 0 else end, step) for start, end, step in zip(starts, ends, steps))]


@host_kernel("Squeeze")
def squeeze(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    """Drop the listed unit axes."""
    return np.squeeze(x, axis=axes)


@host_kernel("Unsqueeze")
def unsqueeze(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    """Insert unit axes at the listed positions of the output."""
    return np.expand_dims(x, axes)


@host_kernel("Expand")
def expand(x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast `x` to `shape` (the broadcast of x's shape and the requested one)."""
    return np.array(np.broadcast_to(x, shape))


@host_kernel("Range")
def range_(start: np.ndarray, limit: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """start, start + delta, ... while short of limit: max(ceil((limit - start) / delta), 0) values."""
    count = max(int(np.ceil((limit - start) / delta)), 0)
    return (start + delta * np.arange(count)).astype(np.asarray(start).dtype)


@host_kernel("Tile")
def tile(x: np.ndarray, *, repeats: tuple[int, ...]) -> np.ndarray:
    """Repeat `x` repeats[i] times along axis i."""
    return np.tile(x, repeats)


@host_kernel("Pad")
def pad(x: np.ndarray, *, pads: tuple[int, ...], mode: str, value: float) -> np.ndarray:
    """Pad (or, for negative amounts, crop) each axis; pads are (begins..., ends...).

    Modes are ONNX's: constant (filled with `value`), reflect (mirror without
    the edge) and edge (repeat the edge).
    """
    rank = x.ndim
    begins, ends = pads[:rank], pads[rank:]
    crop = tuple(slice(max(-b, 0), x.shape[i] - max(-e, 0)) for i, (b, e) in enumerate(zip(begins, ends)))
    widths = [(max(b, 0), max(e, 0)) for b, e in zip(begins, ends)]
    if mode == "constant":
        return np.pad(x[crop], widths, mode="constant", constant_values=np.asarray(value, dtype=x.dtype))
    return np.pad(x[crop], widths, mode=mode)


@host_kernel("Trilu")
def trilu(x: np.ndarray, *, upper: int, k: int) -> np.ndarray:
    """The upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes; the rest zero."""
    return np.triu(x, k) if upper else np.tril(x, k)


@host_kernel("CumSum")
def cumsum(x: np.ndarray, *, axis: int, exclusive: int, reverse: int) -> np.ndarray:
    """Running sum along `axis`, from the end with `reverse`, each sum without its own element with
    `exclusive`; in x's dtype."""
    y = np.flip(x, axis) if reverse else x
    total = np.cumsum(y, axis=axis, dtype=x.dtype)
    if exclusive:
        total = total - y
    return np.flip(total, axis) if reverse else total
