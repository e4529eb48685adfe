"""Timeloop problem and mapping YAMLs read into a Workload and a Mapping; bad files name key paths."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from accelmap.interop.timeloop import import_timeloop_arch
from accelmap.errors import MappingError
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapping import Loop, SpatialLoops
from accelmap.interop.timeloop.evaluate import evaluate_timeloop
from accelmap.interop.timeloop.mapping import load_timeloop_mapping, mapping_from_timeloop
from accelmap.interop.timeloop.problem import load_timeloop_problem, workload_from_timeloop

FIXTURES = Path(__file__).parent / "fixtures"
EYERISS = FIXTURES / "eyeriss256_vgg"


@pytest.fixture(scope="module")
def eyeriss():
    """The exercise-06 arch and problem, and its mapping file as a document."""
    arch = import_timeloop_arch(EYERISS / "arch.yaml", EYERISS / "ert.yaml", pricing="max-action")
    return arch, load_timeloop_problem(EYERISS / "problem.yaml"), yaml.safe_load((EYERISS / "mapping.yaml").read_text())


def mapping_problems(doc, arch, workload) -> list[str]:
    """What a malformed mapping document reports."""
    with pytest.raises(MappingError) as err:
        mapping_from_timeloop(doc, arch, workload, "m.yaml")
    return err.value.problems


def problem_problems(doc) -> list[str]:
    """What a malformed problem document reports."""
    with pytest.raises(MappingError) as err:
        workload_from_timeloop(doc, "p.yaml")
    return err.value.problems


def test_cnn_layer_problem_with_shape_strides_and_m():
    assert load_timeloop_problem(EYERISS / "problem.yaml") == make_workload(n=16, k=512, c=256, p=56, q=56,
                                                                            r=3, s=3)
    doc = yaml.safe_load((EYERISS / "problem.yaml").read_text())
    doc["problem"]["shape"]["dimensions"][1] = "M"
    doc["problem"]["shape"]["data-spaces"][0]["projection"][1] = [["M"]]
    doc["problem"]["shape"]["data-spaces"][2]["projection"][1] = [["M"]]
    del doc["problem"]["instance"]["K"]
    doc["problem"]["instance"].update({"M": 64, "Wstride": 2, "Hdilation": 3})
    workload = workload_from_timeloop(doc, "p.yaml")
    assert (workload.bound("K"), workload.stride, workload.dilation) == (64, (2, 1), (1, 3))


def test_problem_without_shape_is_timeloops_cnn_layer():
    # AlexNet layer 1 as the v0.2 problems list it (bounds and strides straight under `problem`)
    doc = {"problem": {"C": 3, "M": 96, "R": 11, "S": 11, "P": 55, "Q": 55, "N": 1, "Wstride": 4, "Hstride": 4}}
    assert workload_from_timeloop(doc, "p.yaml") == make_workload(k=96, c=3, r=11, s=11, p=55, q=55,
                                                                  stride=(4, 4))


def test_conv1d_shape_leaves_the_other_dims_at_one():
    assert load_timeloop_problem(FIXTURES / "conv1d_1level" / "problem.yaml") == make_workload(r=3, p=16)


def test_bad_problems_name_the_key():
    assert problem_problems({"problem": {"C": 3, "Z": 4, "P": 0}}) == [
        "p.yaml: problem.Z: not a dim of the shape (C, K, N, P, Q, R, S; Timeloop's M is K) nor a coefficient "
        "(Wstride, Hstride, Wdilation, Hdilation)",
        "p.yaml: problem.P: expected a positive integer, got 0"]
    doc = yaml.safe_load((EYERISS / "problem.yaml").read_text())
    doc["problem"]["shape"]["data-spaces"][0]["projection"][0] = [["P"]]
    doc["problem"]["shape"]["dimensions"].append("X")
    doc["problem"]["shape"]["data-spaces"][1]["projection"][2] = [["R", "Wdilation"], ["P", "Speed"]]
    found = problem_problems(doc)
    assert any(p.startswith("p.yaml: problem.shape.dimensions[7]: dim 'X' is not a CNN-layer dim") for p in found)
    assert "p.yaml: problem.shape.data-spaces[0].projection[0]: [['P']] is not one of the CNN layer's " \
        "indices of Weights" in found
    assert "p.yaml: problem.shape.data-spaces[1].projection[2]: [['R', 'Wdilation'], ['P', 'Speed']] is not " \
        "one of the CNN layer's indices of Inputs" in found
    assert problem_problems([1, 2]) == ["p.yaml: problem: expected a 'problem:' mapping"]


def test_permutations_are_inner_to_outer_and_split_sends_the_first_dims_to_x(eyeriss):
    arch, workload, doc = eyeriss
    mapping = mapping_from_timeloop(doc, arch, workload, "m.yaml")
    assert mapping.temporal[0] == (Loop("Q", 14), Loop("N", 8), Loop("K", 4), Loop("C", 32))
    assert mapping.temporal[1] == (Loop("K", 2), Loop("N", 2), Loop("P", 56))
    assert mapping.spatial == (SpatialLoops(x=(Loop("K", 4), Loop("Q", 4))),
                               SpatialLoops(y=(Loop("K", 2), Loop("C", 2), Loop("S", 3))))
    assert [sorted(k) for k in mapping.keep] == [["I", "O", "W"], ["I", "O"], [], ["I"], ["W"], ["O"]]


def test_numeric_targets_zero_factors_and_default_split(eyeriss):
    arch, workload, doc = eyeriss
    doc = yaml.safe_load(yaml.safe_dump(doc))
    doc["mapping"][0]["target"] = 5                      # Timeloop's storage id: 0 is innermost, 5 DRAM
    doc["mapping"][4]["factors"] = "R=0 C=4"             # 0: the whole bound; unlisted dims are 1
    del doc["mapping"][2]["split"]                       # default: every dim on X
    mapping = mapping_from_timeloop(doc, arch, workload, "m.yaml")
    assert mapping.temporal[0][0] == Loop("Q", 14)
    assert mapping.temporal[4] == (Loop("R", 3), Loop("C", 4))
    assert mapping.spatial[0].x == (Loop("K", 4), Loop("Q", 4))


def test_bad_mappings_name_the_directive(eyeriss):
    arch, workload, doc = eyeriss
    doc = yaml.safe_load(yaml.safe_dump(doc))
    doc["mapping"][0]["permutation"] = "CKN"             # Q14 left unordered
    doc["mapping"][1]["factors"] = "P=56 K=2 N=2 banana"
    doc["mapping"][3]["target"] = "Dummy"
    doc["mapping"][4]["type"] = "spatial"                # WeightRegFile has no fanout below
    doc["mapping"][6]["keep"] = ["Weights", "Psums"]
    assert mapping_problems(doc, arch, workload) == [
        "m.yaml: mapping[0].permutation: 'CKN' does not order Q, whose factor here is 14",
        "m.yaml: mapping[1].factors: cannot read 'banana'; write factors as 'R=3 S=1 P=7'",
        "m.yaml: mapping[3].target: no level 'Dummy'; levels are DRAM, GlobalBuffer, DummyBuffer, "
        "InputRegFile, WeightRegFile, PsumRegFile",
        "m.yaml: mapping[4].target: level WeightRegFile has no spatial fanout below it",
        "m.yaml: mapping[6].keep[1]: 'Psums' is not a data space (Weights, Inputs, Outputs)"]
    assert mapping_problems({"mapping": "none"}, arch, workload) == ["m.yaml: mapping: expected a list of directives"]


def test_factors_must_cover_the_problem(eyeriss):
    arch, workload, doc = eyeriss
    doc = yaml.safe_load(yaml.safe_dump(doc))
    doc["mapping"][5]["factors"] = "K=4"
    doc["mapping"].append({"target": "PsumRegFile", "type": "temporal", "factors": "K=2"})
    assert mapping_problems(doc, arch, workload) == [
        "m.yaml: mapping[12]: a second temporal directive for PsumRegFile"]
    doc["mapping"].pop()
    assert mapping_problems(doc, arch, workload) == [
        "m.yaml: mapping: the factors of K over all levels multiply to 256, the problem's bound is 512"]


def test_a_mapping_that_breaks_the_mapspace_rules_is_rejected_with_the_file(tmp_path):
    doc = yaml.safe_load((EYERISS / "mapping.yaml").read_text())
    doc["mapping"][0]["factors"] = "Q=14 C=32 K=1 N=8"
    doc["mapping"][5]["factors"] = "K=32"                 # a 32-word psum tile in a 16-word register file
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(MappingError) as err:
        evaluate_timeloop(EYERISS / "arch.yaml", EYERISS / "problem.yaml", path, EYERISS / "ert.yaml")
    assert f"{path}: level PsumRegFile: tensor O needs 512 bits, the level has 256" in err.value.problems
    assert f"{path}: level WeightRegFile: tensor W needs 6144 bits, the level has 3072" in err.value.problems


def test_unreadable_files_are_mapping_errors(tmp_path, eyeriss):
    arch, workload, _ = eyeriss
    with pytest.raises(MappingError, match="cannot read the file"):
        load_timeloop_mapping(tmp_path / "missing.yaml", arch, workload)
    (tmp_path / "bad.yaml").write_text("mapping: [\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_timeloop_problem(tmp_path / "bad.yaml")
