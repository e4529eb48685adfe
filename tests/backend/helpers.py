"""Small single-layer graphs with integer-valued tensors, and the executor-versus-model comparison."""
from __future__ import annotations

import numpy as np

from accelmap.arch.spec import Arch
from accelmap.backend import LayerCounts
from accelmap.backend.outdir.codec import to_json
from accelmap.backend.run.validate import count_mismatches as validate_counts
from accelmap.ir import ConvLayout, Graph, Node, PostOp, TensorInfo, make_workload, matmul_layout
from accelmap.mapper.model import Cost


def conv_graph(rng: np.random.Generator, *, n: int, groups: int, k: int, c: int, h: int, w: int, r: int, s: int,
               stride: tuple[int, int], dilation: tuple[int, int], pads: tuple[int, int, int, int],
               bias: bool = False) -> tuple[Graph, dict[str, np.ndarray]]:
    """One Conv layer (ONNX semantics: x [n, groups*c, h, w], weights [groups*k, c, r, s]) and an input.

    Weights, bias and input are small integers, so every result is exact in float32.
    """
    top, left, bottom, right = pads
    p = (h + top + bottom - dilation[0] * (r - 1) - 1) // stride[0] + 1
    q = (w + left + right - dilation[1] * (s - 1) - 1) // stride[1] + 1
    wl = make_workload(n=n, g=groups, k=k, c=c, p=p, q=q, r=r, s=s, stride=stride, dilation=dilation)
    constants = {"conv/W": rng.integers(-3, 4, (groups * k, c, r, s)).astype(np.float32)}
    post = ()
    if bias:
        constants["conv/B"] = rng.integers(-5, 6, (1, groups * k, 1, 1)).astype(np.float32)
        post = (PostOp("add", tensor="conv/B"), PostOp("relu"))
    node = Node("block/conv", "Conv", ("x", "conv/W"), ("y",), {"group": groups}, wl, ConvLayout(2, groups, pads),
                post)
    tensors = {"x": TensorInfo("x", (n, groups * c, h, w)), "y": TensorInfo("y", (n, groups * k, p, q))}
    graph = Graph("conv", [node], tensors, constants, ["x"], ["y"]).verify()
    return graph, {"x": rng.integers(-3, 4, (n, groups * c, h, w)).astype(np.float32)}


def matmul_graph(rng: np.random.Generator, a_shape: tuple[int, ...], b_shape: tuple[int, ...],
                 b_is_weight: bool) -> tuple[Graph, dict[str, np.ndarray]]:
    """One MatMul A x B; B a constant (weights) or a second activation (attention's QK^T)."""
    layout, bounds = matmul_layout(a_shape, b_shape)
    wl = make_workload(n=bounds["N"], g=bounds["G"], k=bounds["K"], c=bounds["C"], p=bounds["P"], kind="matmul",
                       weights_from_activations=not b_is_weight)
    b = rng.integers(-3, 4, b_shape).astype(np.float32)
    node = Node("attn/matmul", "MatMul", ("a", "b"), ("y",), {}, wl, layout)
    tensors = {"a": TensorInfo("a", a_shape), "y": TensorInfo("y", layout.out_shape)}
    feeds = {"a": rng.integers(-3, 4, a_shape).astype(np.float32)}
    if b_is_weight:
        graph = Graph("matmul", [node], tensors, {"b": b}, ["a"], ["y"])
    else:
        tensors["b"] = TensorInfo("b", b_shape)
        feeds["b"] = b
        graph = Graph("matmul", [node], tensors, {}, ["a", "b"], ["y"])
    return graph.verify(), feeds


def count_mismatches(cost: Cost, counts: LayerCounts, arch: Arch) -> list[str]:
    """Where the executor's counted words differ from the model's prediction (the product's own check)."""
    return validate_counts(to_json(cost), [level.name for level in arch.levels], counts.tensors)
