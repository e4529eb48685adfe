"""Converters for the ops that become mapped layers: Conv, Gemm, MatMul."""
from __future__ import annotations

import numpy as np

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.registry import converter
from accelmap.ir.graph import Node, PostOp
from accelmap.ir.layout import ConvLayout, matmul_layout
from accelmap.ir.workload import make_workload


def resolve_pads(node: OnnxNode, auto_pad: str, pads: tuple[int, ...], in_size: tuple[int, ...],
                 kernel: tuple[int, ...], strides: tuple[int, ...], dilations: tuple[int, ...]) -> tuple[int, ...]:
    """Explicit ONNX pads (begins..., ends...) for any auto_pad setting."""
    rank = len(in_size)
    if auto_pad in ("NOTSET", ""):
        return tuple(pads) if pads else (0,) * (2 * rank)
    if auto_pad == "VALID":
        return (0,) * (2 * rank)
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise UnsupportedOp(f"{node.ref}: auto_pad {auto_pad!r} is not an ONNX value")
    begins, ends = [], []
    for size, k, s, d in zip(in_size, kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return tuple(begins + ends)


def _bias_post_op(ctx: Lowering, node: OnnxNode, bias: str, rank: int) -> tuple[PostOp, ...]:
    if not bias:
        return ()
    value = ctx.require_const(node, bias, "the bias B")
    name = ctx.add_constant(f"{node.name}/B", value.reshape((1, -1) + (1,) * (rank - 2)))
    return (PostOp("add", tensor=name),)


@converter("Conv", since=1)
def conv(node: OnnxNode, ctx: Lowering, *, auto_pad: str = "NOTSET", dilations: tuple[int, ...] = (),
         group: int = 1, kernel_shape: tuple[int, ...] = (), pads: tuple[int, ...] = (),
         strides: tuple[int, ...] = ()) -> None:
    """Conv (1-D or 2-D, any groups): a mapped layer; the bias becomes a post-op."""
    x_shape = ctx.shape(node.inputs[0])
    w_shape = ctx.shape(node.inputs[1])
    spatial = len(x_shape) - 2
    if spatial not in (1, 2):
        raise UnsupportedOp(f"{node.ref}: {spatial}-D Conv is not supported (only 1-D and 2-D)")
    n, cin = x_shape[:2]
    kout, cg = w_shape[:2]
    kernel = tuple(w_shape[2:])
    strides = tuple(strides) or (1,) * spatial
    dilations = tuple(dilations) or (1,) * spatial
    if cin != cg * group or kout % group:
        raise UnsupportedOp(f"{node.ref}: channels {cin} / weights {w_shape} do not match group={group}")
    full = resolve_pads(node, auto_pad, pads, x_shape[2:], kernel, strides, dilations)
    if spatial == 1:
        h, r, sh, dh, (top, bottom), (left, right) = 1, 1, 1, 1, (0, 0), (full[0], full[1])
        (w,), (s,), (sw,), (dw,) = x_shape[2:], kernel, strides, dilations
    else:
        (h, w), (r, s), (sh, sw), (dh, dw) = x_shape[2:], kernel, strides, dilations
        top, left, bottom, right = full
    p = (h + top + bottom - dh * (r - 1) - 1) // sh + 1
    q = (w + left + right - dw * (s - 1) - 1) // sw + 1
    if p < 1 or q < 1:
        raise UnsupportedOp(f"{node.ref}: kernel larger than the padded input")
    wl = make_workload(n=n, g=group, k=kout // group, c=cg, p=p, q=q, r=r, s=s, stride=(sh, sw),
                       dilation=(dh, dw), kind="conv", weights_from_activations=ctx.const(node.inputs[1]) is None)
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    ctx.emit(Node(node.name, "Conv", (node.inputs[0], node.inputs[1]), node.outputs[:1],
                  {"group": group}, wl, ConvLayout(spatial, group, (top, left, bottom, right)),
                  _bias_post_op(ctx, node, bias, len(x_shape))))


def emit_matmul(node: OnnxNode, ctx: Lowering, a: str, b: str, trans_a: bool, trans_b: bool,
                 post_ops: tuple[PostOp, ...]) -> None:
    """Emit `a @ b` (last two axes swapped where asked, batch axes broadcast) as a mapped matmul layer."""
    try:
        layout, bounds = matmul_layout(ctx.shape(a), ctx.shape(b), trans_a=trans_a, trans_b=trans_b)
    except ValueError as err:
        raise UnsupportedOp(f"{node.ref}: {err}") from None
    wl = make_workload(n=bounds["N"], g=bounds["G"], k=bounds["K"], c=bounds["C"], p=bounds["P"],
                       kind="matmul", weights_from_activations=ctx.const(b) is None)
    ctx.emit(Node(node.name, node.op_type, (a, b), node.outputs[:1], {}, wl, layout, post_ops))


@converter("MatMul", since=1)
def matmul(node: OnnxNode, ctx: Lowering) -> None:
    """MatMul with numpy broadcasting: a mapped layer (both operands may be activations)."""
    emit_matmul(node, ctx, node.inputs[0], node.inputs[1], False, False, ())


@converter("Gemm", since=1)
def gemm(node: OnnxNode, ctx: Lowering, *, alpha: float = 1.0, beta: float = 1.0, transA: int = 0,
         transB: int = 0, broadcast: int = 0) -> None:
    """Gemm: alpha * A' B' + beta * C, the product mapped, alpha and a constant beta*C as post-ops.

    A C computed at run time (PyTorch's addmm) is added after the layer by host ops (Mul by beta
    unless it is 1, then Add).
    """
    del broadcast  # opset < 7 only; broadcasting is always on from opset 7
    post: tuple[PostOp, ...] = ()
    if alpha != 1.0:
        post += (PostOp("mul", tensor=ctx.add_constant(f"{node.name}/alpha", np.array(alpha, np.float32))),)
    c_input = node.inputs[2] if len(node.inputs) > 2 and beta != 0.0 else ""
    c = ctx.const(c_input)
    if c is not None:
        post += (PostOp("add", tensor=ctx.add_constant(f"{node.name}/C", (beta * c).astype(c.dtype))),)
    if not c_input or c is not None:
        emit_matmul(node, ctx, node.inputs[0], node.inputs[1], bool(transA), bool(transB), post)
        return
    shape, dtype = ctx.shape(node.outputs[0]), ctx.dtype(node.outputs[0])
    product = ctx.fresh(f"{node.outputs[0]}/AB")
    ctx.declare(product, shape, dtype)
    layer = OnnxNode(node.name, node.op_type, node.inputs, (product,), {}, node.domain, node.position)
    emit_matmul(layer, ctx, node.inputs[0], node.inputs[1], bool(transA), bool(transB), post)
    if beta != 1.0:
        scaled = ctx.fresh(f"{c_input}/beta")
        ctx.declare(scaled, ctx.shape(c_input), ctx.dtype(c_input))
        beta_value = ctx.add_constant(f"{node.name}/beta", np.array(beta, np.dtype(ctx.dtype(c_input))))
        ctx.emit(Node(ctx.fresh(f"{node.name}/beta"), "Mul", (c_input, beta_value), (scaled,)))
        c_input = scaled
    ctx.emit(Node(ctx.fresh(f"{node.name}/C"), "Add", (product, c_input), node.outputs[:1]))
