"""`evaluate_timeloop`: any arch source, a Timeloop mapping, and the JSON it reports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from accelmap.arch import load_arch
from accelmap.errors import ArchError
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops
from accelmap.mapper.model import evaluate
from accelmap.interop.timeloop.evaluate import evaluate_timeloop

FIXTURES = Path(__file__).parent / "fixtures"

# A Timeloop mapping written by hand against the `eyeriss` preset's own level names.
PRESET_MAPPING = """
mapping:
  - {target: DRAM, type: temporal, factors: M=2 C=2, permutation: CM}
  - {target: GLB, type: temporal, factors: Q=7, permutation: Q}
  - {target: GLB, type: spatial, factors: P=7 M=2 R=3, permutation: MPR, split: 2}
  - {target: GLB, type: datatype, keep: [Inputs, Outputs], bypass: [Weights]}
  - {target: PE, type: temporal, factors: S=3 C=2, permutation: SC}
"""


def test_a_preset_with_a_hand_written_timeloop_mapping(tmp_path):
    (tmp_path / "m.yaml").write_text(PRESET_MAPPING)
    workload = make_workload(k=4, c=4, p=7, q=7, r=3, s=3)
    result = evaluate_timeloop("eyeriss", workload, tmp_path / "m.yaml")
    expected = Mapping(
        temporal=((Loop("K", 2), Loop("C", 2)), (Loop("Q", 7),), (Loop("C", 2), Loop("S", 3))),
        spatial=(SpatialLoops(x=(Loop("P", 7), Loop("K", 2)), y=(Loop("R", 3),)),),
        keep=(frozenset("WIO"), frozenset("IO"), frozenset("WIO")))
    assert result.mapping == expected
    assert result.cost == evaluate(workload, load_arch("eyeriss"), expected)
    assert result.energy_pj == result.cost.energy / 1000 and result.cycles == result.cost.cycles


def test_to_json_is_plain_json_with_both_vocabularies():
    folder = FIXTURES / "conv1d_oc_2level"
    result = evaluate_timeloop(folder / "arch.yaml", folder / "problem.yaml", folder / "mapping_tiled.yaml",
                               folder / "ert.yaml", pricing="max-action")
    doc = json.loads(json.dumps(result.to_json()))
    assert doc["arch"] == "arch" and doc["workload"] == "K=32 P=16 R=3"
    assert (doc["cycles"], doc["macs"], doc["utilisation"]) == (1536, 1536, 1.0)
    assert doc["energy_pj"] == pytest.approx(8070.016)
    buffer = doc["levels"][1]
    assert buffer["level"] == "Buffer"
    assert buffer["tensors"]["Outputs"] == {
        "instances": 1, "reads": 512, "fills": 0, "updates": 1536, "first_writes": 512, "overwrites": 0,
        "rmw": 1024,
        "drains": 512, "timeloop_reads": 1024, "timeloop_fills": 0, "timeloop_updates": 1536, "energy_pj": 1290.24}
    assert doc["mapping"]["temporal"] == [[["K", 16], ["P", 16]], [["K", 2], ["R", 3]]]


def test_an_ert_with_an_accelmap_arch_is_refused():
    folder = FIXTURES / "conv1d_1level"
    with pytest.raises(ArchError, match="an ERT prices a Timeloop architecture"):
        evaluate_timeloop("eyeriss", folder / "problem.yaml", folder / "mapping.yaml", folder / "ert.yaml")


def test_an_arch_object_and_per_action_pricing(tmp_path):
    folder = FIXTURES / "eyeriss256_vgg"
    per_action = evaluate_timeloop(folder / "arch.yaml", folder / "problem.yaml", folder / "mapping.yaml",
                                   folder / "ert.yaml")
    again = evaluate_timeloop(per_action.arch, per_action.workload, folder / "mapping.yaml")
    assert again.cost == per_action.cost
    max_action = evaluate_timeloop(folder / "arch.yaml", folder / "problem.yaml", folder / "mapping.yaml",
                                   folder / "ert.yaml", pricing="max-action")
    assert per_action.energy_pj < max_action.energy_pj          # GlobalBuffer writes cost 21.134, not 26.493
    assert per_action.cost.traffic == max_action.cost.traffic   # pricing changes energies, never counts
