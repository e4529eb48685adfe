"""Timeloop architecture + ERT import, and accelmap's own arch YAML writer."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from accelmap.arch import list_presets, load_arch
from accelmap.arch.dump import arch_to_yaml
from accelmap.interop.timeloop.arch import arch_from_timeloop, import_timeloop_arch
from accelmap.errors import ArchError
from accelmap.mapper.model import evaluate
from accelmap.interop.timeloop import load_timeloop_mapping, load_timeloop_problem

FIXTURES = Path(__file__).parent / "fixtures"
EYERISS = FIXTURES / "eyeriss256_vgg"


def eyeriss(pricing: str = "max-action"):
    """The exercise-06 Eyeriss (v0.3 tree) priced by its ERT."""
    return import_timeloop_arch(EYERISS / "arch.yaml", EYERISS / "ert.yaml", pricing=pricing)


def problems(doc: dict, ert: dict | None = None) -> list[str]:
    """The problems an import of `doc` reports."""
    with pytest.raises(ArchError) as err:
        arch_from_timeloop(doc, ert, name="t", source="t.yaml")
    assert err.value.source == "t.yaml"
    return err.value.problems


def test_tree_levels_fanouts_and_instances():
    arch = eyeriss()
    assert [lv.name for lv in arch.levels] == ["DRAM", "GlobalBuffer", "DummyBuffer", "InputRegFile",
                                               "WeightRegFile", "PsumRegFile"]
    assert [(f.name, f.parent, f.x, f.y) for f in arch.fanouts] == [
        ("GlobalBuffer_fanout", "GlobalBuffer", 16, 1), ("DummyBuffer_fanout", "DummyBuffer", 1, 16)]
    assert [arch.instances(i) for i in range(6)] == [1, 1, 16, 256, 256, 256]
    assert arch.peak_macs_per_cycle == 256
    assert [lv.capacity_bits for lv in arch.levels] == [None, 16384 * 64, 16 * 16, 12 * 16, 192 * 16, 16 * 16]
    glb = arch.levels[1]
    assert (glb.read_bandwidth, glb.write_bandwidth, glb.keeps) == (16.0, 16.0, frozenset("WIO"))


def test_max_action_pricing_is_timeloop_v03_vector_energy_per_word():
    arch = eyeriss("max-action")
    glb, dram = arch.levels[1].tensors["O"], arch.levels[0].tensors["W"]
    assert (glb.read_energy, glb.write_energy, glb.update_energy) == (6623, 6623, 13246)  # 26.493 pJ / 4 words
    assert (dram.read_energy, dram.write_energy) == (128000, 128000)                      # 512 pJ / 4 words
    assert arch.compute.mac_energy == 1207                                                # mac_random


def test_per_action_pricing_keeps_read_and_write_apart():
    glb = eyeriss("per-action").levels[1].tensors["I"]
    assert (glb.read_energy, glb.write_energy) == (6623, 5284)                 # 26.493 / 4, 21.134 / 4
    assert glb.update_energy == round((26.493 + 21.134) / 4 * 1000)            # read + write


def test_flat_v02_form_gives_the_same_hierarchy_and_counts():
    flat = import_timeloop_arch(FIXTURES / "eyeriss256_flat" / "arch.yaml", EYERISS / "ert.yaml",
                                pricing="max-action")
    tree = eyeriss()
    assert [lv.name for lv in flat.levels] == [lv.name for lv in tree.levels]
    assert [(f.parent, f.x, f.y) for f in flat.fanouts] == [(f.parent, f.x, f.y) for f in tree.fanouts]
    assert flat.levels[2].storage is False                       # entries: 0
    assert flat.levels[1].capacity_bits == 128 * 1024 * 8        # sizeKB: 128
    assert flat.levels[0].tensors["W"].read_energy == 512000     # no block-size on this DRAM
    workload = load_timeloop_problem(EYERISS / "problem.yaml")
    counts = []
    for arch in (flat, tree):
        cost = evaluate(workload, arch, load_timeloop_mapping(EYERISS / "mapping.yaml", arch, workload))
        counts.append([{t: (tr.reads, tr.fills, tr.updates) for t, tr in level.items()} for level in cost.traffic])
    assert counts[0] == counts[1]


def test_ert_v03_lists_ranges_in_names_and_an_embedded_ert():
    doc = {"architecture": {"subtree": [{"name": "system", "local": [
        {"name": "DRAM", "class": "DRAM", "attributes": {"word-bits": 16, "block-size": 4}}],
        "subtree": [{"name": "PE[0..167]", "local": [
            {"name": "mac", "class": "intmac", "attributes": {"datawidth": 16, "meshX": 14}}]}]}]}}
    # two tables of timeloop-accelergy-exercises exercises/timeloop+accelergy/ref-output/int16/timeloop-mapper.ERT.yaml
    doc["ERT"] = {"version": 0.3, "tables": [
        {"name": "system.eyeriss.PE[0..167].mac", "actions": [
            {"name": "mac_random", "arguments": None, "energy": 2.2},
            {"name": "mac_reused", "arguments": None, "energy": 1.877}]},
        {"name": "system.DRAM", "actions": [{"name": "read", "arguments": None, "energy": 512},
                                            {"name": "write", "arguments": None, "energy": 512}]}]}
    arch = arch_from_timeloop(doc, None, name="t", source="t.yaml")
    assert arch.compute.mac_energy == 2200
    assert arch.levels[0].tensors["I"].read_energy == 128000
    assert [(f.x, f.y) for f in arch.fanouts] == [(14, 12)]


def test_vector_access_energy_stands_in_for_a_missing_ert_table():
    doc = yaml.safe_load((FIXTURES / "conv1d_spatial" / "arch.yaml").read_text())
    ert = yaml.safe_load((FIXTURES / "conv1d_spatial" / "ert.yaml").read_text())
    del ert["ERT"]["tables"]["System.Chip.PE.RegisterFile"]
    arch = arch_from_timeloop(doc, ert, name="t", source="t.yaml", pricing="max-action")
    assert arch.levels[2].tensors["W"].read_energy == 1000       # vector-access-energy: 1, block 1
    del doc["architecture"]["subtree"][0]["subtree"][0]["subtree"][0]["local"][0]["attributes"]["vector-access-energy"]
    assert problems(doc, ert) == ["architecture.subtree[0].subtree[0].subtree[0].local[0]: no energy for "
                                  "'RegisterFile': the ERT has no table for it; give the ERT Accelergy wrote "
                                  "for this architecture"]


def test_malformed_files_name_every_key_path():
    doc = yaml.safe_load((EYERISS / "arch.yaml").read_text())
    ert = yaml.safe_load((EYERISS / "ert.yaml").read_text())
    eyeriss_node = doc["architecture"]["subtree"][0]["subtree"][0]
    eyeriss_node["local"][0]["attributes"]["depth"] = "lots"
    eyeriss_node["local"][1]["class"] = "flipflop"
    eyeriss_node["subtree"][0]["local"][0]["attributes"]["meshX"] = 7
    eyeriss_node["subtree"][0]["locals"] = []
    found = problems(doc, ert)
    base = "architecture.subtree[0].subtree[0]"
    assert f"{base}.local[0].attributes.depth: expected an integer, got 'lots'" in found
    assert any(p.startswith(f"{base}.local[1].class: unknown class 'flipflop'") for p in found)
    assert f"{base}.subtree[0].local[0].attributes.meshX: 7 does not divide the 256 instances" in found
    assert any(p.startswith(f"{base}.subtree[0].locals: unknown key; did you mean 'local'?") for p in found)


def test_not_a_timeloop_document_and_bad_ert():
    assert problems({"levels": []}) == ["(top level): expected an 'architecture:' tree (Timeloop v0.3) "
                                        "or an 'arch:' section (v0.2)"]
    doc = yaml.safe_load((EYERISS / "arch.yaml").read_text())
    found = problems(doc, {"ERT": {"tables": {"System.DRAM": {"read": {"energy": "cheap"}}}}})
    assert "ERT.tables.System.DRAM.read.energy: expected a number, got 'cheap'" in found
    assert any("no energy for 'GlobalBuffer'" in p for p in found)


def test_import_reports_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("architecture: [unclosed\n")
    with pytest.raises(ArchError) as err:
        import_timeloop_arch(path)
    assert err.value.source == str(path) and "not valid YAML" in err.value.problems[0]


@pytest.mark.parametrize("name", [name for name, _ in list_presets()])
def test_arch_to_yaml_round_trips_every_preset(tmp_path, name):
    arch = load_arch(name)
    path = tmp_path / f"{name}.yaml"
    path.write_text(arch_to_yaml(arch))
    assert load_arch(path) == arch


def test_arch_to_yaml_round_trips_an_import(tmp_path):
    arch = eyeriss("per-action")
    path = tmp_path / "arch.yaml"
    path.write_text(arch_to_yaml(arch))
    assert load_arch(path) == arch
