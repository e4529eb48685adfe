"""Host kernels for element-wise arithmetic with numpy broadcasting."""
from __future__ import annotations

from functools import reduce

import numpy as np

from accelmap.ir.host import host_kernel


@host_kernel("Add")
def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b."""
    return np.add(a, b)


@host_kernel("Mul")
def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b."""
    return np.multiply(a, b)


@host_kernel("Sum")
def sum_(*xs: np.ndarray) -> np.ndarray:
    """The sum of all inputs."""
    return reduce(np.add, xs)
