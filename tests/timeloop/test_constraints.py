"""Timeloop constraints read into accelmap's constraints (and written back), ART areas, `arch import`."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from accelmap.arch import render_arch
from accelmap.arch.spec import LevelConstraint
from accelmap.cli import main
from accelmap.errors import ArchError
from accelmap.interop.timeloop import (constraints_to_timeloop, import_timeloop_design, load_timeloop_mapping,
                                       load_timeloop_problem)
from accelmap.mapper.slots import slots
from accelmap.mapper.validity import check_mapping

ISPASS = Path(__file__).parent / "fixtures" / "eyeriss_ispass"


def ispass(**kwargs):
    """The ISPASS 2020 Eyeriss-like design with its ERT, ART and row-stationary constraints."""
    return import_timeloop_design(ISPASS / "arch.yaml", ISPASS / "ERT.yaml", art_yaml_path=ISPASS / "ART.yaml",
                                  constraints=(ISPASS / "constraints.yaml",), **kwargs)


def level_constraint(arch, name: str) -> LevelConstraint:
    return next(c for c in arch.level_constraints if c.level == name)


def test_ispass_eyeriss_constraints_become_accelmap_constraints():
    design = ispass()
    arch = design.arch
    assert design.notes == ()
    assert [lv.name for lv in arch.levels] == ["DRAM", "shared_glb", "inter_PE_column_spatial", "inter_PE_spatial",
                                               "ifmap_spad", "weights_spad", "psum_spad"]
    assert [lv.storage for lv in arch.levels] == [True, True, False, False, True, True, True]
    glb = level_constraint(arch, "shared_glb")
    assert (glb.keep, glb.bypass, glb.innermost_loops) == ({"I", "O"}, {"W"}, ("N",))
    weights = level_constraint(arch, "weights_spad")
    assert weights.keep == {"W"} and weights.bypass == {"I", "O"}
    assert weights.factors == {"N": 1, "K": 1, "P": 1, "Q": 1, "S": 1}
    # NMPQSCR, inner to outer: R outermost, then C; the listed dims are all the loops there.
    assert weights.innermost_loops == ("R", "C", "S", "Q", "P", "K", "N")
    psum = level_constraint(arch, "psum_spad")
    assert psum.factors == dict.fromkeys("NCRSPQ", 1) and psum.keep == {"O"}
    columns, rows = arch.fanouts
    assert (columns.x, columns.y, rows.x, rows.y) == (14, 1, 1, 12)
    assert columns.x_dims == {"N", "C", "P", "R", "S", "Q", "K"}        # split 7: every listed dim on X
    assert rows.x_dims == {"N", "P", "Q", "R"} and rows.y_dims == {"S", "C", "K", "G"}  # split 4
    fixed = {c.fanout: c for c in arch.fanout_constraints}
    assert fixed["inter_PE_column_spatial_fanout"].x_factors == dict.fromkeys("NCPRS", 1)
    assert fixed["inter_PE_spatial_fanout"].x_factors == dict.fromkeys("NPQR", 1)


def test_ispass_eyeriss_areas_and_accounting():
    arch = ispass().arch
    areas = {lv.name: lv.area for lv in arch.levels}
    assert areas["shared_glb"] == pytest.approx(429751.88776) and areas["weights_spad"] == pytest.approx(25279.63872)
    assert arch.compute.area == 417.0
    expected = 429751.88776 + 1.0 + 14 * 1.0 + 168 * (1620.69936 + 25279.63872 + 2145.41936 + 417.0)
    assert arch.area == pytest.approx(expected)
    assert arch.accounting.psum_writes == "update" and arch.accounting.drain_reads
    assert not ispass(timeloop_accounting=True).arch.accounting.drain_reads
    shown = render_arch(arch)
    assert "area: 5.38 mm²" in shown and "keep I O; bypass W" in shown


def test_timeloop_mapping_of_the_design_keeps_its_constraints():
    arch = ispass().arch
    workload = load_timeloop_problem(ISPASS / "problem.yaml")
    mapping = load_timeloop_mapping(ISPASS / "timeloop-mapper.map.yaml", arch, workload)
    assert check_mapping(workload, arch, mapping) == []
    unrolled = mapping.spatial[1]
    assert {loop.dim for loop in unrolled.y} <= {"S", "C", "K"} and not unrolled.x


def test_constraints_written_back_read_the_same(tmp_path):
    arch = ispass().arch
    text = constraints_to_timeloop(arch)
    (tmp_path / "c.yaml").write_text(text)
    again = import_timeloop_design(ISPASS / "arch.yaml", ISPASS / "ERT.yaml",
                                   constraints=(tmp_path / "c.yaml",)).arch
    assert {c.level: c for c in again.level_constraints} == {c.level: c for c in arch.level_constraints}
    assert again.fanouts == arch.fanouts                                  # x_dims / y_dims from permutation + split
    wide = [slot for slot, cap in slots(arch).caps.items() if cap > 1]
    assert {s: slots(again).constrained.get(s) for s in wide} == {s: slots(arch).constrained.get(s) for s in wide}


def design(tmp_path, targets: list[dict], key: str = "architecture_constraints", **kwargs):
    """Import the ISPASS arch with `targets` as its only constraints."""
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({key: {"targets": targets}}))
    return import_timeloop_design(ISPASS / "arch.yaml", ISPASS / "ERT.yaml", constraints=(path,), **kwargs)


@pytest.mark.parametrize("factors, expected", [
    ("M=4 C<=8 P>=2", ({"K": 4}, {"C": 8}, {"P": 2})),
    ("M4,C1", ({"K": 4, "C": 1}, {}, {})),
    (["M=0", "Q<=7"], ({"K": 0}, {"Q": 7}, {})),
])
def test_factor_forms(tmp_path, factors, expected):
    arch = design(tmp_path, [{"target": "shared_glb", "type": "temporal", "factors": factors}]).arch
    c = level_constraint(arch, "shared_glb")
    assert (c.factors, c.max_factors, c.min_factors) == expected


def test_other_spellings_target_id_attributes_nested_datatype(tmp_path):
    targets = [{"target": 2, "type": "datatype", "keep": ["Weights"], "bypass": ["Inputs", "Outputs"]},
               {"name": "shared_glb", "constraints": [{"type": "temporal", "attributes": {"permutation": "PQ"}}]}]
    arch = design(tmp_path, targets).arch
    assert level_constraint(arch, "ifmap_spad").keep == {"W"}          # id 2: third from the innermost
    assert level_constraint(arch, "shared_glb").innermost_loops == ("Q", "P")


def test_spatial_factors_on_a_one_axis_fanout_need_no_split(tmp_path):
    arch = design(tmp_path, [{"target": "inter_PE_spatial", "type": "spatial", "factors": "C=3 S<=3"}]).arch
    (c,) = arch.fanout_constraints
    assert (c.fanout, c.y_factors, c.y_max_factors, c.x_factors) == ("inter_PE_spatial_fanout", {"C": 3}, {"S": 3}, {})


@pytest.mark.parametrize("target, message", [
    ({"target": "psum_spad", "type": "utilization", "min": 0.5}, "'utilization' on psum_spad cannot be expressed"),
    ({"target": "shared_glb", "type": "no_multicast", "keep": ["Inputs"]}, "'no_multicast' on shared_glb"),
    ({"target": "shared_glb", "type": "temporal", "no_reuse": ["Inputs"]},
     "no_reuse' (target shared_glb, type temporal) cannot be expressed"),
    ({"target": "psum_spad", "type": "spatial", "factors": "M=2"}, "psum_spad has no spatial fanout below it"),
    ({"target": "inter_PE_spatial", "type": "spatial", "permutation": "CM", "split": 3},
     "which of N, G, P, Q, R, S go to X is Timeloop's search choice"),
    ({"target": "nowhere", "type": "temporal"}, "no storage level 'nowhere'"),
    ({"target": "shared_glb", "type": "temporal", "factors": "Z=2"}, "'Z' (target shared_glb) is not a dim"),
    ({"target": "inter_PE_spatial", "type": "bypass", "keep": ["Inputs"]}, "holds no data (buffer-less)"),
    ({"target": "shared_glb", "type": "bypass", "keep": ["Psums"]}, "'Psums' (target shared_glb) is not a data space"),
])
def test_what_accelmap_cannot_express_is_refused(tmp_path, target, message):
    with pytest.raises(ArchError) as err:
        design(tmp_path, [target])
    assert any(message in p and "c.yaml: architecture_constraints.targets[0]" in p for p in err.value.problems), \
        err.value.problems


def test_two_values_for_one_factor_are_a_conflict(tmp_path):
    with pytest.raises(ArchError, match="factors K of shared_glb is given twice"):
        design(tmp_path, [{"target": "shared_glb", "type": "temporal", "factors": "M=2"},
                          {"target": "shared_glb", "type": "temporal", "factors": "M=4"}])


def test_mapspace_constraints_only_when_asked(tmp_path):
    targets = [{"target": "shared_glb", "type": "temporal", "factors": "M=2"}]
    left_out = design(tmp_path, targets, key="mapspace_constraints")
    assert left_out.arch.level_constraints == ()
    assert "mapspace_constraints not imported" in left_out.notes[0]
    path = tmp_path / "c.yaml"
    taken = import_timeloop_design(ISPASS / "arch.yaml", ISPASS / "ERT.yaml", mapspace_constraints=(path,))
    assert level_constraint(taken.arch, "shared_glb").factors == {"K": 2}
    assert "imported as architecture constraints" in taken.notes[0]


def test_v04_component_constraints_and_disabled_components(tmp_path):
    doc = yaml.safe_load((ISPASS / "arch.yaml").read_text())
    local = doc["architecture"]["subtree"][0]["local"]
    local[1]["constraints"] = {"dataspace": {"keep": ["Inputs"], "bypass": ["Weights", "Outputs"]},
                               "temporal": {"factors": ["M=1"], "permutation": ["C", "P"]}}
    local[3]["enabled"] = False
    (tmp_path / "arch.yaml").write_text(yaml.safe_dump(doc))
    arch = import_timeloop_design(tmp_path / "arch.yaml", ISPASS / "ERT.yaml").arch
    glb = level_constraint(arch, "shared_glb")
    assert (glb.keep, glb.factors, glb.innermost_loops) == ({"I"}, {"K": 1}, ("P", "C"))
    assert "inter_PE_spatial" not in [lv.name for lv in arch.levels]
    assert [(f.x, f.y) for f in arch.fanouts] == [(14, 12)]


def test_cli_imports_the_whole_design(tmp_path, capsys):
    out = tmp_path / "ey.yaml"
    code = main(["arch", "import", str(ISPASS / "arch.yaml"), str(ISPASS / "ERT.yaml"), "--art",
                 str(ISPASS / "ART.yaml"), "--constraints", str(ISPASS / "constraints.yaml"), "-o", str(out)])
    assert code == 0
    assert main(["arch", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "level weights_spad: factors N=1 K=1 P=1 Q=1 S=1" in shown and "area: 5.38 mm²" in shown
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"architecture_constraints": {"targets": [
        {"target": "psum_spad", "type": "utilization", "min": 0.5}]}}))
    assert main(["arch", "import", str(ISPASS / "arch.yaml"), str(ISPASS / "ERT.yaml"), "--constraints",
                 str(bad)]) == 2
    assert "'utilization' on psum_spad cannot be expressed" in capsys.readouterr().err
