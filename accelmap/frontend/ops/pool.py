"""Converters for pooling: MaxPool, AveragePool (1-D and 2-D) and GlobalAveragePool.

Host ops with normalised attributes: `auto_pad` is resolved into explicit
`pads` (begins..., ends...), and `strides` and `dilations` are filled in.
"""
from __future__ import annotations

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.ops.mapped import resolve_pads
from accelmap.frontend.registry import converter
from accelmap.ir.host.pool import pool_output_shape


def _pool(node: OnnxNode, ctx: Lowering, *, auto_pad: str, kernel_shape: tuple[int, ...],
          pads: tuple[int, ...], strides: tuple[int, ...], dilations: tuple[int, ...], ceil_mode: int,
          **extra: int) -> None:
    """Emit a MaxPool or AveragePool host op with explicit pads, strides and dilations."""
    if len([o for o in node.outputs if o]) > 1:
        raise UnsupportedOp(f"{node.ref}: MaxPool's Indices output is not supported")
    x_shape = ctx.shape(node.inputs[0])
    spatial = len(x_shape) - 2
    if spatial not in (1, 2) or len(kernel_shape) != spatial:
        raise UnsupportedOp(f"{node.ref}: {node.op_type} with kernel_shape {tuple(kernel_shape)} "
                            f"on a rank-{spatial + 2} input is not supported (only 1-D and 2-D pooling)")
    kernel = tuple(int(k) for k in kernel_shape)
    strides = tuple(int(s) for s in strides) or (1,) * spatial
    dilations = tuple(int(d) for d in dilations) or (1,) * spatial
    full = resolve_pads(node, auto_pad, tuple(int(p) for p in pads), x_shape[2:],
                        kernel, strides, dilations)
    # With auto_pad the spec fixes the output size (ceil(H / stride) or floor-mode VALID), so ceil_mode is moot.
    ceil = int(ceil_mode) if auto_pad in ("NOTSET", "") else 0
    shape = pool_output_shape(x_shape, kernel, strides, full, dilations, ceil)
    if shape != ctx.shape(node.outputs[0]):
        raise UnsupportedOp(f"{node.ref}: ONNX shape inference gives {node.op_type} output "
                            f"{ctx.shape(node.outputs[0])}, but the operator spec (and onnxruntime) give {shape}: "
                            f"with ceil_mode a window that would start in the end padding is dropped; "
                            f"re-export the model with ceil_mode=0 and explicit pads")
    ctx.host(node, outputs=node.outputs[:1], kernel_shape=kernel, strides=strides, pads=full,
             dilations=dilations, ceil_mode=ceil, **extra)


@converter("MaxPool", since=1)
def max_pool_1(node: OnnxNode, ctx: Lowering, *, kernel_shape: tuple[int, ...], auto_pad: str = "NOTSET",
               pads: tuple[int, ...] = (), strides: tuple[int, ...] = (), storage_order: int = 0) -> None:
    """MaxPool before opset 10 (no ceil_mode, no dilations)."""
    del storage_order  # only orders the Indices output, which is rejected
    _pool(node, ctx, auto_pad=auto_pad, kernel_shape=kernel_shape, pads=pads, strides=strides,
          dilations=(), ceil_mode=0)


@converter("MaxPool", since=10)
def max_pool_10(node: OnnxNode, ctx: Lowering, *, kernel_shape: tuple[int, ...], auto_pad: str = "NOTSET",
                ceil_mode: int = 0, dilations: tuple[int, ...] = (), pads: tuple[int, ...] = (),
                storage_order: int = 0, strides: tuple[int, ...] = ()) -> None:
    """MaxPool from opset 10: adds ceil_mode and dilations."""
    del storage_order  # only orders the Indices output, which is rejected
    _pool(node, ctx, auto_pad=auto_pad, kernel_shape=kernel_shape, pads=pads, strides=strides,
          dilations=dilations, ceil_mode=ceil_mode)


@converter("AveragePool", since=7)
def average_pool_7(node: OnnxNode, ctx: Lowering, *, kernel_shape: tuple[int, ...], auto_pad: str = "NOTSET",
                   count_include_pad: int = 0, pads: tuple[int, ...] = (),
                   strides: tuple[int, ...] = ()) -> None:
    """AveragePool from opset 7 (count_include_pad; no ceil_mode, no dilations)."""
    _pool(node, ctx, auto_pad=auto_pad, kernel_shape=kernel_shape, pads=pads, strides=strides,
          dilations=(), ceil_mode=0, count_include_pad=int(count_include_pad))


@converter("AveragePool", since=10)
def average_pool_10(node: OnnxNode, ctx: Lowering, *, kernel_shape: tuple[int, ...], auto_pad: str = "NOTSET",
                    ceil_mode: int = 0, count_include_pad: int = 0, pads: tuple[int, ...] = (),
                    strides: tuple[int, ...] = ()) -> None:
    """AveragePool from opset 10: adds ceil_mode."""
    _pool(node, ctx, auto_pad=auto_pad, kernel_shape=kernel_shape, pads=pads, strides=strides,
          dilations=(), ceil_mode=ceil_mode, count_include_pad=int(count_include_pad))


@converter("AveragePool", since=19)
def average_pool_19(node: OnnxNode, ctx: Lowering, *, kernel_shape: tuple[int, ...], auto_pad: str = "NOTSET",
                    ceil_mode: int = 0, count_include_pad: int = 0, dilations: tuple[int, ...] = (),
                    pads: tuple[int, ...] = (), strides: tuple[int, ...] = ()) -> None:
    """AveragePool from opset 19: adds dilations."""
    _pool(node, ctx, auto_pad=auto_pad, kernel_shape=kernel_shape, pads=pads, strides=strides,
          dilations=dilations, ceil_mode=ceil_mode, count_include_pad=int(count_include_pad))


@converter("GlobalAveragePool", since=1)
def global_average_pool(node: OnnxNode, ctx: Lowering) -> None:
    """GlobalAveragePool: the mean over every spatial axis, kept as size-1 axes."""
    ctx.host(node)
