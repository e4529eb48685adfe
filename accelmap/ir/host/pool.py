"""Host kernels for pooling: MaxPool, AveragePool (1-D and 2-D, any pads, strides,
dilations, ceil_mode) and GlobalAveragePool."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import reduce

import numpy as np

from accelmap.ir.host import host_kernel


def pool_output_shape(x_shape: tuple[int, ...], kernel_shape: tuple[int, ...], strides: tuple[int, ...],
                      pads: tuple[int, ...], dilations: tuple[int, ...], ceil_mode: int) -> tuple[int, ...]:
    """Output shape of a pool, ONNX rule: in ceil mode a window that would start in the end
    padding is dropped."""
    spatial = len(kernel_shape)
    sizes = []
    for a in range(spatial):
        size, stride, begin = x_shape[2 + a], strides[a], pads[a]
        span = size + begin + pads[a + spatial] - (kernel_shape[a] - 1) * dilations[a] - 1
        out = (-(-span // stride) if ceil_mode else span // stride) + 1
        if ceil_mode and (out - 1) * stride >= size + begin:
            out -= 1
        sizes.append(out)
    return tuple(x_shape[:2]) + tuple(sizes)


def _taps(x: np.ndarray, fill: float, kernel_shape: tuple[int, ...], strides: tuple[int, ...],
          pads: tuple[int, ...], dilations: tuple[int, ...], outs: tuple[int, ...]) -> Iterator[np.ndarray]:
    """Per kernel tap, the values it sees at every output position (`fill` outside the input)."""
    spatial = len(kernel_shape)
    widths = [(0, 0), (0, 0)]
    for axis in range(spatial):
        reach = (outs[axis] - 1) * strides[axis] + (kernel_shape[axis] - 1) * dilations[axis] + 1
        begin, end = pads[axis], pads[axis + spatial]
        widths.append((begin, max(end, reach - begin - x.shape[2 + axis])))
    padded = np.pad(x, widths, constant_values=fill)
    for tap in itertools.product(*(range(k) for k in kernel_shape)):
        yield padded[(Ellipsis,) + tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                                         for t, d, o, s in zip(tap, dilations, outs, strides))]


@host_kernel("MaxPool")
def max_pool(x: np.ndarray, *, kernel_shape: tuple[int, ...], strides: tuple[int, ...], pads: tuple[int, ...],
             dilations: tuple[int, ...], ceil_mode: int) -> np.ndarray:
    """The maximum over each window; padding never wins."""
    outs = pool_output_shape(x.shape, kernel_shape, strides, pads, dilations, ceil_mode)[2:]
    return reduce(np.maximum, _taps(x, -np.inf, kernel_shape, strides, pads, dilations, outs)).astype(x.dtype)


@host_kernel("AveragePool")
def average_pool(x: np.ndarray, *, kernel_shape: tuple[int, ...], strides: tuple[int, ...],
                 pads: tuple[int, ...], dilations: tuple[int, ...], ceil_mode: int,
                 count_include_pad: int) -> np.ndarray:
    """The mean over each window: divided by the taps inside the input, or inside the
    explicitly padded input with count_include_pad (ceil-mode overhang never counts)."""
    outs = pool_output_shape(x.shape, kernel_shape, strides, pads, dilations, ceil_mode)[2:]
    total = reduce(np.add, _taps(x, 0.0, kernel_shape, strides, pads, dilations, outs))
    spatial = len(kernel_shape)
    counts = []
    for a in range(spatial):
        begin, end, size = pads[a], pads[a + spatial], x.shape[2 + a]
        low, high = (-begin, size + end) if count_include_pad else (0, size)
        where = (np.arange(outs[a])[:, None] * strides[a] - begin
                 + np.arange(kernel_shape[a])[None, :] * dilations[a])
        counts.append(((where >= low) & (where < high)).sum(axis=1))
    return (total / reduce(np.multiply.outer, counts)).astype(x.dtype)


@host_kernel("GlobalAveragePool")
def global_average_pool(x: np.ndarray) -> np.ndarray:
    """The mean over every spatial axis, kept as size-1 axes."""
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float64).astype(x.dtype)
