"""Sweep specs: every bad field is named before any work starts; sampling and design arch YAMLs."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelmap.arch import load_arch
from accelmap.errors import SweepSpecError
from accelmap.sweep import load_spec
from accelmap.sweep.designs import check_designs, choose, design_yaml
from accelmap.sweep.spec import Axis, Sample

from .helpers import write_spec


def problems_of(tmp_path, **fields) -> list[str]:
    with pytest.raises(SweepSpecError) as caught:
        check_designs(load_spec(write_spec(tmp_path / "s.yaml", **fields)))
    return caught.value.problems


def test_the_tiny_spec_makes_four_designs_with_the_values_applied(tiny_dir):
    spec = load_spec(tiny_dir / "spec.yaml")
    designs = check_designs(spec)
    assert [d.id for d in designs] == ["d0", "d1", "d2", "d3"]
    assert [d.labels for d in designs] == [("2x2", "16B"), ("2x2", "64B"), ("4x4", "16B"), ("4x4", "64B")]
    assert [(d.arch.fanouts[0].x, d.arch.fanouts[0].y, d.arch.levels[2].capacity_bits) for d in designs] == [
        (2, 2, 128), (2, 2, 512), (4, 4, 128), (4, 4, 512)]
    base = load_arch("edge_npu")
    assert designs[3].arch == replace(base, fanouts=(replace(base.fanouts[0], x=4, y=4),),
                                      levels=base.levels[:2] + (replace(base.levels[2], capacity_bits=512),))


def test_unknown_axis_key_is_named_with_a_suggestion(tmp_path, tiny_dir):
    (tmp_path / "tiny.onnx").write_bytes((tiny_dir / "tiny.onnx").read_bytes())
    found = problems_of(tmp_path, axes={"glb": {"key": "levels.SRAMM.capacity", "values": ["8KB"]},
                                        "mac": {"key": "compute.mac_energy", "values": [0.2]}})
    assert found == ["axes.glb.key: levels.SRAMM.capacity: levels has no entry 'SRAMM'; did you mean 'SRAM'?"]


def test_value_that_makes_an_invalid_arch_names_axis_value_and_field(tmp_path, tiny_dir):
    (tmp_path / "tiny.onnx").write_bytes((tiny_dir / "tiny.onnx").read_bytes())
    found = problems_of(tmp_path, axes={"mesh": {"key": "fanouts.PE_array.meshX", "values": [4, 0, "wide"]}})
    assert len(found) == 2
    assert found[0].startswith("axes.mesh.values[0]: the arch it makes is invalid: fanouts[0].meshX:")
    assert found[1].startswith("axes.mesh.values[wide]: the arch it makes is invalid: fanouts[0].meshX:")


def test_a_new_key_at_an_existing_place_is_checked_by_the_arch_checker(tmp_path, tiny_dir):
    (tmp_path / "tiny.onnx").write_bytes((tiny_dir / "tiny.onnx").read_bytes())
    found = problems_of(tmp_path, axes={"glb": {"key": "levels.SRAM.capacty", "values": ["8KB"]}})
    assert len(found) == 1 and "levels[1].capacty: unknown key; did you mean 'capacity'?" in found[0]


@pytest.mark.parametrize("fields, expected", [
    ({"axes": {}}, "axes: empty; give at least one axis to vary"),
    ({"axes": {"rf": {"key": "levels.RF.capacity", "values": []}}}, "axes.rf.values: empty; give at least one value"),
    ({"axes": {"rf": {"key": "levels.RF.capacity"}}}, "axes.rf.values: missing required key"),
    ({"axes": {"m": {"keys": ["fanouts.PE_array.meshX", "fanouts.PE_array.meshY"], "values": [[2, 2], [3]]}}},
     "axes.m.values[1]: the axis sets 2 keys; expected a list of 2 values, got [3]"),
    ({"axes": {"rf": {"key": "levels.RF.capacity", "valuse": ["8B"]}}}, "axes.rf.valuse: unknown key; did you mean 'values'?"),
    ({"objectives": ["energy", "latncy"]}, "objectives[1]: unknown objective 'latncy'; did you mean 'latency'?"),
    ({"models": ["resnet19"]}, "models[0]: 'resnet19' is neither a file nor a bundled network"),
    ({"arch": "eyeris"}, "arch: unknown preset 'eyeris'; did you mean 'eyeriss'?"),
    ({"sample": {"method": "random"}}, "sample.count: missing; say how many designs random sampling draws"),
    ({"sample": {"method": "sobol", "count": 3}}, "sample.method: unknown sampling method 'sobol'"),
    ({"search": {"time_limit": 0}}, "search.time_limit: expected a positive number, got 0"),
    ({"axis": {}}, "axis: unknown key; did you mean 'axes'?"),
])
def test_bad_spec_fields_are_named(tmp_path, tiny_dir, fields, expected):
    (tmp_path / "tiny.onnx").write_bytes((tiny_dir / "tiny.onnx").read_bytes())
    found = problems_of(tmp_path, **fields)
    assert any(p.startswith(expected) for p in found), found


def test_a_bad_combination_names_the_design(tmp_path, tiny_dir):
    (tmp_path / "tiny.onnx").write_bytes((tiny_dir / "tiny.onnx").read_bytes())
    # Each value is valid alone; a fixed spatial factor of 8 does not fit the 4-wide mesh of design d0.
    found = problems_of(tmp_path, axes={
        "mesh": {"key": "fanouts.PE_array.meshX", "values": [4, 8]},
        "df": {"key": "constraints", "values": {"free": [], "k8": [{"fanout": "PE_array", "x_factors": {"K": 8}}]}}})
    assert found and all(p.startswith("design d1 (mesh=4, df=k8): the arch it makes is invalid:") for p in found)


def test_empty_sample_is_refused(tmp_path, tiny_dir):
    (tmp_path / "tiny.onnx").write_bytes((tiny_dir / "tiny.onnx").read_bytes())
    found = problems_of(tmp_path, sample={"method": "random", "count": 0})
    assert found == ["sample.count: expected a positive integer, got 0"]


def test_design_yaml_compiles_to_the_same_arch(tiny_dir, tmp_path):
    spec = load_spec(tiny_dir / "spec.yaml")
    design = check_designs(spec)[2]
    path = tmp_path / "d2.yaml"
    path.write_text(design_yaml(design, spec))
    assert path.read_text().startswith("# Design d2 of sweep 'spec': mesh=4x4, rf=16B")
    assert load_arch(path) == replace(design.arch, name="d2")


SIZES = st.lists(st.integers(1, 5), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(sizes=SIZES, count=st.integers(1, 40), seed=st.integers(0, 5))
def test_random_and_latin_hypercube_samples(sizes, count, seed):
    axes = tuple(Axis(f"a{i}", ("k",), tuple(map(str, range(n))), tuple((v,) for v in range(n)))
                 for i, n in enumerate(sizes))
    grid = choose(axes, Sample())
    assert len(grid) == len(set(grid)) == __import__("math").prod(sizes)
    drawn = choose(axes, Sample("random", count, seed))
    assert drawn == choose(axes, Sample("random", count, seed))          # seeded
    assert len(drawn) == len(set(drawn)) == min(count, len(grid)) and set(drawn) <= set(grid)
    lhs = choose(axes, Sample("latin-hypercube", count, seed))
    assert len(lhs) == len(set(lhs)) and set(lhs) <= set(grid)
    if len(lhs) == count:                                                  # no repeated point was dropped
        for i, n in enumerate(sizes):
            uses = Counter(point[i] for point in lhs)
            # Every value of every axis is drawn count/n times, rounded either way.
            assert max(uses.values()) - min(uses.get(v, 0) for v in range(n)) <= 1 or count < n
