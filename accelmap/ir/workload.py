"""`Workload`: one compute layer as a perfect loop nest over named dims.

Every mapped layer, convolution or matmul, is the same nest (Timeloop's CNN
layer):

    O[n,g,k,p,q] += W[g,k,c,r,s] * I[n,g,c, p*stride_h + r*dil_h, q*stride_w + s*dil_w]

A matmul ``[M,Kr] x [Kr,Nc]`` is N=batch, P=M, C=Kr, K=Nc (Q=R=S=1); a
batched matmul whose second operand also varies with the batch puts that
batch on G, which every tensor indexes. Padding belongs to the input: `I` is
the padded input, cropped to the rows and columns the nest reads.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from math import prod

DIMS: tuple[str, ...] = ("N", "G", "K", "C", "P", "Q", "R", "S")
TENSORS: tuple[str, ...] = ("W", "I", "O")
TENSOR_NAMES = {"W": "Weights", "I": "Inputs", "O": "Outputs"}


@dataclass(frozen=True)
class Affine:
    """sum(coef * dim) + offset: the only index form a Workload allows."""

    terms: tuple[tuple[str, int], ...]
    offset: int = 0

    @property
    def dims(self) -> tuple[str, ...]:
        """The dims this index depends on."""
        return tuple(d for d, _ in self.terms)

    def extent(self, tile: dict[str, int]) -> int:
        """How many distinct values the index takes when each dim d ranges over tile[d]."""
        return 1 + sum(coef * (tile.get(d, 1) - 1) for d, coef in self.terms)

    def __str__(self) -> str:
        parts = [d.lower() if c == 1 else f"{c}*{d.lower()}" for d, c in self.terms]
        if self.offset:
            parts.append(str(self.offset))
        return "+".join(parts) or "0"


@dataclass(frozen=True)
class Workload:
    """A layer's loop nest: bounds of the eight dims, strides and dilations.

    `kind` is "conv" or "matmul" (for reports only: the nest is the same).
    `weights_from_activations` marks a matmul whose second operand is computed
    at run time (attention's QK^T), so it is not a weight but still tensor W.
    """

    bounds: tuple[tuple[str, int], ...]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    kind: str = "conv"
    weights_from_activations: bool = False

    def __post_init__(self) -> None:
        names = tuple(d for d, _ in self.bounds)
        if names != DIMS:
            raise ValueError(f"Workload bounds must list dims {DIMS} in order, got {names}")
        for d, b in self.bounds:
            if b < 1:
                raise ValueError(f"Workload bound {d}={b} must be >= 1")
        if min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(f"stride {self.stride} and dilation {self.dilation} must be >= 1")

    @property
    def dims(self) -> dict[str, int]:
        """Bounds as a dict, dim name -> bound."""
        return dict(self.bounds)

    def bound(self, dim: str) -> int:
        """The bound of one dim."""
        return self.dims[dim]

    @property
    def macs(self) -> int:
        """Multiply-accumulates in the whole nest."""
        return prod(b for _, b in self.bounds)

    def indices(self, tensor: str) -> tuple[Affine, ...]:
        """The affine index expressions of `tensor` ("W", "I" or "O"), outermost first."""
        sh, sw = self.stride
        dh, dw = self.dilation
        if tensor == "W":
            return (_single("G"), _single("K"), _single("C"), _single("R"), _single("S"))
        if tensor == "I":
            return (_single("N"), _single("G"), _single("C"),
                    Affine((("P", sh), ("R", dh))), Affine((("Q", sw), ("S", dw))))
        if tensor == "O":
            return (_single("N"), _single("G"), _single("K"), _single("P"), _single("Q"))
        raise KeyError(f"unknown tensor {tensor!r}; tensors are {TENSORS}")

    def relevant(self, tensor: str) -> frozenset[str]:
        """Dims whose loops change which elements of `tensor` are touched."""
        return frozenset(d for idx in self.indices(tensor) for d in idx.dims)

    def tile_shape(self, tensor: str, tile: dict[str, int]) -> tuple[int, ...]:
        """Shape of the part of `tensor` touched by a tile of the iteration space."""
        return tuple(idx.extent(tile) for idx in self.indices(tensor))

    def tile_words(self, tensor: str, tile: dict[str, int]) -> int:
        """Number of words of `tensor` touched by a tile of the iteration space."""
        return prod(self.tile_shape(tensor, tile))

    def tensor_shape(self, tensor: str) -> tuple[int, ...]:
        """Canonical shape of the whole tensor: W [G,K,C,R,S], I [N,G,C,H,W], O [N,G,K,P,Q]."""
        return self.tile_shape(tensor, self.dims)

    def tensor_words(self, tensor: str) -> int:
        """Words in the whole canonical tensor (the padded input for I)."""
        return prod(self.tensor_shape(tensor))

    def signature(self) -> str:
        """A stable short hash: equal for layers that pose the same mapping problem."""
        text = repr((self.bounds, self.stride, self.dilation))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """One line: non-trivial bounds, stride and dilation."""
        parts = [f"{d}={b}" for d, b in self.bounds if b > 1] or ["(single MAC)"]
        if self.stride != (1, 1):
            parts.append(f"stride={self.stride[0]}x{self.stride[1]}")
        if self.dilation != (1, 1):
            parts.append(f"dil={self.dilation[0]}x{self.dilation[1]}")
        return " ".join(parts)


def _single(dim: str) -> Affine:
    return Affine(((dim, 1),))


def make_workload(*, n: int = 1, g: int = 1, k: int = 1, c: int = 1, p: int = 1, q: int = 1,
                  r: int = 1, s: int = 1, stride: tuple[int, int] = (1, 1),
                  dilation: tuple[int, int] = (1, 1), kind: str = "conv",
                  weights_from_activations: bool = False) -> Workload:
    """Build a Workload from keyword bounds (missing dims are 1)."""
    values = {"N": n, "G": g, "K": k, "C": c, "P": p, "Q": q, "R": r, "S": s}
    return Workload(tuple((d, values[d]) for d in DIMS), tuple(stride), tuple(dilation), kind,
                    weights_from_activations)
