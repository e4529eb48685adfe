"""Arch YAML: presets load and render with the papers' numbers; bad files get every problem by key path."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml

from accelmap.arch import build_arch, check_arch, list_presets, load_arch, render_arch
from accelmap.errors import ArchError

PRESETS = ["edge_npu", "eyeriss", "gemmini", "simba", "tpu_v1"]
DATAFLOW_DIR = Path(__file__).resolve().parents[2] / "accelmap" / "arch" / "presets" / "dataflows"
DATAFLOWS = ["no_local_reuse", "output_stationary", "row_stationary", "weight_stationary"]
KB = 8 * 1024  # bits


def small_arch() -> dict:
    """A valid three-level arch document that each bad-input test breaks in one place."""
    return {
        "description": "test arch",
        "levels": [
            {"name": "DRAM", "word-bits": 16, "read_energy": 200.0, "write_energy": 200.0},
            {"name": "GLB", "capacity": "64KB", "word-bits": 16, "read_energy": 6.0, "write_energy": 6.0},
            {"name": "PE", "depth": 16, "width": 16, "word-bits": 16, "read_energy": 1.0,
             "write_energy": 1.0},
        ],
        "fanouts": [{"name": "array", "parent": "GLB", "meshX": 4, "meshY": 2}],
        "compute": {"mac_energy": 1.0},
    }


def problems_of(tmp_path: Path, doc: dict | str) -> list[str]:
    """Write `doc` as a YAML file, load it, and return the problems the ArchError carries."""
    path = tmp_path / "arch.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ArchError) as err:
        load_arch(path)
    assert err.value.source == str(path)
    return err.value.problems


# --- presets and dataflow examples -------------------------------------------------------------


def test_list_presets_names_every_preset_with_a_description():
    presets = dict(list_presets())
    assert sorted(presets) == PRESETS
    assert "Eyeriss" in presets["eyeriss"] and "108 KB" in presets["eyeriss"]
    assert all(description and "\n" not in description for description in presets.values())


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_renders_and_is_valid_raw_yaml(name):
    arch = load_arch(name)
    raw = yaml.safe_load((DATAFLOW_DIR.parent / f"{name}.yaml").read_text())
    assert check_arch(raw) == []
    assert build_arch(raw, name) == arch
    text = render_arch(arch)
    assert text.startswith(f"{name}: ")
    assert f"peak {arch.peak_macs_per_cycle} MACs/cycle" in text
    for level in arch.levels:
        assert level.name in text


def test_eyeriss_numbers():
    arch = load_arch("eyeriss")
    assert arch.peak_macs_per_cycle == 168 and arch.num_pes == 168
    assert [level.name for level in arch.levels] == ["DRAM", "GLB", "PE"]
    assert arch.instances(2) == 168
    assert arch.levels[0].tensors["W"].read_energy == 200_000  # fJ
    glb, pe = arch.levels[1], arch.levels[2]
    assert glb.capacity_bits == 108 * KB and glb.keeps == {"I", "O"}
    assert glb.tensors["I"].read_energy == 6_000
    assert {p.name: p.capacity_bits for p in pe.partitions} == {
        "filter_spad": 224 * 16, "ifmap_spad": 12 * 16, "psum_spad": 24 * 16}
    assert pe.usable_bits("W") == 224 * 16 and pe.usable_bits("O") == 24 * 16
    fanout = arch.fanout_below(1)
    assert (fanout.x, fanout.y, fanout.hop_energy) == (14, 12, 2_000)
    assert fanout.multicast and fanout.reduction
    assert fanout.y_dims == {"R", "C", "K"}
    assert arch.compute.mac_energy == 1_000 and arch.clock_mhz == 200
    text = render_arch(arch)
    for expected in ("peak 168 MACs/cycle", "PE (x168)", "GLB (x1): 108 KB", "224 words", "12 words",
                     "24 words", "read 200.000 pJ", "14 x 12 = 168 children", "hop 2.000 pJ",
                     "multicast, reduction", "level PE: factors S=0"):
        assert expected in text, expected


def test_simba_numbers():
    arch = load_arch("simba")
    assert arch.num_pes == 256 and len(arch.fanouts) == 2
    names = [level.name for level in arch.levels]
    assert arch.instances(names.index("PE")) == 16
    assert arch.instances(names.index("weight_reg")) == 256
    pe = arch.levels[names.index("PE")]
    assert {p.name: p.capacity_bits for p in pe.partitions} == {
        "weight_buffer": 32 * KB, "input_buffer": 8 * KB, "accumulation_buffer": 3 * KB}
    assert pe.tensors["O"].word_bits == 24 and pe.tensors["W"].word_bits == 8
    assert arch.levels[0].tensors["O"].read_energy == 300_000
    text = render_arch(arch)
    assert "O  24-bit  1024 words" in text and "weight_reg (x256)" in text


def test_gemmini_numbers():
    arch = load_arch("gemmini")
    assert arch.peak_macs_per_cycle == 256
    scratchpad, accumulator, pe = arch.levels[1:]
    assert scratchpad.capacity_bits == 256 * KB and scratchpad.keeps == {"W", "I"}
    assert accumulator.capacity_bits == 64 * KB and accumulator.tensors["O"].word_bits == 32
    assert pe.usable_bits("W") == 8 and arch.instances(3) == 256
    assert arch.fanouts[0].x_dims == {"C", "R", "S"} and arch.fanouts[0].y_dims == {"K"}
    assert "O  32-bit  16384 words" in render_arch(arch)


def test_tpu_v1_numbers():
    arch = load_arch("tpu_v1")
    assert arch.peak_macs_per_cycle == 65_536 and arch.clock_mhz == 700
    levels = {level.name: level for level in arch.levels}
    assert levels["unified_buffer"].capacity_bits == 24 * 1024 * KB
    assert levels["accumulators"].capacity_bits == 4 * 1024 * KB
    assert levels["accumulators"].usable_bits("O") == 2 * 1024 * KB
    assert levels["weight_fifo"].capacity_bits == 256 * KB
    assert "256 x 256 = 65536 children" in render_arch(arch)


def test_edge_npu_numbers():
    arch = load_arch("edge_npu")
    assert arch.num_pes == 64 and arch.levels[1].capacity_bits == 64 * KB
    assert arch.levels[2].capacity_bits == 64 * 8 and arch.instances(2) == 64
    assert arch.fanouts[0].x_dims is None and arch.level_constraints == ()
    assert "constraints: none" in render_arch(arch)


@pytest.mark.parametrize("name", DATAFLOWS)
def test_every_dataflow_example_loads_by_path_and_renders(name):
    arch = load_arch(DATAFLOW_DIR / f"{name}.yaml")
    assert arch.name == name
    assert f"peak {arch.peak_macs_per_cycle} MACs/cycle" in render_arch(arch)


def test_dataflows_are_constraint_sets():
    ws = load_arch(DATAFLOW_DIR / "weight_stationary.yaml")
    os_ = load_arch(DATAFLOW_DIR / "output_stationary.yaml")
    assert ws.level_constraints[0].keep == {"W"} and ws.level_constraints[0].bypass == {"I", "O"}
    assert os_.level_constraints[0].keep == {"O"} and not os_.fanouts[0].reduction
    rs = load_arch(DATAFLOW_DIR / "row_stationary.yaml")
    assert [level.storage for level in rs.levels] == [True, True, False, True]
    assert rs.instances(2) == 8 and rs.instances(3) == 32 and rs.num_pes == 32
    assert rs.fanouts[1].y_dims == {"R", "C", "K"} and rs.fanouts[1].x_dims == frozenset()
    nlr = load_arch(DATAFLOW_DIR / "no_local_reuse.yaml")
    assert not nlr.levels[-1].storage and nlr.levels[-1].keeps == frozenset()
    assert "PE (x64): no storage" in render_arch(nlr)


# --- building: units and capacity forms ----------------------------------------------------------


def test_build_converts_pj_to_integer_fj_and_reads_every_capacity_form():
    doc = small_arch()
    doc["levels"][1].update({"read_energy": {"W": 0.3, "I": 1.2345, "O": 6}, "update_energy": 7.5})
    doc["levels"][2] = {"name": "PE", "depth": 16, "block-size": 2, "word-bits": {"W": 8, "I": 8, "O": 8},
                        "read_energy": 1.0, "write_energy": 2.0}
    assert check_arch(doc) == []
    arch = build_arch(doc, "t")
    glb, pe = arch.levels[1], arch.levels[2]
    assert glb.tensors["W"].read_energy == 300 and glb.tensors["I"].read_energy == 1234
    assert glb.tensors["O"].update_energy == 7_500
    assert pe.tensors["W"].update_energy == 2_000  # update defaults to write
    assert glb.capacity_bits == 64 * KB and pe.capacity_bits == 16 * 2 * 8
    assert arch.levels[0].capacity_bits is None and arch.clock_mhz == 1000.0
    assert arch.fanouts[0].x_dims is None and arch.num_pes == 8


def test_depth_times_width_and_constraints_are_built():
    doc = small_arch()
    doc["constraints"] = [
        {"level": "GLB", "factors": {"K": 0}, "permutation": ["K", "C"], "keep": ["I"], "bypass": ["W"]},
        {"fanout": "array", "x_dims": ["C"], "y_dims": ["K", "P"], "x_factors": {"C": 4}},
    ]
    arch = build_arch(doc, "t")
    assert arch.levels[2].capacity_bits == 16 * 16
    (level,) = arch.level_constraints
    assert (level.factors, level.permutation) == ({"K": 0}, ("K", "C"))
    assert (level.keep, level.bypass) == ({"I"}, {"W"})
    (fanout,) = arch.fanout_constraints
    assert fanout.x_factors == {"C": 4} and fanout.y_factors == {}
    assert arch.fanouts[0].x_dims == {"C"} and arch.fanouts[0].y_dims == {"K", "P"}


# --- bad input: every problem, by key path ----------------------------------------------------


def test_unknown_key_gets_did_you_mean(tmp_path):
    doc = small_arch()
    doc["levels"][1]["capcity"] = doc["levels"][1].pop("capacity")
    doc["fanouts"][0]["meshy"] = doc["fanouts"][0].pop("meshY")
    doc["levl"] = []
    problems = problems_of(tmp_path, doc)
    assert "levels[1].capcity: unknown key; did you mean 'capacity'?" in problems
    assert "fanouts[0].meshy: unknown key; did you mean 'meshY'?" in problems
    assert "levl: unknown key; did you mean 'levels'?" in problems


def test_wrong_types(tmp_path):
    doc = small_arch()
    doc["levels"][2]["word-bits"] = "sixteen"
    doc["levels"][1]["read_energy"] = "cheap"
    doc["fanouts"][0]["multicast"] = "sometimes"
    doc["levels"][1]["capacity"] = 64
    assert problems_of(tmp_path, doc) == [
        "levels[1].read_energy: expected a number, got 'cheap'",
        "levels[1].capacity: expected a size such as '108KB' or '24MiB', got 64",
        "levels[2].word-bits: expected an integer, got 'sixteen'",
        "fanouts[0].multicast: expected true or false, got 'sometimes'",
    ]


def test_negative_and_zero_sizes(tmp_path):
    doc = small_arch()
    doc["levels"][2]["depth"] = -4
    doc["fanouts"][0]["meshX"] = 0
    doc["levels"][1]["write_energy"] = -6.0
    assert problems_of(tmp_path, doc) == [
        "levels[1].write_energy: expected a non-negative number, got -6.0",
        "levels[2].depth: expected a positive integer, got -4",
        "fanouts[0].meshX: expected a positive integer, got 0",
    ]


def test_fanout_naming_a_missing_level(tmp_path):
    doc = small_arch()
    doc["fanouts"][0]["parent"] = "GBL"
    assert problems_of(tmp_path, doc) == ["fanouts[0].parent: no level named 'GBL'; did you mean 'GLB'?"]


def test_missing_required_keys(tmp_path):
    doc = small_arch()
    del doc["levels"][1]["word-bits"]
    del doc["levels"][2]["write_energy"]
    del doc["fanouts"][0]["meshX"]
    del doc["compute"]
    assert problems_of(tmp_path, doc) == [
        "levels[1].word-bits: missing required key",
        "levels[2].write_energy: missing required key",
        "fanouts[0].meshX: missing required key",
        "compute: missing required key",
    ]


def test_missing_capacity_on_an_on_chip_level(tmp_path):
    doc = small_arch()
    del doc["levels"][1]["capacity"]
    (problem,) = problems_of(tmp_path, doc)
    assert problem.startswith("levels[1].capacity: missing; give capacity (e.g. '64KB')")


def test_contradictory_constraints(tmp_path):
    doc = small_arch()
    doc["levels"][1]["tensors"] = ["I", "O"]
    doc["constraints"] = [
        {"level": "PE", "keep": ["W"], "bypass": ["W", "I"], "permutation": ["K", "C", "K"]},
        {"level": "GLB", "keep": ["W"]},
        {"fanout": "array", "x_dims": ["C"], "x_factors": {"K": 2}, "y_factors": {"P": 4}},
    ]
    assert problems_of(tmp_path, doc) == [
        "constraints[0].permutation[2]: dim 'K' is listed twice",
        "constraints[0].bypass: tensor 'W' is also in keep; a level either keeps or bypasses a tensor",
        "constraints[1].keep: tensor 'W' is not among level 'GLB''s tensors [I, O]",
        "constraints[2].x_factors.K: dim K is fixed on X but x_dims allows only [C]",
        "constraints[2].y_factors: factors multiply to 4, more than the 2 PEs on Y of fanout 'array'",
    ]


def test_constraints_naming_missing_things(tmp_path):
    doc = small_arch()
    doc["constraints"] = [
        {"level": "GBL", "factors": {"M": 2}},
        {"fanout": "arary", "y_dims": ["Z"]},
        {"level": "PE", "keep": ["Weights"]},
        {"factors": {"K": 1}},
    ]
    assert problems_of(tmp_path, doc) == [
        "constraints[0].level: no level named 'GBL'; did you mean 'GLB'?",
        "constraints[0].factors.M: unknown dim 'M'; did you mean 'K'?",
        "constraints[1].fanout: no fanout named 'arary'; did you mean 'array'?",
        "constraints[1].y_dims[0]: unknown dim 'Z'; expected one of N, G, K, C, P, Q, R, S",
        "constraints[2].keep[0]: unknown tensor 'Weights'; did you mean 'W'?",
        "constraints[3]: give exactly one of 'level' (temporal) or 'fanout' (spatial)",
    ]


def test_structural_problems(tmp_path):
    doc = small_arch()
    doc["levels"][0]["tensors"] = ["W", "I"]
    doc["levels"][2] = {"name": "GLB", "storage": False, "depth": 4}
    doc["fanouts"].append({"name": "array2", "parent": "GLB", "meshX": 2})
    doc["constraints"] = [{"level": "DRAM", "bypass": ["W"]}]
    assert problems_of(tmp_path, doc) == [
        "levels[0].tensors: the outermost level (DRAM) must hold every tensor; missing O",
        "levels[2].depth: a level with storage: false holds no data; remove this key",
        "levels[2].name: 'GLB' already names levels[1]",
        "fanouts[1].parent: level 'GLB' already fans out through 'array'; "
        "a level has at most one fanout below it",
        "constraints[0].bypass: the outermost level 'DRAM' must keep every tensor",
    ]


def test_partition_and_capacity_form_problems(tmp_path):
    doc = small_arch()
    doc["levels"][1].update({"word-bits": {"W": 8, "I": 8, "O": 32}, "depth": 64, "block-size": 4})
    del doc["levels"][1]["capacity"]
    doc["levels"][2] = {"name": "PE", "word-bits": 16, "tensors": ["W", "I", "O"], "read_energy": 1.0,
                        "write_energy": 1.0, "partitions": [
                            {"name": "a", "tensors": ["W", "I"], "depth": 4, "width": 32, "block-size": 4},
                            {"name": "b", "tensors": ["I"], "capacity": "1KB"}]}
    assert problems_of(tmp_path, doc) == [
        "levels[1].block-size: its tensors have different word-bits (8, 32); give width in bits instead",
        "levels[2].partitions[0].width: 32 bits per row disagrees with block-size 4 x word-bits 16 = 64",
        "levels[2].partitions[1].tensors: tensor 'I' is already in partitions[0]",
        "levels[2].partitions: tensor 'O' is in no partition",
    ]


def test_a_file_with_several_errors_reports_all_of_them(tmp_path):
    doc = small_arch()
    doc["levels"][1]["capcity"] = doc["levels"][1].pop("capacity")
    doc["levels"][2]["word-bits"] = "sixteen"
    doc["fanouts"][0]["parent"] = "nowhere"
    doc["compute"]["mac_energy"] = -1
    doc["constraints"] = [{"level": "PE", "keep": ["W"], "bypass": ["W"]}]
    problems = problems_of(tmp_path, doc)
    assert [p.split(":")[0] for p in problems] == [
        "levels[1].capcity", "levels[1].capacity", "levels[2].word-bits", "fanouts[0].parent",
        "compute.mac_energy", "constraints[0].bypass"]
    with pytest.raises(ArchError, match=r"6 problem\(s\)"):
        load_arch(tmp_path / "arch.yaml")


def test_not_a_mapping_bad_yaml_and_duplicate_keys(tmp_path):
    assert problems_of(tmp_path, "- just\n- a list\n") == [
        "(top level): expected a mapping of keys, got ['just', 'a list']"]
    (problem,) = problems_of(tmp_path, "levels: [\n")
    assert problem.startswith("not valid YAML: line 2")
    (problem,) = problems_of(tmp_path, "compute: {mac_energy: 1}\ncompute: {mac_energy: 2}\n")
    assert problem == "not valid YAML: line 2, column 1: duplicate key 'compute'"


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ArchError) as err:
        load_arch("eyeris")
    (problem,) = err.value.problems
    assert err.value.source == "eyeris"
    assert "did you mean 'eyeriss'?" in problem
    assert "Presets: " + ", ".join(PRESETS) in problem


def test_missing_file_is_an_arch_error(tmp_path):
    with pytest.raises(ArchError, match="no such file"):
        load_arch(tmp_path / "absent.yaml")


def test_check_does_not_mutate_and_valid_documents_have_no_problems():
    doc = small_arch()
    before = copy.deepcopy(doc)
    assert check_arch(doc) == []
    assert doc == before


# --- robustness: any edit of a valid document is either reported or builds ---------------------


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every key / index path inside a nested YAML document."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    found = []
    for key, child in children:
        found.append(prefix + (key,))
        found += _paths(child, prefix + (key,))
    return found


ODD_VALUES = [None, -1, 0, 1, 2.5, True, "x", "GLB", "W", "1KB", [], ["W", "W"], ["K"], {}, {"W": 8}]
EDIT_BASES = [small_arch()] + [yaml.safe_load((DATAFLOW_DIR.parent / f"{name}.yaml").read_text())
                               for name in ("eyeriss", "simba", "tpu_v1")]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_edited_documents_are_reported_or_build(data):
    doc = copy.deepcopy(data.draw(st.sampled_from(EDIT_BASES)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc) or [("levels",)]))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES)))
    problems = check_arch(doc)
    assert all(isinstance(problem, str) and ": " in problem for problem in problems)
    if not problems:
        render_arch(build_arch(doc, "edited"))


def test_the_documented_example_loads(tmp_path):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "arch-format.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example)
    arch = load_arch(path)
    assert arch.peak_macs_per_cycle == 168 and arch.levels[1].capacity_bits == 108 * KB
