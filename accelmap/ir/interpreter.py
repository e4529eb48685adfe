"""The reference interpreter: runs a Graph end to end in numpy.

It defines what the IR means; the executor's results are checked against it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from accelmap.ir.graph import Graph, Node
from accelmap.ir.host import run_host_op
from accelmap.ir.kernels import apply_post_ops, conv_nest


def run_layer(node: Node, x: np.ndarray, w: np.ndarray, constants: dict[str, np.ndarray]) -> np.ndarray:
    """Run one mapped layer on ONNX-shaped operands; returns the ONNX-shaped output."""
    wl, layout = node.workload, node.layout
    i = layout.to_input(x, wl)
    wc = layout.to_weights(w, wl)
    o = conv_nest(i, wc, wl)
    return apply_post_ops(layout.from_output(o, wl), node.post_ops, constants)


LayerRunner = Callable[[Node, np.ndarray, np.ndarray], np.ndarray]
"""Runs one mapped layer on its ONNX-shaped input and weights; returns the ONNX-shaped output."""


Observer = Callable[[Node, str, np.ndarray], None]
"""Called with every node's every output (node, tensor name, value) as it is produced."""


def run_graph(graph: Graph, feeds: dict[str, np.ndarray], layer: LayerRunner | None = None,
              observe: Observer | None = None) -> dict[str, np.ndarray]:
    """Run `graph` on `feeds` (graph input name -> array); returns its outputs by name.

    Mapped layers go through `layer` (default: `run_layer`, the reference
    loop nest); host ops through the IR's host kernels. A host op whose
    attributes do not fit its operands raises ValueError naming the node.
    """
    missing = [name for name in graph.inputs if name not in feeds]
    if missing:
        raise KeyError(f"missing graph inputs: {', '.join(missing)}")
    if layer is None:
        def layer(node: Node, x: np.ndarray, w: np.ndarray) -> np.ndarray:
            return run_layer(node, x, w, graph.constants)
    env: dict[str, np.ndarray] = dict(graph.constants)
    for name in graph.inputs:
        env[name] = np.asarray(feeds[name], dtype=graph.tensors[name].dtype)
    for node in graph.nodes:
        args = [env[t] if t else None for t in node.inputs]
        if node.is_mapped:
            outs: tuple[np.ndarray, ...] = (layer(node, args[0], args[1]),)
        else:
            try:
                outs = run_host_op(node.op, args, node.attrs)
            except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError) as err:
                raise ValueError(f"host op {node.name!r} ({node.op}): {type(err).__name__}: {err}") from err
        for name, value in zip(node.outputs, outs):
            env[name] = np.asarray(value)
            if observe is not None:
                observe(node, name, env[name])
    return {name: env[name] for name in graph.outputs}
