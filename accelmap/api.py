"""The library API: typed functions over the frontend, zoo, arch and mapper.

Functions return dataclasses and raise `AccelmapError` subclasses; they never
print or exit (only `cli.py` does).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

from accelmap import zoo
from accelmap.arch.spec import Arch
from accelmap.errors import ModelError
from accelmap.frontend import load_model as _load_graph
from accelmap.ir.graph import Graph


def resolve_model(source: str | Path | onnx.ModelProto) -> str | Path | onnx.ModelProto:
    """A path stays a path; a bundled network's name becomes its ONNX model."""
    if isinstance(source, (str, Path)) and not Path(source).exists() and str(source) in zoo.names():
        return zoo.build(str(source))
    if isinstance(source, (str, Path)) and not Path(source).exists():
        raise ModelError(f"{source}: no such file, and not a bundled network "
                         f"(bundled: {', '.join(zoo.names())})")
    return source


def load_model(source: str | Path | onnx.ModelProto,
               input_shapes: dict[str, tuple[int, ...]] | None = None) -> Graph:
    """Lower an ONNX file, a ModelProto or a bundled network's name into a Graph."""
    return _load_graph(resolve_model(source), input_shapes)


def load_arch(source: str | Path) -> Arch:
    """Load a preset by name or an arch YAML file."""
    from accelmap.arch import load_arch as load

    return load(source)


@dataclass(frozen=True)
class LayerSummary:
    """One row of `inspect`: a mapped layer or a host op."""

    name: str
    kind: str
    dims: str
    macs: int
    weight_words: int
    post_ops: tuple[str, ...]
    signature: str


@dataclass(frozen=True)
class ModelSummary:
    """What `inspect` reports: per-node rows and totals."""

    name: str
    layers: tuple[LayerSummary, ...]
    host_ops: tuple[LayerSummary, ...]
    macs: int
    parameters: int
    unique_workloads: int
    op_counts: dict[str, int]


def summarize(graph: Graph) -> ModelSummary:
    """Per-layer and total figures of a lowered model."""
    layers = []
    for node in graph.layers():
        wl = node.workload
        weights = 0 if wl.weights_from_activations else wl.tensor_words("W")
        layers.append(LayerSummary(node.name, f"{node.op}:{wl.kind}", wl.describe(), wl.macs, weights,
                                   tuple(str(p) for p in node.post_ops), wl.signature()))
    hosts = []
    for node in graph.host_ops():
        shape = graph.tensors[node.outputs[0]].shape if node.outputs[0] in graph.tensors else ()
        hosts.append(LayerSummary(node.name, node.op, "x".join(map(str, shape)), 0, 0, (), ""))
    counts: dict[str, int] = {}
    for node in graph.nodes:
        counts[node.op] = counts.get(node.op, 0) + 1
    return ModelSummary(graph.name, tuple(layers), tuple(hosts), graph.macs, graph.parameters,
                        len(graph.unique_workloads()), counts)
