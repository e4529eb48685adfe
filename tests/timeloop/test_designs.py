"""Public Timeloop exercise designs (tests/timeloop/fixtures/*/README.md) imported whole and checked against Timeloop.

For each design: `accelmap arch import` reads its architecture, ERT, ART
(where it ships one) and constraints, and `accelmap arch show` renders the
result; with the bundled Timeloop v3.0.3 (skipped when absent), the mapping
accelmap finds for a small conv, exported, scores in `timeloop-model` what
accelmap's model says in Timeloop's accounting (within 0.1%), and the one
`timeloop-mapper` finds on the design's own files scores the same in both.
"""
from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from accelmap.arch import load_arch
from accelmap.cli import main
from accelmap.errors import ArchError
from accelmap.interop.timeloop import (import_timeloop_design, load_timeloop_problem, mapping_to_timeloop,
                                       problem_to_timeloop, timeloop_files)
from accelmap.interop.timeloop.peer import map_and_compare, run_timeloop
from accelmap.ir.workload import Workload, make_workload
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate
from accelmap.mapper.solve import map_workload
from accelmap.mapper.validity import check_mapping

from .test_peer import TIMELOOP, needs_timeloop

FIXTURES = Path(__file__).parent / "fixtures"
CONV = make_workload(k=16, c=8, p=8, q=8, r=3, s=3)
GROUPED = make_workload(g=2, k=16, c=8, p=8, q=8, r=3, s=3)
"""For designs whose constraints name G: Timeloop refuses them on a problem without G, which accelmap
writes only for grouped layers."""


@dataclass(frozen=True)
class Design:
    """What the import of one fixture design must give."""

    levels: tuple[str, ...]
    fanouts: tuple[tuple[str, int, int], ...]      # (parent level, X, Y)
    instances: tuple[int, ...]
    constraints: tuple[int, int]                   # level entries, fanout entries
    shown: str                                     # one line `arch show` prints
    workload: Workload = CONV
    problem: str | None = None                     # the design's own Timeloop problem file, when it needs it
    mapper_check: str = ""                         # why timeloop-mapper's mapping is not compared, if it is not


SIMPLE = ("DRAM", "shared_glb", "inter_PE_spatial", "pe_spad", "weight_reg", "input_activation_reg",
          "output_activation_reg")
DESIGNS = {
    "eyeriss_ispass": Design(
        ("DRAM", "shared_glb", "inter_PE_column_spatial", "inter_PE_spatial", "ifmap_spad", "weights_spad",
         "psum_spad"), (("inter_PE_column_spatial", 14, 1), ("inter_PE_spatial", 1, 12)),
        (1, 1, 1, 14, 168, 168, 168), (7, 2), "area: 5.38 mm²"),
    "simple_ws": Design(SIMPLE, (("inter_PE_spatial", 16, 16),), (1, 1, 1, 256, 256, 256, 256), (7, 1),
                        "level pe_spad: innermost loops, outer to inner, the rest outside: S R Q P N; keep W; "
                        "bypass I O"),
    "simple_os": Design(SIMPLE, (("inter_PE_spatial", 16, 16),), (1, 1, 1, 256, 256, 256, 256), (7, 1),
                        "level pe_spad: innermost loops, outer to inner, the rest outside: Q P S R N; keep O; "
                        "bypass W I"),
    "eyeriss_like": Design(
        ("DRAM", "shared_glb", "inter_PE_column_spatial", "inter_PE_spatial", "ifmap_spad", "weights_spad",
         "psum_spad"), (("inter_PE_column_spatial", 14, 1), ("inter_PE_spatial", 1, 12)),
        (1, 1, 1, 14, 168, 168, 168), (7, 2), "area: 2.496 mm² (every instance of every level and MAC)"),
    "simba_like": Design(
        ("DRAM", "GlobalBuffer", "inter_PE_spatial", "PEInputBuffer", "inter_distributed_buffers_spatial",
         "PEWeightBuffer", "PEAccuBuffer", "inter_reg_mac_spatial", "PEWeightRegs"),
        (("inter_PE_spatial", 16, 1), ("inter_distributed_buffers_spatial", 1, 4), ("inter_reg_mac_spatial", 1, 4)),
        (1, 1, 1, 16, 16, 64, 64, 64, 256), (9, 3),
        "area: 181.1 mm² (every instance of every level and MAC)"),   # PEInputBuffer alone 3.7 mm² each
    "dse_2024": Design(("DRAM", "buffer", "inter_PE_spatial"), (("inter_PE_spatial", 8, 1),), (1, 1, 1), (3, 1),
                       "  fanout inter_PE_spatial_fanout: X factors N=1 P=1 Q=1 R=1 K=8 C=1", GROUPED),
    "conv1d_oc_3level": Design(
        ("MainMemory", "GlobalBuffer", "RegisterFile"), (), (1, 1, 1), (3, 0),
        "  level RegisterFile: factors R=3 P=1 K=2; innermost loops, outer to inner, the rest outside: K P R",
        load_timeloop_problem(FIXTURES / "conv1d_oc_3level" / "problem.yaml"), "problem.yaml",
        "timeloop-mapper v3.0.3 returns RegisterFile loops R outside K, against the design's RPK permutation, "
        "and Timeloop rounds the 18 input words up to a 32-word DRAM block: 2% apart (docs/timeloop.md)"),
}


def design_files(name: str) -> dict[str, Path]:
    """The fixture's files by role: arch, ERT, and ART and constraints where it has them."""
    folder = FIXTURES / name
    files = {role: folder / f"{role}.yaml" for role in ("arch", "ERT", "ART", "constraints")}
    return {role: path for role, path in files.items() if path.is_file()}


def imported(name: str, **kwargs):
    """The fixture design imported with all its files."""
    files = design_files(name)
    return import_timeloop_design(files["arch"], files["ERT"], art_yaml_path=files.get("ART"),
                                  constraints=tuple(v for k, v in files.items() if k == "constraints"), **kwargs)


@pytest.mark.parametrize("name", DESIGNS)
def test_design_imports_whole_and_shows(tmp_path, capsys, name):
    want, files = DESIGNS[name], design_files(name)
    out = tmp_path / "arch.yaml"
    argv = ["arch", "import", str(files["arch"]), str(files["ERT"]), "-o", str(out)]
    argv += ["--art", str(files["ART"])] if "ART" in files else []
    argv += ["--constraints", str(files["constraints"])]
    assert main(argv) == 0
    assert main(["arch", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert want.shown in shown
    arch = imported(name).arch
    assert load_arch(out) == arch
    assert tuple(level.name for level in arch.levels) == want.levels
    assert tuple((f.parent, f.x, f.y) for f in arch.fanouts) == want.fanouts
    assert tuple(arch.instances(i) for i in range(len(arch.levels))) == want.instances
    assert (len(arch.level_constraints), len(arch.fanout_constraints)) == want.constraints
    last = arch.fanout_below(len(arch.levels) - 1)
    assert arch.peak_macs_per_cycle == want.instances[-1] * (last.x * last.y if last else 1)
    assert f"peak {arch.peak_macs_per_cycle} MACs/cycle" in shown


@needs_timeloop
@pytest.mark.parametrize("name", DESIGNS)
def test_accelmap_mapping_exported_scores_the_same_in_timeloop_model(tmp_path, name):
    arch, workload = imported(name, timeloop_accounting=True).arch, DESIGNS[name].workload
    mapping = map_workload(workload, arch, "energy", time_limit=2.0, workers=1).mapping
    assert check_mapping(workload, arch, mapping) == []
    files = timeloop_files(workload, arch, mapping)
    for file_name, text in files.items():
        (tmp_path / file_name).write_text(text)
    stats = run_timeloop("model", TIMELOOP, tmp_path, list(files))
    cost = evaluate(workload, arch, mapping)
    assert stats.macs == cost.macs == workload.macs
    assert cost.energy / 1000 == pytest.approx(stats.energy_pj, rel=1e-3), mapping.describe()
    assert cost.cycles == stats.cycles, mapping.describe()


@needs_timeloop
@pytest.mark.parametrize("name", [n for n, d in DESIGNS.items() if d.problem is None])
def test_random_mappings_written_for_the_design_files_score_the_same_in_timeloop_model(tmp_path, name):
    """Mappings written for the design's own components (`one_stage`: a mesh is one spatial entry, X dims
    before `split`) run in timeloop-model on the design's own architecture, ERT and ART: what
    bench_timeloop_mapper scores accelmap's mappings with."""
    arch, workload = imported(name, timeloop_accounting=True).arch, DESIGNS[name].workload
    hardware = [path for role, path in design_files(name).items() if role != "constraints"]
    rng = random.Random(name)
    for n in range(2):
        mapping = Mapspace(workload, arch).sample(rng)
        folder = tmp_path / str(n)
        folder.mkdir()
        for path in hardware:
            shutil.copy(path, folder / path.name)
        (folder / "problem.yaml").write_text(problem_to_timeloop(workload, mapping))
        (folder / "mapping.yaml").write_text(mapping_to_timeloop(workload, arch, mapping, one_stage=True))
        stats = run_timeloop("model", TIMELOOP, folder, [p.name for p in hardware] + ["problem.yaml", "mapping.yaml"])
        cost = evaluate(workload, arch, mapping)
        assert stats.macs == cost.macs
        assert cost.energy / 1000 == pytest.approx(stats.energy_pj, rel=1e-3), mapping.describe()
        assert cost.cycles == stats.cycles, mapping.describe()


@needs_timeloop
@pytest.mark.parametrize("name", DESIGNS)
def test_timeloop_mapper_mapping_on_the_design_files_scores_the_same(tmp_path, name):
    want = DESIGNS[name]
    if want.mapper_check:
        pytest.skip(want.mapper_check)
    workload = want.workload
    agreement = map_and_compare(workload, FIXTURES / name, TIMELOOP, tmp_path, victory=20,
                                problem=FIXTURES / name / want.problem if want.problem else None)
    assert abs(agreement.energy_diff("timeloop")) < 1e-3
    assert agreement.cycles["timeloop"] == agreement.timeloop.cycles
    assert agreement.timeloop.macs == workload.macs


@needs_timeloop
def test_a_depthwise_conv_maps_on_a_design_that_fixes_output_channels_across_its_array(tmp_path):
    """dse_2024 fixes K=8 across its array; a depthwise conv has one output channel per group. Timeloop
    then asks for K=1 there ("exceeds problem dimension ... Setting constraint"), and so does accelmap
    (`slots.fixed_factor`): its proved optimum scores the same in timeloop-model and is no worse than
    the mapping timeloop-mapper finds on the design's own files."""
    workload = make_workload(g=16, p=8, q=8, r=3, s=3)
    arch = imported("dse_2024", timeloop_accounting=True).arch
    result = map_workload(workload, arch, "energy", time_limit=30.0, workers=1)
    assert result.status == "OPTIMAL" and check_mapping(workload, arch, result.mapping) == []
    files = timeloop_files(workload, arch, result.mapping)
    for file_name, text in files.items():
        (tmp_path / file_name).write_text(text)
    stats = run_timeloop("model", TIMELOOP, tmp_path, list(files))
    assert result.cost.energy / 1000 == pytest.approx(stats.energy_pj, rel=1e-3)
    (tmp_path / "mapper").mkdir()
    found = map_and_compare(workload, FIXTURES / "dse_2024", TIMELOOP, tmp_path / "mapper", victory=20)
    assert found.timeloop.macs == workload.macs
    assert stats.energy_pj <= found.timeloop.energy_pj * (1 + 1e-3)


def test_timeloopfe_spellings_read_as_timeloop_v3_reads_them(tmp_path):
    """timeloopfe writes `type: dataspace` (Timeloop v3.0.3 wants `bypass`) and a component `subclass`."""
    files = design_files("simple_ws")
    respelled = tmp_path / "constraints.yaml"
    respelled.write_text(files["constraints"].read_text().replace("type: bypass\n", "type: dataspace\n"))
    assert respelled.read_text().count("type: dataspace\n") == 5
    again = import_timeloop_design(files["arch"], files["ERT"], constraints=(respelled,)).arch
    arch = imported("simple_ws").arch
    assert again.level_constraints == arch.level_constraints
    assert [(c.level, c.keep, c.bypass) for c in arch.level_constraints if c.keep] == [
        ("pe_spad", frozenset("W"), frozenset("IO")), ("weight_reg", frozenset("W"), frozenset("IO")),
        ("input_activation_reg", frozenset("I"), frozenset("WO")),
        ("output_activation_reg", frozenset("O"), frozenset("WI"))]
    assert files["arch"].read_text().count("subclass: aladdin_register") == 3


def test_areas_of_megabyte_buffers_import_and_absurd_ones_are_refused(tmp_path):
    """Areas are only reported: the 3.7 mm² PEInputBuffer imports; 1e13 µm² (10 m²) is refused."""
    arch = imported("simba_like").arch
    assert arch.levels[3].area == 3717019.6775 and arch.area == pytest.approx(181148582.9825)
    files = design_files("simba_like")
    art = tmp_path / "ART.yaml"
    art.write_text(files["ART"].read_text().replace("area: 3717019.6775", "area: 10000000000000.0"))
    with pytest.raises(ArchError) as err:
        import_timeloop_design(files["arch"], files["ERT"], art_yaml_path=art)
    assert err.value.problems == ["ART.tables[5].area: expected a finite number up to 1e+12, got 10000000000000.0"]


def test_constraints_of_another_problem_shape_are_refused_naming_file_key_and_target(tmp_path):
    """The sparse tensor-core exercise's constraints are written for gemm_ABZ (data spaces A, B, Z; K the
    reduction): each item is refused with its file, key path and target, and why."""
    path = tmp_path / "gemm.yaml"
    path.write_text("architecture_constraints:\n  targets:\n"
                    "    - {target: shared_glb, type: temporal, permutation: NKM, factors: 'K=1,M<=8'}\n"
                    "    - {target: pe_spad, type: dataspace, keep: [A], bypass: [B, Z]}\n")
    files = design_files("simple_ws")
    with pytest.raises(ArchError) as err:
        import_timeloop_design(files["arch"], files["ERT"], constraints=(path,))
    found = err.value.problems
    assert len(found) == 4 and all(p.startswith(f"{path}: architecture_constraints.targets[") for p in found)
    assert "(target shared_glb) is repeated in 'NKM' (K, older files' name, and M both name the output " \
           "channels)" in found[0]
    assert [p.split(": ", 2)[1] for p in found[1:]] == ["architecture_constraints.targets[1].keep"] + \
        ["architecture_constraints.targets[1].bypass"] * 2
    assert all("(target pe_spad) is not a data space of Timeloop's CNN layer" in p and "gemm_ABZ" in p
               for p in found[1:])


def test_v04_problem_spellings_read_as_v03(tmp_path):
    """timeloopfe writes `data_spaces` / `read_write`; Timeloop v3.0.3 wants `data-spaces` / `read-write`."""
    path = FIXTURES / "conv1d_oc_3level" / "problem.yaml"
    v04 = tmp_path / "problem.yaml"
    v04.write_text(path.read_text().replace("data-spaces:", "data_spaces:").replace("read-write:", "read_write:"))
    assert load_timeloop_problem(v04) == load_timeloop_problem(path)
    assert load_timeloop_problem(path).dims == {"N": 1, "G": 1, "K": 32, "C": 1, "P": 16, "Q": 1, "R": 3, "S": 1}
