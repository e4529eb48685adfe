"""The functional executor: runs an OUTDIR, and only an OUTDIR (DESIGN rule 2).

Host ops run through the IR's interpreter and host kernels; each mapped layer runs its
loop program (read and checked by `run.program`) against simulated memories
(`run.runner.LayerRun`), which counts the words it moves across the DRAM
boundary so that they can be held against the cost model's prediction stored
beside them (DESIGN rule 3).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelmap.backend.outdir.load import load_schedule
from accelmap.backend.outdir.schedule import LayerPlan, Schedule
from accelmap.backend.run.program import read_program
from accelmap.backend.run.runner import LayerRun, TensorCounts
from accelmap.errors import ScheduleError
from accelmap.ir.graph import Node
from accelmap.ir.interpreter import run_graph
from accelmap.ir.kernels import apply_post_ops
from accelmap.ir.workload import DIMS, Workload


@dataclass(frozen=True)
class LayerCounts:
    """What one mapped layer's program moved, per tensor, at its DRAM boundary."""

    layer: str
    tensors: dict[str, TensorCounts]


@dataclass(frozen=True)
class ExecResult:
    """The graph outputs by name, and the per-layer counts by layer name."""

    outputs: dict[str, np.ndarray]
    layers: dict[str, LayerCounts]


def execute(out_dir: str | Path, feeds: dict[str, np.ndarray]) -> ExecResult:
    """Run the schedule in `out_dir` on `feeds` (graph input name -> array), after checking all of it."""
    out_dir = Path(out_dir)
    return run_schedule(out_dir, load_schedule(out_dir), feeds)


def run_schedule(out_dir: Path, schedule: Schedule, feeds: dict[str, np.ndarray]) -> ExecResult:
    """Run `schedule`, loaded from `out_dir` by `load_schedule`, whose loop programs it reads."""
    layers: dict[str, LayerCounts] = {}

    def mapped(node: Node, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        output, counts = run_mapped(out_dir, schedule, schedule.layer(node.name), node, x, w)
        layers[node.name] = LayerCounts(node.name, counts)
        return output

    outputs = run_graph(schedule.graph, feeds, mapped)
    return ExecResult(outputs, layers)


def run_mapped(out_dir: Path, schedule: Schedule, plan: LayerPlan, node: Node, x: np.ndarray,
               w: np.ndarray) -> tuple[np.ndarray, dict[str, TensorCounts]]:
    """One mapped layer: operands to canonical DRAM tensors, the loop program, then post-ops on the output.

    Memories and arithmetic use the operands' dtype, as the interpreter does.
    """
    wl, layout = plan.workload, node.layout
    dtype = np.result_type(x, w)
    program = read_program(out_dir, plan, schedule.arch)
    pads = tuple(getattr(layout, "pads", (0, 0, 0, 0)))
    if program.pads != pads:
        raise ScheduleError(f"layer {plan.name!r}: {plan.files.program}: zero_padding: {list(program.pads)}, the "
                            f"layer's node pads its input by {list(pads)}")
    dram = {"I": _pad(layout.to_input(x, wl), program.shapes["I"], dtype),
            "W": _pad(layout.to_weights(w, wl), program.shapes["W"], dtype),
            "O": np.zeros(program.shapes["O"], dtype)}
    counts = LayerRun(program, dram).run()
    o = dram["O"][tuple(slice(0, n) for n in wl.tensor_shape("O"))]
    return apply_post_ops(layout.from_output(o, wl), node.post_ops, schedule.graph.constants), counts


def padded_workload(workload: Workload, bounds: dict[str, int]) -> Workload:
    """`workload` with its bounds raised to a mapping's padded ones."""
    return Workload(tuple((d, bounds[d]) for d in DIMS), workload.stride, workload.dilation, workload.kind,
                    workload.weights_from_activations)


def _pad(array: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """`array` zero-extended at the end of each dim to `shape` (DRAM holds the padding)."""
    out = np.zeros(shape, dtype)
    out[tuple(slice(0, n) for n in array.shape)] = array
    return out
