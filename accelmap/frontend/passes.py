"""Graph clean-ups after conversion, as named rules run to a fixpoint.

Each rule finds one site, rewrites it and returns True, or returns False;
`rewrite_to_fixpoint` runs each rule until it stops firing, verifies the
graph, and repeats the round until no rule fires.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from accelmap.ir.graph import Graph, Node, PostOp


@dataclass(frozen=True)
class Rule:
    """A named rewrite: `apply(graph)` rewrites one site and returns True, else False."""

    name: str
    apply: Callable[[Graph], bool]


def rewrite_to_fixpoint(graph: Graph, rules: list[Rule], limit: int = 100_000) -> Graph:
    """Apply `rules` until none fires, verifying after each round; RuntimeError if `limit` rewrites pass."""
    steps = 0
    while True:
        fired = False
        for rule in rules:
            while rule.apply(graph):
                fired, steps = True, steps + 1
                if steps >= limit:
                    raise RuntimeError(f"rewrites did not converge after {limit} steps (last: {rule.name})")
        graph.verify()
        if not fired:
            return graph


@dataclass(frozen=True)
class _Uses:
    """Who produces each tensor and how many node inputs read it, taken once per rule scan."""

    producer: dict[str, Node]
    reads: Counter

    @classmethod
    def of(cls, graph: Graph) -> _Uses:
        """Index `graph` as it is now."""
        return cls({out: n for n in graph.nodes for out in n.outputs},
                   Counter(t for n in graph.nodes for t in set(n.inputs)))


def _sole_producer_layer(graph: Graph, uses: _Uses, tensor: str) -> Node | None:
    """The mapped layer producing `tensor`, if `tensor` has no other use."""
    if tensor in graph.outputs or uses.reads[tensor] != 1:
        return None
    node = uses.producer.get(tensor)
    return node if node is not None and node.is_mapped else None


def _replace_pair(graph: Graph, layer: Node, consumer: Node, new_layer: Node) -> None:
    """Put `new_layer` where `layer` was and drop `consumer`."""
    graph.nodes[graph.nodes.index(layer)] = new_layer
    graph.nodes.remove(consumer)


def fold_batchnorm(graph: Graph) -> bool:
    """Conv -> BatchNormalization with constant parameters: scale the weights, shift the bias."""
    uses = _Uses.of(graph)
    for bn in graph.nodes:
        if bn.op != "BatchNormalization" or bn.is_mapped:
            continue
        layer = _sole_producer_layer(graph, uses, bn.inputs[0])
        params = [graph.constants.get(t) for t in bn.inputs[1:5]]
        if layer is None or layer.op != "Conv" or any(p is None for p in params) \
                or layer.inputs[1] not in graph.constants:
            continue
        if any(p.kind != "add" for p in layer.post_ops):
            continue
        gamma, beta, mean, var = (p.astype(np.float64) for p in params)
        scale = gamma / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
        weights = graph.constants[layer.inputs[1]]
        rank = len(graph.tensors[bn.outputs[0]].shape)
        bias_shape = (1, -1) + (1,) * (rank - 2)
        bias = beta - mean * scale
        for post in layer.post_ops:
            bias = bias + graph.constants[post.tensor].reshape(-1) * scale
        w_name = _new_constant(graph, f"{layer.name}/W_bn",
                               (weights * scale.reshape((-1,) + (1,) * (weights.ndim - 1))).astype(weights.dtype))
        b_name = _new_constant(graph, f"{layer.name}/B_bn", bias.reshape(bias_shape).astype(weights.dtype))
        new = replace(layer, name=layer.name, inputs=(layer.inputs[0], w_name), outputs=bn.outputs,
                      post_ops=(PostOp("add", tensor=b_name),))
        _replace_pair(graph, layer, bn, new)
        return True
    return False


ACTIVATIONS: dict[str, Callable[[Node], PostOp]] = {
    "Relu": lambda n: PostOp("relu"),
    "Clip": lambda n: PostOp("clip", (float(n.attrs["min"]), float(n.attrs["max"]))),
    "LeakyRelu": lambda n: PostOp("leaky_relu", (float(n.attrs["alpha"]),)),
    "Sigmoid": lambda n: PostOp("sigmoid"),
    "HardSigmoid": lambda n: PostOp("hard_sigmoid", (float(n.attrs["alpha"]), float(n.attrs["beta"]))),
    "HardSwish": lambda n: PostOp("hard_swish"),
    "Tanh": lambda n: PostOp("tanh"),
    "Gelu": lambda n: PostOp("gelu"),
}


def fuse_activation(graph: Graph) -> bool:
    """A mapped layer followed only by an element-wise activation: make it a post-op."""
    uses = _Uses.of(graph)
    for act in graph.nodes:
        if act.is_mapped or act.op not in ACTIVATIONS or act.attrs.get("approximate", "none") != "none":
            continue
        layer = _sole_producer_layer(graph, uses, act.inputs[0])
        if layer is None:
            continue
        new = replace(layer, outputs=act.outputs, post_ops=layer.post_ops + (ACTIVATIONS[act.op](act),))
        _replace_pair(graph, layer, act, new)
        return True
    return False


def fuse_constant_operand(graph: Graph) -> bool:
    """Layer -> Add/Mul (either order) or Sub/Div (layer first) with a constant that keeps the output's
    shape (a bias, a scale, attention's 1/sqrt(d), a constant mask): a post-op.

    Subtracting c is adding -c and dividing by c (floats only) multiplying by 1/c, as new constants.
    """
    uses = _Uses.of(graph)
    for op in graph.nodes:
        if op.is_mapped or op.op not in ("Add", "Mul", "Sub", "Div") or len(op.inputs) != 2:
            continue
        orders = (op.inputs, op.inputs[::-1]) if op.op in ("Add", "Mul") else (op.inputs,)
        for mine, other in orders:
            layer = _sole_producer_layer(graph, uses, mine)
            if layer is None or other not in graph.constants:
                continue
            out_shape = graph.tensors[mine].shape
            value = graph.constants[other]
            if np.broadcast_shapes(value.shape, out_shape) != out_shape:
                continue
            if op.op in ("Sub", "Div") and value.dtype.kind != "f":
                continue
            post = _constant_post_op(graph, op, other)
            new = replace(layer, outputs=op.outputs, post_ops=layer.post_ops + (post,))
            _replace_pair(graph, layer, op, new)
            return True
    return False


def _constant_post_op(graph: Graph, op: Node, constant: str) -> PostOp:
    """The add or mul post-op that applies `op` with its constant operand."""
    value = graph.constants[constant]
    if op.op == "Sub":
        return PostOp("add", tensor=_new_constant(graph, f"{op.name}/negated", np.negative(value)))
    if op.op == "Div":
        return PostOp("mul", tensor=_new_constant(graph, f"{op.name}/reciprocal",
                                                  np.reciprocal(value).astype(value.dtype)))
    return PostOp(op.op.lower(), tensor=constant)


def _new_constant(graph: Graph, base: str, value: np.ndarray) -> str:
    name, i = base, 1
    while name in graph.constants or name in graph.tensors:
        name, i = f"{base}_{i}", i + 1
    graph.constants[name] = value
    return name


def drop_unused_constants(graph: Graph) -> bool:
    """Forget constants no node reads (weights replaced by folding)."""
    used = {t for n in graph.nodes for t in n.inputs}
    used |= {p.tensor for n in graph.nodes for p in n.post_ops if p.tensor}
    used |= set(graph.outputs)
    unused = [name for name in graph.constants if name not in used]
    for name in unused:
        del graph.constants[name]
    return False


CLEANUPS = [Rule("bn-into-conv", fold_batchnorm),
            Rule("constant-operand-into-layer", fuse_constant_operand),
            Rule("activation-into-layer", fuse_activation),
            Rule("drop-unused-constants", drop_unused_constants)]
