"""Timeloop export: problem / architecture / ERT / mapping files, and the round trip back through import."""
from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from accelmap.arch import load_arch
from accelmap.arch.spec import Arch
from accelmap.interop.timeloop import import_timeloop_arch
from accelmap.interop.timeloop import arch_to_timeloop, mapping_to_timeloop, problem_to_timeloop, timeloop_files
from accelmap.errors import MappingError
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate
from accelmap.interop.timeloop.evaluate import evaluate_timeloop
from accelmap.interop.timeloop.mapping import load_timeloop_mapping
from accelmap.interop.timeloop.problem import load_timeloop_problem, workload_from_timeloop

FIXTURES = Path(__file__).parent / "fixtures"
WORKLOADS = [make_workload(k=8, c=6, p=6, q=5, r=3, s=3, stride=(2, 1)),
             make_workload(n=2, g=2, k=16, c=8, p=4, q=4, dilation=(1, 2), r=1, s=2)]


def write(folder: Path, files: dict[str, str]) -> Path:
    """Write exported files into `folder`."""
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def timeloop_expressible(arch: Arch) -> Arch:
    """`arch` without what Timeloop files cannot carry: hop energy, per-tensor DRAM energies, a
    read-modify-write that is not a read plus a write."""
    dram = arch.levels[0]
    dearest = max(dram.tensors.values(), key=lambda cost: cost.read_energy)
    levels = (replace(dram, tensors={t: dearest for t in dram.tensors}), *arch.levels[1:])
    levels = tuple(replace(lv, tensors={t: replace(c, update_energy=c.read_energy + c.write_energy)
                                        for t, c in lv.tensors.items()}) for lv in levels)
    return replace(arch, levels=levels, fanouts=tuple(replace(f, hop_energy=0) for f in arch.fanouts))


@pytest.mark.parametrize("case, mapping", [("eyeriss256_vgg", "mapping.yaml"),
                                           ("conv1d_spatial", "mapping_cp.yaml"),
                                           ("conv1d_1level", "mapping.yaml")])
def test_timeloop_files_round_trip_to_the_same_arch_mapping_and_cost(tmp_path, case, mapping):
    folder = FIXTURES / case
    arch = import_timeloop_arch(folder / "arch.yaml", folder / "ert.yaml", pricing="max-action")
    workload = load_timeloop_problem(folder / "problem.yaml")
    original = load_timeloop_mapping(folder / mapping, arch, workload)
    write(tmp_path, timeloop_files(workload, arch, original))
    again = evaluate_timeloop(tmp_path / "arch.yaml", tmp_path / "problem.yaml", tmp_path / "mapping.yaml",
                              tmp_path / "ert.yaml")
    assert replace(again.arch, description=arch.description) == arch
    assert again.workload == workload
    assert again.mapping == original
    assert again.cost == evaluate(workload, arch, original)


@pytest.mark.parametrize("preset", ["eyeriss", "simba", "gemmini", "tpu_v1", "edge_npu"])
def test_preset_mappings_round_trip_to_the_same_cost(tmp_path, preset):
    """Partitions become stacked components, 2-D fanouts an X and a Y stage: same traffic, same cost."""
    arch = timeloop_expressible(load_arch(preset))
    rng = random.Random(7)
    for workload in WORKLOADS:
        space = Mapspace(workload, arch)
        for _ in range(4):
            mapping = space.sample(rng)
            cost = evaluate(workload, arch, mapping)
            write(tmp_path, timeloop_files(workload, arch, mapping))
            again = evaluate_timeloop(tmp_path / "arch.yaml", tmp_path / "problem.yaml",
                                      tmp_path / "mapping.yaml", tmp_path / "ert.yaml")
            assert (again.cost.energy, again.cycles, again.macs) == (cost.energy, cost.cycles, cost.macs)


def test_problem_keeps_each_stride_with_its_dim_and_writes_g():
    workload = WORKLOADS[1]
    doc = yaml.safe_load(problem_to_timeloop(workload))
    assert doc["problem"]["shape"]["dimensions"] == ["R", "S", "P", "Q", "C", "M", "N", "G"]
    assert doc["problem"]["instance"] == {"R": 1, "S": 2, "P": 4, "Q": 4, "C": 8, "M": 16, "N": 2, "G": 2,
                                          "Wstride": 1, "Hstride": 1, "Wdilation": 1, "Hdilation": 2}
    assert doc["problem"]["shape"]["data-spaces"][1]["projection"][3] == [["R", "Wdilation"], ["P", "Wstride"]]
    for w in WORKLOADS:
        assert workload_from_timeloop(yaml.safe_load(problem_to_timeloop(w)), "p.yaml") == w


def test_padded_mapping_exports_its_padded_bounds():
    workload = make_workload(k=7, c=4)
    mapping = Mapping(temporal=((Loop("K", 8), Loop("C", 4)),), spatial=(), keep=(frozenset("WIO"),),
                      padded=(("K", 8),))
    text = problem_to_timeloop(workload, mapping)
    assert text.startswith("# K: the mapping pads 7 to 8\n")
    assert yaml.safe_load(text)["problem"]["instance"]["M"] == 8


def test_mapping_lists_every_dim_inner_to_outer_with_split():
    arch = import_timeloop_arch(FIXTURES / "eyeriss256_vgg" / "arch.yaml", FIXTURES / "eyeriss256_vgg" / "ert.yaml")
    workload = load_timeloop_problem(FIXTURES / "eyeriss256_vgg" / "problem.yaml")
    mapping = load_timeloop_mapping(FIXTURES / "eyeriss256_vgg" / "mapping.yaml", arch, workload)
    entries = yaml.safe_load(mapping_to_timeloop(workload, arch, mapping))["mapping"]
    assert entries[0] == {"target": "DRAM", "type": "temporal", "factors": "R=1 S=1 P=1 Q=14 C=32 M=4 N=8",
                          "permutation": "CMNQRSP"}
    spatial = [e for e in entries if e["type"] == "spatial"]
    assert spatial == [
        {"target": "GlobalBuffer", "type": "spatial", "factors": "R=1 S=1 P=1 Q=4 C=1 M=4 N=1",
         "permutation": "QMRSPCN", "split": 2},
        {"target": "DummyBuffer", "type": "spatial", "factors": "R=1 S=3 P=1 Q=1 C=2 M=2 N=1",
         "permutation": "SCMRPQN", "split": 0}]
    assert {"target": "GlobalBuffer", "type": "datatype", "keep": ["Inputs", "Outputs"],
            "bypass": ["Weights"]} in entries


def test_two_loops_over_one_dim_at_a_level_cannot_be_written():
    arch = load_arch("eyeriss")
    workload = make_workload(k=4)
    mapping = Mapping(temporal=((Loop("K", 2), Loop("K", 2)), (), ()), spatial=(SpatialLoops(),),
                      keep=(frozenset("WIO"), frozenset(), frozenset()))
    with pytest.raises(MappingError, match="DRAM: a temporal level has two loops over one dim"):
        mapping_to_timeloop(workload, arch, mapping)


def test_what_timeloop_cannot_carry_is_listed_in_the_architecture_file():
    text = arch_to_timeloop(load_arch("edge_npu"))
    notes = [line for line in text.splitlines() if line.startswith("# accelmap:")]
    assert notes == [
        "# accelmap: level DRAM: W, I, O differ in word width or energy; written as the largest",
        "# accelmap: level SRAM: tensors with different word widths or energies are separate components, "
        "each given the whole shared capacity",
        "# accelmap: level SRAM: each of its components gets the level's bandwidth",
        "# accelmap: level RF: tensors with different word widths or energies are separate components, "
        "each given the whole shared capacity",
        "# accelmap: fanout PE_array: hop_energy 1.0 pJ is not carried (Timeloop prices its own network)",
        "# accelmap: level DRAM: update_energy of W, I, O is not read + write; Timeloop prices a read-modify-write "
        "as a read plus a write",
        "# accelmap: level SRAM: update_energy of W, I, O is not read + write; Timeloop prices a read-modify-write "
        "as a read plus a write",
        "# accelmap: level RF: update_energy of W, I, O is not read + write; Timeloop prices a read-modify-write "
        "as a read plus a write"]
    assert not [line for line in arch_to_timeloop(timeloop_expressible(load_arch("eyeriss"))).splitlines()
                if line.startswith("#")]
