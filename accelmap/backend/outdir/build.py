"""`build_schedule`: a graph, an arch and one mapping per mapped layer become a `Schedule`.

Each mapping is checked against the mapspace's rules, its buffers are laid
out, and the cost model's prediction is stored beside it, so that the
executor's counts can later be held against it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from accelmap.arch.spec import Arch
from accelmap.backend.outdir.buffers import plan_buffers
from accelmap.backend.outdir.codec import to_json
from accelmap.backend.outdir.schedule import LAYER_DIR, LayerFiles, LayerPlan, LayerStatus, ModelRef, Schedule, sanitise
from accelmap.errors import ScheduleError
from accelmap.ir.graph import Graph
from accelmap.mapper.mapping import Mapping
from accelmap.mapper.model import evaluate
from accelmap.mapper.validity import check_mapping


def build_schedule(graph: Graph, arch: Arch, mappings: dict[str, Mapping],
                   statuses: dict[str, LayerStatus] | None = None,
                   model_path: str | Path | None = None) -> Schedule:
    """The schedule of `graph` on `arch` with `mappings` by node name.

    `statuses` gives each layer's solver status and gap (default GIVEN, no
    gap); `model_path` is the ONNX file compiled, recorded with its sha256
    so that `validate` can find and check it. Raises ScheduleError naming the
    layer for a missing, unknown or invalid mapping.
    """
    statuses = statuses or {}
    layers = graph.layers()
    names = {node.name for node in layers}
    missing = [node.name for node in layers if node.name not in mappings]
    unknown = sorted(set(mappings) - names)
    if missing or unknown:
        raise ScheduleError("; ".join([f"layer {n!r} has no mapping" for n in missing]
                                      + [f"a mapping is given for {n!r}, which is not a mapped layer"
                                         for n in unknown]))
    plans = []
    for index, node in enumerate(layers):
        mapping = mappings[node.name]
        problems = check_mapping(node.workload, arch, mapping)
        if problems:
            raise ScheduleError(f"layer {node.name!r}: invalid mapping on {arch.name}: " + "; ".join(problems))
        stem = f"{LAYER_DIR}/{index:03d}_{sanitise(node.name)}"
        plans.append(LayerPlan(
            name=node.name, workload=node.workload, mapping=mapping,
            buffers=plan_buffers(node.name, node.workload, mapping, arch),
            cost=to_json(evaluate(node.workload, arch, mapping)),
            status=statuses.get(node.name, LayerStatus()),
            files=LayerFiles(program=f"{stem}.program.json", loopnest=f"{stem}.loopnest.txt")))
    return Schedule(arch=arch, graph=graph, layers=tuple(plans), model=_model_ref(model_path))


def _model_ref(model_path: str | Path | None) -> ModelRef | None:
    """Name, sha256 and absolute path of the compiled ONNX file (None when not compiled from a file)."""
    if model_path is None:
        return None
    path = Path(model_path).resolve()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:
        raise ScheduleError(f"{path}: cannot read the model file to record its sha256 ({err})") from None
    return ModelRef(name=path.name, sha256=digest, path=str(path))
