"""Converter registry: one function per ONNX op, keyed by the opset it appeared in.

Lookup takes the newest registration whose `since` is <= the model's opset
(the ONNX reference evaluator's rule); a miss raises `UnsupportedOp` naming
the node and listing what is supported.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from accelmap.errors import UnsupportedOp

if TYPE_CHECKING:
    from accelmap.frontend.lowering import Lowering, OnnxNode

ConverterFn = Callable[..., None]


@dataclass(frozen=True)
class Converter:
    """One registered converter: the op, the first opset it serves, the function."""

    op: str
    since: int
    fn: ConverterFn


CONVERTERS: dict[str, list[Converter]] = {}


def converter(op: str, since: int = 1) -> Callable[[ConverterFn], ConverterFn]:
    """Register the decorated function as the converter of `op` from opset `since` on."""
    def register(fn: ConverterFn) -> ConverterFn:
        versions = CONVERTERS.setdefault(op, [])
        if any(c.since == since for c in versions):
            raise ValueError(f"converter {op} since opset {since} registered twice")
        versions.append(Converter(op, since, fn))
        versions.sort(key=lambda c: c.since)
        return fn
    return register


def supported_ops() -> list[str]:
    """Names of every ONNX op with a converter."""
    _load_families()
    return sorted(CONVERTERS)


def lookup(node: OnnxNode, opset: int) -> Converter:
    """The converter for `node` at `opset`; UnsupportedOp if there is none."""
    _load_families()
    versions = CONVERTERS.get(node.op_type, [])
    usable = [c for c in versions if c.since <= opset]
    if not usable:
        if versions:
            raise UnsupportedOp(f"{node.ref}: {node.op_type} is supported from opset "
                                f"{versions[0].since}, the model uses opset {opset}")
        raise UnsupportedOp(f"{node.ref}: unsupported op {node.op_type!r} "
                            f"(domain {node.domain or 'ai.onnx'}). Supported ops: {', '.join(supported_ops())}")
    return usable[-1]


def convert(node: OnnxNode, ctx: Lowering) -> None:
    """Lower one ONNX node into the graph being built by `ctx`."""
    fn = lookup(node, ctx.opset).fn
    try:
        inspect.signature(fn).bind(node, ctx, **node.attrs)
    except TypeError as err:
        raise UnsupportedOp(f"{node.ref}: {node.op_type} attribute not supported ({err})") from None
    fn(node, ctx, **node.attrs)


def _load_families() -> None:
    """Import every converter family under accelmap.frontend.ops so each registers."""
    import importlib
    import pkgutil

    from accelmap.frontend import ops

    for info in pkgutil.iter_modules(ops.__path__):
        importlib.import_module(f"{ops.__name__}.{info.name}")
