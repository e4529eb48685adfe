"""`evaluate_timeloop`: score a Timeloop mapping with accelmap's cost model (Timeloop's own use case).

The arch may be a Timeloop architecture (priced by its ERT), an accelmap arch
YAML or a preset; the workload a Timeloop problem YAML; the mapping a
Timeloop mapping YAML. The result carries accelmap's counts (reads, fills,
updates, first writes, overwrites, read-modify-writes, drains per level and
tensor, summed over instances) and, beside them, the same traffic as
`timeloop-model` v3 prints it, per instance, so its stats file can be
compared line by line:

- W, I: Timeloop reads = reads, fills = fills;
- O: Timeloop reads = read-modify-writes + overwrites (its "temporal
  reductions": Timeloop reads every update after a word's first, even where
  the level had handed the running sum down; it does not count the drains),
  updates = updates, fills = fills (Timeloop v0.3 also counted the first
  residency of a partial-sum tile, the first writes below DRAM, as a fill).

docs/timeloop.md explains where the energies differ and why.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accelmap.arch.load import load_arch
from accelmap.arch.spec import Arch
from accelmap.errors import ArchError, MappingError
from accelmap.interop.timeloop.arch import arch_from_timeloop, is_timeloop_arch
from accelmap.interop.timeloop.mapping import load_timeloop_mapping
from accelmap.interop.timeloop.names import read_yaml
from accelmap.interop.timeloop.problem import load_timeloop_problem
from accelmap.ir.workload import TENSOR_NAMES, Workload
from accelmap.mapper.counts import Counts
from accelmap.mapper.mapping import Mapping, mapping_to_dict
from accelmap.mapper.model import Cost, Traffic, evaluate
from accelmap.mapper.validity import check_mapping


@dataclass(frozen=True)
class TensorAccesses(Counts):
    """One tensor at one level: accelmap's six `Counts` (totals), drains, and Timeloop's per-instance view."""

    tensor: str
    instances: int
    drains: int
    timeloop_reads: int
    timeloop_fills: int
    timeloop_updates: int
    energy_pj: float


@dataclass(frozen=True)
class LevelAccesses:
    """One level: its tensors' accesses, energy and bandwidth-bound cycles."""

    level: str
    tensors: tuple[TensorAccesses, ...]
    energy_pj: float
    cycles: int


@dataclass(frozen=True)
class EvaluateResult:
    """What `accelmap evaluate` reports for one mapping: energy (pJ), cycles, utilisation, accesses."""

    arch: Arch
    workload: Workload
    mapping: Mapping
    cost: Cost
    energy_pj: float
    compute_energy_pj: float
    cycles: int
    compute_cycles: int
    utilisation: float
    macs: int
    levels: tuple[LevelAccesses, ...]

    def to_json(self) -> dict:
        """A JSON-ready dict (the `--json` output)."""
        return {
            "arch": self.arch.name, "workload": self.workload.describe(), "mapping": mapping_to_dict(self.mapping),
            "energy_pj": self.energy_pj, "compute_energy_pj": self.compute_energy_pj,
            "cycles": self.cycles, "compute_cycles": self.compute_cycles,
            "utilisation": self.utilisation, "macs": self.macs,
            "levels": [{"level": lv.level, "energy_pj": lv.energy_pj, "cycles": lv.cycles,
                        "tensors": {TENSOR_NAMES[a.tensor]: {k: v for k, v in vars(a).items() if k != "tensor"}
                                    for a in lv.tensors}} for lv in self.levels],
        }


def evaluate_timeloop(arch_source: Arch | str | Path, workload_source: Workload | str | Path,
                      mapping_path: str | Path, ert: str | Path | None = None, *,
                      pricing: str = "per-action", bandwidth_unit: str = "words") -> EvaluateResult:
    """Score the Timeloop mapping at `mapping_path` with accelmap's cost model.

    `arch_source`: an `Arch`, a Timeloop architecture YAML (priced by `ert`,
    see `interop.timeloop.arch` for `pricing` and `bandwidth_unit`), an accelmap arch YAML or a preset
    name. `workload_source`: a `Workload` or a Timeloop problem YAML. Raises
    `ArchError` / `MappingError` naming the file and key path of each problem,
    and `MappingError` for a mapping that breaks the mapspace's rules.
    """
    arch = _arch(arch_source, ert, pricing, bandwidth_unit)
    workload = (workload_source if isinstance(workload_source, Workload)
                else load_timeloop_problem(workload_source))
    mapping = load_timeloop_mapping(mapping_path, arch, workload)
    problems = check_mapping(workload, arch, mapping)
    if problems:
        raise MappingError([f"{mapping_path}: {p}" for p in problems])
    return result_of(workload, arch, mapping, evaluate(workload, arch, mapping))


def result_of(workload: Workload, arch: Arch, mapping: Mapping, cost: Cost) -> EvaluateResult:
    """An `EvaluateResult` for a cost the model already computed."""
    levels = tuple(
        LevelAccesses(name, tuple(_accesses(t, tr, cost.level_energy[i][t]) for t, tr in traffic.items()),
                      sum(cost.level_energy[i].values()) / 1000, cost.level_cycles[i])
        for i, (name, traffic) in enumerate(zip(cost.levels, cost.traffic)))
    return EvaluateResult(arch=arch, workload=workload, mapping=mapping, cost=cost,
                          energy_pj=cost.energy / 1000, compute_energy_pj=cost.compute_energy / 1000,
                          cycles=cost.cycles, compute_cycles=cost.compute_cycles,
                          utilisation=cost.utilisation, macs=cost.macs, levels=levels)


def _accesses(tensor: str, tr: Traffic, energy_fj: int) -> TensorAccesses:
    """accelmap's counts for one tensor at one level, and Timeloop's per-instance reading of them."""
    per = tr.instances
    if tensor == "O":
        timeloop = ((tr.rmw + tr.overwrites) // per, tr.fills // per, tr.updates // per)
    else:
        timeloop = (tr.reads // per, tr.fills // per, 0)
    return TensorAccesses(**{f: getattr(tr, f) for f in Counts.FIELDS}, tensor=tensor, instances=per, drains=tr.drains,
                          timeloop_reads=timeloop[0], timeloop_fills=timeloop[1], timeloop_updates=timeloop[2],
                          energy_pj=energy_fj / 1000)


def _arch(source: Arch | str | Path, ert: str | Path | None, pricing: str, bandwidth_unit: str) -> Arch:
    """The arch behind `source`: an Arch, a Timeloop architecture file, an accelmap file or a preset."""
    if isinstance(source, Arch):
        return source
    path = Path(source)
    doc = read_yaml(path, "architecture") if path.is_file() else None
    if is_timeloop_arch(doc):
        ert_doc = read_yaml(ert, "ERT") if ert is not None else None
        return arch_from_timeloop(doc, ert_doc, name=path.stem, source=str(source), pricing=pricing,
                                  bandwidth_unit=bandwidth_unit)
    if ert is not None:
        raise ArchError(str(source), ["an ERT prices a Timeloop architecture; this is an accelmap arch, "
                                      "whose energies are in the file: drop the ERT"])
    return load_arch(source)
