"""`Graph`: mapped layers and host ops joined by named tensors.

A mapped layer carries a `Workload`, the layout that turns its ONNX-shaped
operands into canonical tensors, and fused post-ops applied to its output.
A host op is an ONNX-semantics op the accelerator does not map (pooling,
softmax, reshapes); it runs on the host and streams its tensors from DRAM.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any

import networkx as nx
import numpy as np

from accelmap.ir.layout import ConvLayout, MatmulLayout
from accelmap.ir.workload import Workload

POST_OP_KINDS = ("add", "mul", "relu", "clip", "leaky_relu", "sigmoid", "hard_sigmoid",
                 "hard_swish", "tanh", "gelu")


@dataclass(frozen=True)
class PostOp:
    """An element-wise step fused after a mapped layer's MACs.

    `add` / `mul` take a constant (`tensor`, broadcast against the ONNX-shaped
    output); the others take scalar `params` (clip: min, max; leaky_relu:
    alpha; hard_sigmoid: alpha, beta).
    """

    kind: str
    params: tuple[float, ...] = ()
    tensor: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in POST_OP_KINDS:
            raise ValueError(f"unknown post-op {self.kind!r}; known: {', '.join(POST_OP_KINDS)}")

    def __str__(self) -> str:
        if self.tensor is not None:
            return f"{self.kind}({self.tensor})"
        if self.params:
            return f"{self.kind}({', '.join(f'{p:g}' for p in self.params)})"
        return self.kind


@dataclass(frozen=True)
class TensorInfo:
    """A tensor's static shape and numpy dtype name."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    @property
    def size(self) -> int:
        """Number of elements."""
        return prod(self.shape)


@dataclass(frozen=True)
class Node:
    """One step of the graph: a mapped layer (`workload` set) or a host op.

    For a mapped layer, `inputs` are (input activation, weights or second
    operand); `op` is the ONNX op it came from. For a host op, `op` is the
    ONNX op type and `attrs` its attributes with the spec's defaults filled in.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    workload: Workload | None = None
    layout: ConvLayout | MatmulLayout | None = None
    post_ops: tuple[PostOp, ...] = ()

    @property
    def is_mapped(self) -> bool:
        """True for a layer the accelerator runs (it has a Workload)."""
        return self.workload is not None


@dataclass
class Graph:
    """A lowered model: nodes in topological order, tensor table, constants."""

    name: str
    nodes: list[Node]
    tensors: dict[str, TensorInfo]
    constants: dict[str, np.ndarray]
    inputs: list[str]
    outputs: list[str]
    opset: int = 17

    def dag(self) -> nx.DiGraph:
        """The node graph as networkx: an edge producer -> consumer per tensor."""
        dag = nx.DiGraph()
        producer: dict[str, str] = {}
        for node in self.nodes:
            dag.add_node(node.name)
            for out in node.outputs:
                producer[out] = node.name
        for node in self.nodes:
            for tensor in node.inputs:
                if tensor in producer:
                    dag.add_edge(producer[tensor], node.name, tensor=tensor)
        return dag

    def node(self, name: str) -> Node:
        """The node called `name`."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r}")

    def layers(self) -> list[Node]:
        """Mapped layers in topological order."""
        return [n for n in self.nodes if n.is_mapped]

    def host_ops(self) -> list[Node]:
        """Host ops in topological order."""
        return [n for n in self.nodes if not n.is_mapped]

    def consumers(self, tensor: str) -> list[Node]:
        """Nodes that read `tensor`."""
        return [n for n in self.nodes if tensor in n.inputs]

    @property
    def macs(self) -> int:
        """MACs of all mapped layers."""
        return sum(n.workload.macs for n in self.layers())

    @property
    def parameters(self) -> int:
        """Elements of all constant tensors that nodes read (weights, biases)."""
        used = {t for n in self.nodes for t in n.inputs}
        used |= {p.tensor for n in self.nodes for p in n.post_ops if p.tensor}
        return sum(int(self.constants[t].size) for t in used if t in self.constants)

    def unique_workloads(self) -> dict[str, list[Node]]:
        """Mapped layers grouped by workload signature (each group is solved once)."""
        groups: dict[str, list[Node]] = {}
        for node in self.layers():
            groups.setdefault(node.workload.signature(), []).append(node)
        return groups

    def verify(self) -> Graph:
        """Check the graph is well formed; raise ValueError naming the fault. Returns self."""
        known = set(self.inputs) | set(self.constants)
        names: set[str] = set()
        for node in self.nodes:
            if node.name in names:
                raise ValueError(f"duplicate node name {node.name!r}")
            names.add(node.name)
            for tensor in node.inputs:
                if tensor and tensor not in known:
                    raise ValueError(f"node {node.name!r} reads {tensor!r} before it is produced")
            for post in node.post_ops:
                if post.tensor is not None and post.tensor not in self.constants:
                    raise ValueError(f"node {node.name!r} post-op reads unknown constant {post.tensor!r}")
            for tensor in node.outputs:
                if tensor not in self.tensors:
                    raise ValueError(f"node {node.name!r} output {tensor!r} has no shape")
                known.add(tensor)
            if node.is_mapped and node.layout is None:
                raise ValueError(f"mapped layer {node.name!r} has no layout")
        for tensor in self.outputs:
            if tensor not in known:
                raise ValueError(f"graph output {tensor!r} is never produced")
        if not nx.is_directed_acyclic_graph(self.dag()):
            raise ValueError("graph has a cycle")
        return self
