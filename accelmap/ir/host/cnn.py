"""Host kernels for CNN ops: normalisation, activations and Softmax.

The activations run the same function as the fused post-op of the same name
(`ir.kernels.apply_post_op`), so a fused and an unfused activation agree.
"""
from __future__ import annotations

import numpy as np

from accelmap.ir.graph import PostOp
from accelmap.ir.host import host_kernel
from accelmap.ir.kernels import apply_post_op


@host_kernel("BatchNormalization")
def batch_normalization(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, mean: np.ndarray,
                        var: np.ndarray, *, epsilon: float) -> np.ndarray:
    """y = scale * (x - mean) / sqrt(var + epsilon) + bias, per channel (axis 1)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (scale / np.sqrt(var + epsilon)).reshape(shape)
    return ((x - mean.reshape(shape)) * inv + bias.reshape(shape)).astype(x.dtype)


@host_kernel("LRN")
def lrn(x: np.ndarray, *, size: int, alpha: float, beta: float, bias: float) -> np.ndarray:
    """y = x / (bias + alpha / size * sum of x^2 over channels c - floor((size-1)/2) .. c + ceil((size-1)/2))^beta."""
    before = (size - 1) // 2
    channels = x.shape[1]
    square = np.pad(np.square(x), [(0, 0), (before, size - 1 - before)] + [(0, 0)] * (x.ndim - 2))
    window = sum(square[:, t: t + channels] for t in range(size))
    return (x / (bias + alpha / size * window) ** beta).astype(x.dtype)


@host_kernel("Softmax")
def softmax(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    """exp(x) / sum(exp(x)) over `axes` jointly, shifted by the maximum for stability."""
    e = np.exp(x - x.max(axis=axes, keepdims=True))
    return (e / e.sum(axis=axes, keepdims=True)).astype(x.dtype)


@host_kernel("LogSoftmax")
def log_softmax(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    """x - max - log(sum(exp(x - max))) over `axes` jointly."""
    shifted = x - x.max(axis=axes, keepdims=True)
    return (shifted - np.log(np.exp(shifted).sum(axis=axes, keepdims=True))).astype(x.dtype)


@host_kernel("InstanceNormalization")
def instance_normalization(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, *, epsilon: float) -> np.ndarray:
    """Per sample and channel: (x - mean) / sqrt(var + epsilon) * scale[c] + bias[c], statistics over the
    spatial axes."""
    axes = tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    variance = np.square(x - mean).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(variance + np.float32(epsilon)) * scale.reshape(shape) + bias.reshape(shape)
    return y.astype(x.dtype)


def _activation(x: np.ndarray, op: PostOp) -> np.ndarray:
    """Run an activation through the post-op kernel, keeping x's dtype."""
    return apply_post_op(x, op, {}).astype(x.dtype, copy=False)


@host_kernel("Relu")
def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0)."""
    return _activation(x, PostOp("relu"))


@host_kernel("Clip")
def clip(x: np.ndarray, *, min: float, max: float) -> np.ndarray:
    """min(max(x, min), max)."""
    return _activation(x, PostOp("clip", (min, max)))


@host_kernel("LeakyRelu")
def leaky_relu(x: np.ndarray, *, alpha: float) -> np.ndarray:
    """x if x >= 0 else alpha * x."""
    return _activation(x, PostOp("leaky_relu", (alpha,)))


@host_kernel("Sigmoid")
def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x))."""
    return _activation(x, PostOp("sigmoid"))


@host_kernel("HardSigmoid")
def hard_sigmoid(x: np.ndarray, *, alpha: float, beta: float) -> np.ndarray:
    """clip(alpha * x + beta, 0, 1)."""
    return _activation(x, PostOp("hard_sigmoid", (alpha, beta)))


@host_kernel("HardSwish")
def hard_swish(x: np.ndarray) -> np.ndarray:
    """x * clip(x / 6 + 1/2, 0, 1)."""
    return _activation(x, PostOp("hard_swish"))


@host_kernel("Tanh")
def tanh(x: np.ndarray) -> np.ndarray:
    """The hyperbolic tangent."""
    return _activation(x, PostOp("tanh"))
