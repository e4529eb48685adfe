"""`Schedule`: everything a compile writes to OUTDIR, and its schedule.json form.

The graph (mapped layers and host ops, tensors, constants), the full arch,
and per mapped layer its workload, mapping, buffer plan, predicted cost,
solver status and the names of its per-layer files. `Schedule.to_json` and
`schedule_from_json` are exact inverses; the weights travel beside the JSON
in weights.npz, each recorded in schedule.json with its shape, dtype and sha256.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelmap import __version__
from accelmap.arch.spec import Arch
from accelmap.backend.outdir.buffers import BufferEntry
from accelmap.backend.outdir.codec import attrs_from_json, attrs_to_json, from_json, to_json
from accelmap.ir.graph import Graph, Node, PostOp, TensorInfo
from accelmap.ir.layout import ConvLayout, MatmulLayout
from accelmap.ir.workload import Workload
from accelmap.mapper.mapping import Mapping, mapping_from_dict, mapping_to_dict

FORMAT_VERSION = 2
SCHEDULE_FILE = "schedule.json"
WEIGHTS_FILE = "weights.npz"
LAYER_DIR = "layers"
SUMMARY_FILE = "summary.md"
REPORT_FILE = "report.html"
TIMELOOP_KINDS = ("problem", "arch", "ert", "mapping")
"""The Timeloop files written per layer: `layers/NNN_name.timeloop.<kind>.yaml`."""


@dataclass(frozen=True)
class LayerStatus:
    """How a layer's mapping was found: a solver status (OPTIMAL, FEASIBLE, ...) or RANDOM / GIVEN.

    `gap` is the solver's relative optimality gap (0 when proved optimal,
    None when no bound is known); `canonical` says the mapping is the
    canonical one among equal-cost optima, so every compile returns it.
    """

    status: str = "GIVEN"
    gap: float | None = None
    canonical: bool = False


@dataclass(frozen=True)
class LayerFiles:
    """Paths, relative to OUTDIR, of one layer's loop program, loop-nest text and Timeloop YAML.

    The `timeloop_*` paths are set by `emit`; when Timeloop cannot express the
    layer's mapping they stay None and `timeloop_skipped` says why.
    """

    program: str
    loopnest: str
    timeloop_problem: str | None = None
    timeloop_arch: str | None = None
    timeloop_ert: str | None = None
    timeloop_mapping: str | None = None
    timeloop_skipped: str | None = None


@dataclass(frozen=True)
class LayerPlan:
    """One mapped layer's schedule: workload, mapping, buffer plan, predicted cost, status, files."""

    name: str
    workload: Workload
    mapping: Mapping
    buffers: tuple[BufferEntry, ...]
    cost: dict[str, Any] = field(compare=False, hash=False)
    status: LayerStatus
    files: LayerFiles


@dataclass(frozen=True)
class ModelRef:
    """The ONNX file a schedule was compiled from: its base name, sha256 and the path it was read at."""

    name: str
    sha256: str
    path: str


@dataclass(frozen=True)
class Schedule:
    """A compiled model: the arch, the graph (with its constants) and one `LayerPlan` per mapped layer."""

    arch: Arch
    graph: Graph = field(compare=False, hash=False)
    layers: tuple[LayerPlan, ...]
    model: ModelRef | None = None
    accelmap_version: str = __version__
    format_version: int = FORMAT_VERSION

    def layer(self, name: str) -> LayerPlan:
        """The plan of the mapped layer called `name`."""
        for plan in self.layers:
            if plan.name == name:
                return plan
        raise KeyError(f"no mapped layer named {name!r}")

    def to_json(self) -> dict[str, Any]:
        """The schedule.json document."""
        return {
            "format_version": self.format_version,
            "accelmap_version": self.accelmap_version,
            "model": None if self.model is None else to_json(self.model),
            "arch": to_json(self.arch),
            "graph": graph_to_json(self.graph),
            "weights": weights_to_json(self.graph.constants),
            "layers": [layer_to_json(plan) for plan in self.layers],
            "files": {"summary": SUMMARY_FILE, "report": REPORT_FILE},
        }


def weight_key(index: int, name: str) -> str:
    """The npz key of the `index`-th constant: a sanitised, unique form of its name."""
    return f"{index:04d}_{sanitise(name)}"


def sanitise(name: str) -> str:
    """`name` made safe as a file name: runs of characters other than [A-Za-z0-9._-] become '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "unnamed"


def array_sha256(array: np.ndarray) -> str:
    """sha256 over an array's dtype, shape and C-order bytes."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def weights_to_json(constants: dict[str, np.ndarray]) -> dict[str, Any]:
    """The weights.npz index: per constant its name, npz key, shape, dtype and sha256."""
    return {"file": WEIGHTS_FILE,
            "tensors": [{"name": name, "key": weight_key(i, name), "shape": list(np.shape(value)),
                         "dtype": str(np.asarray(value).dtype), "sha256": array_sha256(np.asarray(value))}
                        for i, (name, value) in enumerate(sorted(constants.items()))]}


def graph_to_json(graph: Graph) -> dict[str, Any]:
    """The graph: tensors with shapes, nodes in topological order, and the tensor edges between them."""
    dag = graph.dag()
    return {
        "name": graph.name,
        "opset": graph.opset,
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
        "tensors": [to_json(info) for info in graph.tensors.values()],
        "nodes": [_node_to_json(node) for node in graph.nodes],
        "edges": [{"tensor": data["tensor"], "from": a, "to": b} for a, b, data in dag.edges(data=True)],
    }


def _node_to_json(node: Node) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": node.name, "op": node.op, "kind": "layer" if node.is_mapped else "host",
                           "inputs": list(node.inputs), "outputs": list(node.outputs),
                           "attrs": attrs_to_json(node.attrs)}
    if node.is_mapped:
        kind = "conv" if isinstance(node.layout, ConvLayout) else "matmul"
        doc["layout"] = {"kind": kind, **to_json(node.layout)}
        doc["post_ops"] = [to_json(op) for op in node.post_ops]
    return doc


def layer_to_json(plan: LayerPlan) -> dict[str, Any]:
    """One entry of schedule.json's `layers`."""
    return {
        "name": plan.name,
        "workload": to_json(plan.workload),
        "mapping": mapping_to_dict(plan.mapping),
        "buffers": [to_json(entry) for entry in plan.buffers],
        "cost": plan.cost,
        "status": plan.status.status,
        "gap": plan.status.gap,
        "canonical": plan.status.canonical,
        "files": to_json(plan.files),
    }


def layer_from_json(doc: dict[str, Any]) -> LayerPlan:
    """Inverse of `layer_to_json`."""
    return LayerPlan(
        name=doc["name"],
        workload=from_json(Workload, doc["workload"]),
        mapping=mapping_from_dict(doc["mapping"]),
        buffers=tuple(from_json(BufferEntry, entry) for entry in doc["buffers"]),
        cost=doc["cost"],
        status=LayerStatus(doc["status"], doc["gap"], bool(doc.get("canonical", False))),
        files=from_json(LayerFiles, doc["files"]),
    )


def graph_from_json(doc: dict[str, Any], constants: dict[str, np.ndarray],
                    workloads: dict[str, Workload]) -> Graph:
    """Rebuild the graph; `workloads` are the mapped layers' workloads by node name."""
    nodes = []
    for entry in doc["nodes"]:
        node = Node(entry["name"], entry["op"], tuple(entry["inputs"]), tuple(entry["outputs"]),
                    attrs_from_json(entry["attrs"]))
        if entry["kind"] == "layer":
            layout_doc = dict(entry["layout"])
            cls = ConvLayout if layout_doc.pop("kind") == "conv" else MatmulLayout
            node = Node(node.name, node.op, node.inputs, node.outputs, node.attrs, workloads[node.name],
                        from_json(cls, layout_doc), tuple(from_json(PostOp, op) for op in entry["post_ops"]))
        nodes.append(node)
    tensors = {t["name"]: from_json(TensorInfo, t) for t in doc["tensors"]}
    return Graph(doc["name"], nodes, tensors, constants, list(doc["inputs"]), list(doc["outputs"]), doc["opset"])


def schedule_from_json(doc: dict[str, Any], constants: dict[str, np.ndarray]) -> Schedule:
    """Rebuild a `Schedule` from a schema-valid schedule.json and its constants by name."""
    layers = tuple(layer_from_json(entry) for entry in doc["layers"])
    workloads = {plan.name: plan.workload for plan in layers}
    return Schedule(
        arch=from_json(Arch, doc["arch"]),
        graph=graph_from_json(doc["graph"], constants, workloads),
        layers=layers,
        model=None if doc["model"] is None else from_json(ModelRef, doc["model"]),
        accelmap_version=doc["accelmap_version"],
        format_version=doc["format_version"],
    )

