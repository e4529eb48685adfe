"""Converter for ConvTranspose: a mapped conv layer at stride 1, a host op otherwise.

At stride 1 without output_padding a transposed convolution is an ordinary
convolution of the same input: filters flipped in every spatial axis, their
input and output channels swapped (per group), and each side padded by
dilation*(kernel-1) - pad. That conv is built with the same Workload and
ConvLayout as Conv, so the mapper sees a normal layer. Strided (fractional)
ones, output_padding, computed weights or bias, pads larger than the dilated
kernel and 3-D ones stay host ops with their own numpy kernel.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.registry import converter
from accelmap.ir.graph import Node, PostOp
from accelmap.ir.layout import ConvLayout
from accelmap.ir.workload import make_workload


def transpose_pads(node: OnnxNode, auto_pad: str, pads: Sequence[int], output_shape: Sequence[int],
                   in_size: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                   dilations: Sequence[int], output_padding: Sequence[int]) -> tuple[int, ...]:
    """ConvTranspose pads (begins..., ends...) from explicit pads, auto_pad or output_shape.

    With output_shape or SAME_* the total crop is (in-1)*stride + output_padding
    + (kernel-1)*dilation + 1 - out; SAME_UPPER crops the larger half at the
    end, otherwise at the start (the ONNX spec, and onnxruntime).
    """
    rank = len(in_size)
    if auto_pad not in ("NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise UnsupportedOp(f"{node.ref}: auto_pad {auto_pad!r} is not an ONNX value")
    if not output_shape and auto_pad in ("NOTSET", ""):
        return tuple(int(p) for p in pads) if pads else (0,) * (2 * rank)
    if not output_shape and auto_pad == "VALID":
        return (0,) * (2 * rank)
    out = list(output_shape)[-rank:] if output_shape else [i * s for i, s in zip(in_size, strides)]
    begins, ends = [], []
    for i, s, k, d, extra, o in zip(in_size, strides, kernel, dilations, output_padding, out):
        total = max(0, (i - 1) * s + extra + (k - 1) * d + 1 - o)
        larger, smaller = total - total // 2, total // 2
        begins.append(smaller if auto_pad == "SAME_UPPER" else larger)
        ends.append(larger if auto_pad == "SAME_UPPER" else smaller)
    return tuple(begins + ends)


def _check_output_size(node: OnnxNode, ctx: Lowering, strides: Sequence[int], dilations: Sequence[int],
                       output_padding: Sequence[int], pads: Sequence[int]) -> None:
    """UnsupportedOp unless the pads give the output size shape inference found."""
    in_size, kernel = ctx.shape(node.inputs[0])[2:], ctx.shape(node.inputs[1])[2:]
    rank = len(in_size)
    expected = tuple((i - 1) * s + extra + (k - 1) * d + 1 - begin - end for i, s, extra, k, d, begin, end
                     in zip(in_size, strides, output_padding, kernel, dilations, pads[:rank], pads[rank:]))
    found = tuple(ctx.shape(node.outputs[0])[2:])
    if found != expected:
        raise UnsupportedOp(f"{node.ref}: ConvTranspose output {found} does not match the {expected} "
                            f"its pads give; check output_shape")


def _flipped_conv_weights(w: np.ndarray, group: int) -> np.ndarray:
    """ConvTranspose weights [G*C, K, ...] -> the equivalent Conv's [G*K, C, ...], taps reversed."""
    channels, k, *kernel = w.shape
    grouped = w.reshape(group, channels // group, k, *kernel).swapaxes(1, 2)
    flipped = grouped[(Ellipsis,) + (slice(None, None, -1),) * len(kernel)]
    return np.ascontiguousarray(flipped.reshape(group * k, channels // group, *kernel))


def _emit_as_conv(node: OnnxNode, ctx: Lowering, weights: np.ndarray, group: int, dilations: Sequence[int],
                  pads: Sequence[int]) -> None:
    """Emit a stride-1 ConvTranspose as the equivalent mapped conv layer."""
    x_shape = ctx.shape(node.inputs[0])
    n, spatial = x_shape[0], len(x_shape) - 2
    kernel = weights.shape[2:]
    rank_pads = [d * (k - 1) - p for d, k, p in zip(list(dilations) * 2, list(kernel) * 2, pads)]
    if spatial == 1:
        (h, r, dh, top, bottom), (w,), (s,), (dw,) = (1, 1, 1, 0, 0), x_shape[2:], kernel, dilations
        left, right = rank_pads
    else:
        (h, w), (r, s), (dh, dw) = x_shape[2:], kernel, dilations
        top, left, bottom, right = rank_pads
    conv_weights = _flipped_conv_weights(weights, group)
    wl = make_workload(n=n, g=group, k=conv_weights.shape[0] // group, c=conv_weights.shape[1],
                       p=h + top + bottom - dh * (r - 1), q=w + left + right - dw * (s - 1), r=r, s=s,
                       dilation=(dh, dw), kind="conv")
    post: tuple[PostOp, ...] = ()
    if len(node.inputs) > 2 and node.inputs[2]:
        bias = ctx.require_const(node, node.inputs[2], "the bias B").reshape((1, -1) + (1,) * spatial)
        post = (PostOp("add", tensor=ctx.add_constant(f"{node.name}/B", bias)),)
    w_name = ctx.add_constant(f"{node.name}/W_conv", conv_weights)
    ctx.emit(Node(node.name, "ConvTranspose", (node.inputs[0], w_name), node.outputs[:1], {"group": group}, wl,
                  ConvLayout(spatial, group, (top, left, bottom, right)), post))


@converter("ConvTranspose", since=1)
def conv_transpose(node: OnnxNode, ctx: Lowering, *, auto_pad: str = "NOTSET", dilations: tuple[int, ...] = (),
                   group: int = 1, kernel_shape: tuple[int, ...] = (), output_padding: tuple[int, ...] = (),
                   output_shape: tuple[int, ...] = (), pads: tuple[int, ...] = (),
                   strides: tuple[int, ...] = ()) -> None:
    """ConvTranspose: the equivalent mapped conv at stride 1 (1-D/2-D, constant weights), else a host op."""
    del kernel_shape  # read from the weights
    x_shape, w_shape = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
    spatial = len(x_shape) - 2
    if x_shape[1] != w_shape[0] or x_shape[1] % group:
        raise UnsupportedOp(f"{node.ref}: channels {x_shape[1]} / weights {w_shape} do not match "
                            f"group={group}")
    strides = tuple(strides) or (1,) * spatial
    dilations = tuple(dilations) or (1,) * spatial
    output_padding = tuple(output_padding) or (0,) * spatial
    full = transpose_pads(node, auto_pad, pads, output_shape, x_shape[2:], w_shape[2:], strides, dilations,
                          output_padding)
    _check_output_size(node, ctx, strides, dilations, output_padding, full)
    weights = ctx.const(node.inputs[1])
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    fits_conv = all(d * (k - 1) >= p for d, k, p in zip(dilations * 2, w_shape[2:] * 2, full))
    if (spatial in (1, 2) and set(strides) == {1} and not any(output_padding) and fits_conv
            and weights is not None and (not bias or ctx.const(bias) is not None)):
        _emit_as_conv(node, ctx, weights, group, dilations, full)
        return
    ctx.host(node, inputs=(node.inputs[0], node.inputs[1], bias), strides=strides, dilations=dilations,
             group=group, pads=full, output_padding=output_padding)
