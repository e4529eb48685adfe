"""How a mapped layer's ONNX-shaped tensors become the Workload's canonical ones.

Canonical shapes: I [N,G,C,H,W] (padded, cropped to what the nest reads),
W [G,K,C,R,S], O [N,G,K,P,Q]. The interpreter, the executor and the weights
file all use these, so one definition of the conversion serves them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from accelmap.ir.workload import Workload


@dataclass(frozen=True)
class ConvLayout:
    """A 1-D or 2-D convolution: ONNX x [N, G*C, (H,) W], w [G*K, C, (R,) S].

    `pads` are (top, left, bottom, right) in elements; a 1-D conv has zero
    top/bottom and H = P = R = 1.
    """

    spatial: int
    groups: int
    pads: tuple[int, int, int, int]

    def to_input(self, x: np.ndarray, wl: Workload) -> np.ndarray:
        """ONNX input -> canonical padded input I [N,G,C,H,W]."""
        if self.spatial == 1:
            x = x[:, :, None, :]
        top, left, bottom, right = self.pads
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        n, _, _, _ = x.shape
        _, g, c, h, w = wl.tensor_shape("I")
        return x[:, :, :h, :w].reshape(n, g, c, h, w)

    def to_weights(self, w: np.ndarray, wl: Workload) -> np.ndarray:
        """ONNX weights -> canonical W [G,K,C,R,S]."""
        if self.spatial == 1:
            w = w[:, :, None, :]
        return w.reshape(wl.tensor_shape("W"))

    def from_output(self, o: np.ndarray, wl: Workload) -> np.ndarray:
        """Canonical O [N,G,K,P,Q] -> ONNX output [N, G*K, (P,) Q]."""
        n, g, k, p, q = o.shape
        y = o.reshape(n, g * k, p, q)
        return y[:, :, 0, :] if self.spatial == 1 else y


@dataclass(frozen=True)
class MatmulLayout:
    """A MatMul or Gemm: A [*batch_a, M, Kr] x B [*batch_b, Kr, Nc].

    `batch_on` is "N" when B has no batch (it is shared, so a weight-like W),
    "G" when both operands are broadcast to `out_batch` (batched matmul).
    `trans_a` / `trans_b` are Gemm's. `out_shape` is the ONNX output shape
    (1-D operands drop their unit dim there).
    """

    batch_on: str
    out_batch: tuple[int, ...]
    trans_a: bool
    trans_b: bool
    a_shape: tuple[int, ...]
    b_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    def _a(self, a: np.ndarray) -> np.ndarray:
        a = a.reshape(self.a_shape) if a.ndim == 1 else a
        return np.swapaxes(a, -1, -2) if self.trans_a else a

    def _b(self, b: np.ndarray) -> np.ndarray:
        b = b.reshape(self.b_shape) if b.ndim == 1 else b
        return np.swapaxes(b, -1, -2) if self.trans_b else b

    def to_input(self, a: np.ndarray, wl: Workload) -> np.ndarray:
        """A -> canonical I [N,G,C=Kr,H=M,1]."""
        a = self._a(a)
        m, kr = a.shape[-2:]
        a = np.broadcast_to(a, self.out_batch + (m, kr)).reshape(-1, m, kr)
        i = np.swapaxes(a, -1, -2)[..., None]
        return i[:, None] if self.batch_on == "N" else i[None]

    def to_weights(self, b: np.ndarray, wl: Workload) -> np.ndarray:
        """B -> canonical W [G,K=Nc,C=Kr,1,1]."""
        b = self._b(b)
        kr, nc = b.shape[-2:]
        if self.batch_on == "N":
            b = b.reshape(1, kr, nc)
        else:
            b = np.broadcast_to(b, self.out_batch + (kr, nc)).reshape(-1, kr, nc)
        return np.swapaxes(b, -1, -2)[..., None, None]

    def from_output(self, o: np.ndarray, wl: Workload) -> np.ndarray:
        """Canonical O [N,G,K=Nc,P=M,1] -> ONNX output."""
        y = o[:, 0, :, :, 0] if self.batch_on == "N" else o[0, :, :, :, 0]
        return np.swapaxes(y, -1, -2).reshape(self.out_shape)


def matmul_layout(a_shape: tuple[int, ...], b_shape: tuple[int, ...], *, trans_a: bool = False,
                  trans_b: bool = False) -> tuple[MatmulLayout, dict[str, int]]:
    """Plan a MatMul/Gemm: its layout and the Workload bounds (N, G, K, C, P).

    Follows numpy matmul semantics: 1-D operands get a unit dim that the
    output drops; batch dims broadcast.
    """
    a2 = (1,) + tuple(a_shape) if len(a_shape) == 1 else tuple(a_shape)
    b2 = tuple(b_shape) + (1,) if len(b_shape) == 1 else tuple(b_shape)
    if trans_a:
        a2 = a2[:-2] + (a2[-1], a2[-2])
    if trans_b:
        b2 = b2[:-2] + (b2[-1], b2[-2])
    m, kr = a2[-2:]
    kr_b, nc = b2[-2:]
    if kr != kr_b:
        raise ValueError(f"matmul reduction dims differ: A {a_shape} x B {b_shape}")
    out_batch = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    shared_b = prod(b2[:-2]) == 1
    batch = prod(out_batch)
    out_shape = out_batch + ((m,) if len(a_shape) > 1 else ()) + ((nc,) if len(b_shape) > 1 else ())
    layout = MatmulLayout("N" if shared_b else "G", out_batch, trans_a, trans_b,
                          a2 if len(a_shape) == 1 else tuple(a_shape),
                          b2 if len(b_shape) == 1 else tuple(b_shape), out_shape)
    bounds = {"N": batch if shared_b else 1, "G": 1 if shared_b else batch, "K": nc, "C": kr, "P": m}
    return layout, bounds
