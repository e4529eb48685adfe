"""Reference kernels for mapped layers: the canonical nest and fused post-ops."""
from __future__ import annotations

import numpy as np

from accelmap.ir.graph import PostOp
from accelmap.ir.workload import Workload


def conv_nest(i: np.ndarray, w: np.ndarray, wl: Workload) -> np.ndarray:
    """O[n,g,k,p,q] = sum_{c,r,s} W[g,k,c,r,s] * I[n,g,c,p*sh+r*dh,q*sw+s*dw].

    Computed as one batched matmul per (r, s) filter tap, returned in the operands' dtype. Float
    operands are accumulated in float64 and rounded once: BLAS computes the rows of one float32
    matmul by different kernels, so equal output channels came out unequal (SqueezeNet with its
    constant weights under numpy 2.4's OpenBLAS: logits of 9.5e9 a float32 step apart, and a
    softmax of 1/32 on some classes and 0 elsewhere where onnxruntime gives 0.001 on each).
    """
    dims = wl.dims
    n, g, k, c, p, q = (dims[d] for d in "NGKCPQ")
    sh, sw = wl.stride
    dh, dw = wl.dilation
    dtype = np.result_type(i, w)
    acc = np.float64 if np.issubdtype(dtype, np.floating) else dtype
    out = np.zeros((g, k, n * p * q), dtype=acc)
    for r in range(dims["R"]):
        for s in range(dims["S"]):
            window = i[:, :, :, r * dh: r * dh + (p - 1) * sh + 1: sh, s * dw: s * dw + (q - 1) * sw + 1: sw]
            cols = window.transpose(1, 2, 0, 3, 4).reshape(g, c, n * p * q)
            out += np.matmul(w[:, :, :, r, s].astype(acc, copy=False), cols.astype(acc, copy=False))
    return out.astype(dtype, copy=False).reshape(g, k, n, p, q).transpose(2, 0, 1, 3, 4)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def apply_post_op(y: np.ndarray, op: PostOp, constants: dict[str, np.ndarray]) -> np.ndarray:
    """Apply one fused post-op to an ONNX-shaped layer output."""
    kind, params = op.kind, op.params
    if kind == "add":
        return y + constants[op.tensor]
    if kind == "mul":
        return y * constants[op.tensor]
    if kind == "relu":
        return np.maximum(y, 0)
    if kind == "clip":
        return np.clip(y, params[0], params[1])
    if kind == "leaky_relu":
        return np.where(y >= 0, y, y * params[0])
    if kind == "sigmoid":
        return _sigmoid(y)
    if kind == "hard_sigmoid":
        return np.clip(y * params[0] + params[1], 0, 1)
    if kind == "hard_swish":
        return y * np.clip(y / 6 + 0.5, 0, 1)
    if kind == "tanh":
        return np.tanh(y)
    if kind == "gelu":
        from math import sqrt

        from accelmap.ir.host.special import erf
        return 0.5 * y * (1 + erf(y / sqrt(2)))
    raise ValueError(f"no kernel for post-op {kind!r}")


def apply_post_ops(y: np.ndarray, ops: tuple[PostOp, ...], constants: dict[str, np.ndarray]) -> np.ndarray:
    """Apply fused post-ops in order, keeping the output's dtype."""
    for op in ops:
        y = apply_post_op(y, op, constants).astype(y.dtype, copy=False)
    return y
