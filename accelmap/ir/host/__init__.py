"""Host-op kernels: numpy implementations of ONNX semantics, one per op.

A kernel takes the node's input arrays (None for an omitted optional input)
and the node's attributes as keyword arguments, and returns one array or a
tuple of arrays (one per output). Families live in their own modules and
register with `host_kernel`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

HostKernel = Callable[..., "np.ndarray | tuple[np.ndarray, ...]"]
HOST_KERNELS: dict[str, HostKernel] = {}


def host_kernel(op: str) -> Callable[[HostKernel], HostKernel]:
    """Register the decorated function as the kernel of host op `op`."""
    def register(fn: HostKernel) -> HostKernel:
        if op in HOST_KERNELS:
            raise ValueError(f"host kernel for {op!r} registered twice")
        HOST_KERNELS[op] = fn
        return fn
    return register


def run_host_op(op: str, inputs: list[np.ndarray | None], attrs: dict) -> tuple[np.ndarray, ...]:
    """Run host op `op`; always returns a tuple of outputs."""
    _load_families()
    if op not in HOST_KERNELS:
        raise KeyError(f"no host kernel for {op!r}; known: {', '.join(sorted(HOST_KERNELS))}")
    result = HOST_KERNELS[op](*inputs, **attrs)
    return result if isinstance(result, tuple) else (result,)


def _load_families() -> None:
    """Import every kernel family module so that each registers its ops."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
