"""Timeloop interoperability: Timeloop's files read into accelmap's objects and written from them.

One module per file kind, each with its reader and its writer: `problem`
(Workload), `arch` (Arch), `ert` (energies and areas: ERT and ART),
`constraints` (dataflow constraints), `mapping` (Mapping); `names` holds
Timeloop's names once, `components` how an Arch is laid out as Timeloop
components, `evaluate` scores a Timeloop mapping with accelmap's cost model.
docs/timeloop.md is the user's guide.
"""
from __future__ import annotations

from accelmap.arch.spec import Arch
from accelmap.interop.timeloop.arch import ImportedDesign, arch_to_timeloop, import_timeloop_arch, import_timeloop_design
from accelmap.interop.timeloop.constraints import constraints_to_timeloop
from accelmap.interop.timeloop.ert import ert_to_timeloop
from accelmap.interop.timeloop.evaluate import EvaluateResult, evaluate_timeloop
from accelmap.interop.timeloop.mapping import load_timeloop_mapping, mapping_to_timeloop
from accelmap.interop.timeloop.problem import load_timeloop_problem, problem_to_timeloop
from accelmap.ir.workload import Workload
from accelmap.mapper.mapping import Mapping


def timeloop_files(workload: Workload, arch: Arch, mapping: Mapping) -> dict[str, str]:
    """The four Timeloop files of one mapped layer, by suggested file name, as `timeloop-model` reads them."""
    return {"problem.yaml": problem_to_timeloop(workload, mapping),
            "arch.yaml": arch_to_timeloop(arch), "ert.yaml": ert_to_timeloop(arch),
            "mapping.yaml": mapping_to_timeloop(workload, arch, mapping)}


__all__ = ["EvaluateResult", "ImportedDesign", "arch_to_timeloop", "constraints_to_timeloop", "ert_to_timeloop",
           "evaluate_timeloop", "import_timeloop_arch", "import_timeloop_design",
           "load_timeloop_mapping", "load_timeloop_problem", "mapping_to_timeloop", "problem_to_timeloop",
           "timeloop_files"]
