"""Stable names for unnamed ONNX nodes, so every message names a node the user can find.

Old exporters (Caffe2, early PyTorch) leave nodes unnamed. Each gets
`<op>_<position>`, its position in the file's node list (the order Netron
and `onnx.printer` show), before anything is folded or removed, so the name
does not depend on what accelmap does to the graph. A generated name that
collides with a real one gets a numeric suffix.
"""
from __future__ import annotations

import onnx


def name_unnamed_nodes(graph: onnx.GraphProto) -> dict[str, int]:
    """Name every unnamed node of `graph` in place; returns generated name -> position in the file."""
    taken = {node.name for node in graph.node if node.name}
    generated: dict[str, int] = {}
    for position, node in enumerate(graph.node):
        if node.name:
            continue
        name, suffix = f"{node.op_type}_{position}", 1
        while name in taken:
            name, suffix = f"{node.op_type}_{position}_{suffix}", suffix + 1
        taken.add(name)
        node.name = name
        generated[name] = position
    return generated


def describe_node(name: str, op_type: str, outputs: tuple[str, ...], position: int | None) -> str:
    """How a message refers to a node: its name, and for a generated name where to find it."""
    if position is None:
        return f"node {name!r}"
    written = ", ".join(repr(o) for o in outputs if o) or "nothing"
    return f"node {name!r} (unnamed in the file: the {op_type} at position {position}, writing {written})"
