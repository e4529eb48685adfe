"""Host kernels for element-wise arithmetic, comparison, logic and casts (numpy broadcasting)."""
from __future__ import annotations

import numpy as np

from accelmap.ir.host import host_kernel
from accelmap.ir.host.special import erf as _erf


@host_kernel("Sub")
def sub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b."""
    return np.subtract(a, b)


@host_kernel("Div")
def div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b; integers divide truncating toward zero, as C and onnxruntime do."""
    if np.result_type(a, b).kind in "iu":
        quotient = np.floor_divide(a, b)
        inexact = (np.remainder(a, b) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0))
        return quotient + inexact.astype(quotient.dtype)
    return np.divide(a, b)


@host_kernel("Pow")
def power(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x ** y in the dtype of x (the exponent may have another type); NaN for a negative x to a
    fractional y."""
    x = np.asarray(x)
    with np.errstate(invalid="ignore"):
        return np.power(x, y).astype(x.dtype, copy=False)


@host_kernel("Sqrt")
def sqrt(x: np.ndarray) -> np.ndarray:
    """Square root (NaN for negative input)."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(x)


@host_kernel("Neg")
def neg(x: np.ndarray) -> np.ndarray:
    """-x."""
    return np.negative(x)


@host_kernel("Exp")
def exp(x: np.ndarray) -> np.ndarray:
    """e ** x."""
    return np.exp(x)


@host_kernel("Sin")
def sin(x: np.ndarray) -> np.ndarray:
    """sin(x)."""
    return np.sin(x)


@host_kernel("Cos")
def cos(x: np.ndarray) -> np.ndarray:
    """cos(x)."""
    return np.cos(x)


@host_kernel("Reciprocal")
def reciprocal(x: np.ndarray) -> np.ndarray:
    """1 / x (inf at 0, as IEEE division)."""
    with np.errstate(divide="ignore"):
        return np.reciprocal(x)


@host_kernel("Abs")
def absolute(x: np.ndarray) -> np.ndarray:
    """|x|."""
    return np.abs(x)


@host_kernel("Log")
def log(x: np.ndarray) -> np.ndarray:
    """Natural logarithm (-inf at 0, NaN below)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


@host_kernel("Erf")
def erf(x: np.ndarray) -> np.ndarray:
    """The error function."""
    return _erf(x)


@host_kernel("Where")
def where(condition: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x where condition holds, else y."""
    return np.where(condition, x, y)


@host_kernel("Equal")
def equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a == b, as bool."""
    return np.equal(a, b)


@host_kernel("Less")
def less(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a < b, as bool."""
    return np.less(a, b)


@host_kernel("Greater")
def greater(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a > b, as bool."""
    return np.greater(a, b)


@host_kernel("GreaterOrEqual")
def greater_or_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a >= b, as bool."""
    return np.greater_equal(a, b)


@host_kernel("LessOrEqual")
def less_or_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a <= b, as bool."""
    return np.less_equal(a, b)


@host_kernel("And")
def logical_and(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a and b, element-wise on bool tensors."""
    return np.logical_and(a, b)


@host_kernel("Or")
def logical_or(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a or b, element-wise on bool tensors."""
    return np.logical_or(a, b)


@host_kernel("Not")
def logical_not(x: np.ndarray) -> np.ndarray:
    """Logical negation of a bool tensor."""
    return np.logical_not(x)


@host_kernel("Mod")
def mod(a: np.ndarray, b: np.ndarray, *, fmod: int) -> np.ndarray:
    """Remainder: with the divisor's sign (fmod=0, integers) or the dividend's (fmod=1, C fmod)."""
    return np.fmod(a, b) if fmod else np.mod(a, b)


@host_kernel("Min")
def minimum(*xs: np.ndarray) -> np.ndarray:
    """Element-wise minimum of any number of broadcast inputs."""
    return np.minimum.reduce(np.broadcast_arrays(*xs))


@host_kernel("Max")
def maximum(*xs: np.ndarray) -> np.ndarray:
    """Element-wise maximum of any number of broadcast inputs."""
    return np.maximum.reduce(np.broadcast_arrays(*xs))


@host_kernel("Cast")
def cast(x: np.ndarray, *, to: str) -> np.ndarray:
    """x converted to numpy dtype `to` (floats to integers truncate toward zero)."""
    return np.asarray(x).astype(to)


@host_kernel("PRelu")
def prelu(x: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """x where x >= 0, else slope * x (slope broadcast to x)."""
    return np.where(x < 0, x * slope, x).astype(x.dtype, copy=False)


@host_kernel("Selu")
def selu(x: np.ndarray, *, alpha: float, gamma: float) -> np.ndarray:
    """gamma * x where x > 0, else gamma * alpha * (exp(x) - 1)."""
    return (gamma * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))).astype(x.dtype, copy=False)


@host_kernel("Softplus")
def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), computed without overflow as max(x, 0) + log1p(exp(-|x|))."""
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


@host_kernel("Softsign")
def softsign(x: np.ndarray) -> np.ndarray:
    """x / (1 + |x|)."""
    return (x / (1 + np.abs(x))).astype(x.dtype, copy=False)


@host_kernel("Elu")
def elu(x: np.ndarray, *, alpha: float) -> np.ndarray:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


@host_kernel("Einsum")
def einsum(*xs: np.ndarray, equation: str) -> np.ndarray:
    """numpy's einsum of the inputs, in the first input's dtype (the equation has an explicit output)."""
    return np.einsum(equation, *xs).astype(np.result_type(*xs), copy=False)
