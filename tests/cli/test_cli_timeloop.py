"""`accelmap evaluate` and `accelmap arch import` on published Timeloop inputs."""
from __future__ import annotations

import json
from pathlib import Path

from accelmap.arch import load_arch
from accelmap.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "timeloop" / "fixtures"
EYERISS = FIXTURES / "eyeriss256_vgg"


def test_evaluate_reproduces_timeloop_access_counts(capsys):
    code = main(["evaluate", "--arch", str(EYERISS / "arch.yaml"), "--ert", str(EYERISS / "ert.yaml"),
                 "--workload", str(EYERISS / "problem.yaml"), "--mapping", str(EYERISS / "mapping.yaml"),
                 "--pricing", "max-action", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    dram = next(level for level in doc["levels"] if level["level"] == "DRAM")
    # Timeloop's stats for this exercise: DRAM Weights reads 132120576, Inputs reads 79822848.
    assert dram["tensors"]["Weights"]["reads"] == 132_120_576
    assert dram["tensors"]["Inputs"]["reads"] == 79_822_848
    assert doc["macs"] == 59_190_018_048


def test_evaluate_with_timeloop_v03_units_is_within_one_percent(capsys):
    code = main(["evaluate", "--arch", str(EYERISS / "arch.yaml"), "--ert", str(EYERISS / "ert.yaml"),
                 "--workload", str(EYERISS / "problem.yaml"), "--mapping", str(EYERISS / "mapping.yaml"),
                 "--pricing", "max-action", "--bandwidth-unit", "bytes", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    # Timeloop v0.3's stats for this exercise: 243.666 mJ (243665876844.54 pJ), 333971456 cycles.
    assert abs(doc["energy_pj"] / 243_665_876_844.54 - 1) < 0.01
    assert abs(doc["cycles"] / 333_971_456 - 1) < 0.01


def test_arch_import_writes_loadable_yaml(tmp_path, capsys):
    target = tmp_path / "imported.yaml"
    code = main(["arch", "import", str(EYERISS / "arch.yaml"), str(EYERISS / "ert.yaml"), "-o", str(target)])
    capsys.readouterr()
    assert code == 0
    arch = load_arch(target)
    assert arch.peak_macs_per_cycle == 256
    assert [level.name for level in arch.levels][:2] == ["DRAM", "GlobalBuffer"]


def test_evaluate_bad_mapping_file_is_bad_input(tmp_path, capsys):
    bad = tmp_path / "map.yaml"
    bad.write_text("mapping:\n  - target: NoSuchLevel\n    type: temporal\n    factors: R=1\n")
    code = main(["evaluate", "--arch", str(EYERISS / "arch.yaml"), "--ert", str(EYERISS / "ert.yaml"),
                 "--workload", str(EYERISS / "problem.yaml"), "--mapping", str(bad)])
    _, err = capsys.readouterr()
    assert code == 2
    assert "mapping[0].target" in err and "Traceback" not in err
