"""The state of one ONNX -> Graph lowering, handed to every converter."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from accelmap.errors import ShapeError, UnsupportedOp
from accelmap.frontend.naming import describe_node
from accelmap.ir.graph import Node, TensorInfo


@dataclass(frozen=True)
class OnnxNode:
    """An ONNX node with decoded attributes (strings as str, tensors as numpy).

    `position` is set when the file left the node unnamed and `name` was
    generated from its op and position (`naming.name_unnamed_nodes`).
    """

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = field(hash=False, compare=False)
    domain: str = ""
    position: int | None = None

    @classmethod
    def from_proto(cls, proto: onnx.NodeProto, generated: dict[str, int]) -> OnnxNode:
        """Decode a named NodeProto; `generated` maps names accelmap gave to their position in the file."""
        attrs = {a.name: _attr_value(a) for a in proto.attribute}
        return cls(proto.name, proto.op_type, tuple(proto.input), tuple(proto.output), attrs, proto.domain,
                   generated.get(proto.name))

    @property
    def ref(self) -> str:
        """The node as messages name it: `node 'x'`, plus where to find it if its name was generated."""
        return describe_node(self.name, self.op_type, self.outputs, self.position)


def _attr_value(attr: onnx.AttributeProto) -> Any:
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, list):
        return tuple(v.decode() if isinstance(v, bytes) else v for v in value)
    return value


class Lowering:
    """Shapes, constants and emitted nodes while converting one model.

    Converters read operand shapes and constant values through it and add IR
    nodes with `emit`; `alias` makes a tensor another name for an existing
    one (Identity, Dropout) without emitting anything.
    """

    def __init__(self, tensors: dict[str, TensorInfo], constants: dict[str, np.ndarray], opset: int):
        self.tensors = dict(tensors)
        self.constants = dict(constants)
        self.opset = opset
        self.nodes: list[Node] = []
        self.aliases: dict[str, str] = {}
        self.current: OnnxNode | None = None
        self._names: set[str] = set(tensors) | set(constants)

    def resolve(self, tensor: str) -> str:
        """The tensor that `tensor` stands for after aliasing."""
        while tensor in self.aliases:
            tensor = self.aliases[tensor]
        return tensor

    def shape(self, tensor: str) -> tuple[int, ...]:
        """Static shape of `tensor`; ShapeError if unknown."""
        tensor = self.resolve(tensor)
        if tensor in self.constants:
            return tuple(self.constants[tensor].shape)
        if tensor not in self.tensors:
            raise ShapeError(f"tensor {tensor!r} has no static shape; pass --input-shape NAME=DIMS "
                             f"for the model's symbolic inputs")
        return self.tensors[tensor].shape

    def dtype(self, tensor: str) -> str:
        """numpy dtype name of `tensor`."""
        tensor = self.resolve(tensor)
        if tensor in self.constants:
            return str(self.constants[tensor].dtype)
        return self.tensors[tensor].dtype

    def const(self, tensor: str) -> np.ndarray | None:
        """The value of `tensor` if it is a constant (initializer or folded), else None."""
        if not tensor:
            return None
        return self.constants.get(self.resolve(tensor))

    def require_const(self, node: OnnxNode, tensor: str, what: str) -> np.ndarray:
        """The constant value of `tensor`; UnsupportedOp naming the node if it is computed."""
        value = self.const(tensor)
        if value is None:
            raise UnsupportedOp(f"{node.ref}: {node.op_type} needs {what} ({tensor!r}) "
                                f"to be a constant, but it is computed at run time")
        return value

    def fresh(self, base: str) -> str:
        """A tensor or node name not used yet, derived from `base`."""
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def add_constant(self, base: str, value: np.ndarray) -> str:
        """Store a new constant; returns its name."""
        name = self.fresh(base)
        self.constants[name] = np.asarray(value)
        return name

    def declare(self, tensor: str, shape: tuple[int, ...], dtype: str) -> None:
        """Record the shape of a tensor a converter creates."""
        self._names.add(tensor)
        self.tensors[tensor] = TensorInfo(tensor, tuple(int(d) for d in shape), dtype)

    def alias(self, tensor: str, source: str) -> None:
        """Make `tensor` another name for `source` (no node emitted)."""
        self.aliases[tensor] = self.resolve(source)

    def emit(self, node: Node) -> Node:
        """Append an IR node, resolving its inputs through aliases."""
        inputs = tuple(self.resolve(t) if t else "" for t in node.inputs)
        node = Node(node.name, node.op, inputs, node.outputs, node.attrs, node.workload,
                    node.layout, node.post_ops)
        for out in node.outputs:
            if out not in self.tensors:
                where = self.current.ref if self.current else f"node {node.name!r}"
                raise ShapeError(f"{where}: ONNX shape inference found no static shape for its output {out!r}; "
                                 f"give the model's symbolic inputs sizes with --input-shape NAME=DIMS")
        self.nodes.append(node)
        return node

    def host(self, node: OnnxNode, op: str | None = None, inputs: tuple[str, ...] | None = None,
             outputs: tuple[str, ...] | None = None, **attrs: Any) -> Node:
        """Emit `node` as a host op with normalised attributes (`op`, `inputs`, `outputs` override)."""
        return self.emit(Node(node.name, op or node.op_type, inputs if inputs is not None else node.inputs,
                              outputs if outputs is not None else node.outputs, attrs))
