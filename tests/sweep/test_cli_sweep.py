"""`accelmap sweep`: exit codes, one clear line per problem, the JSON and text summaries."""
from __future__ import annotations

import json

from accelmap.cli import main
from accelmap.sweep import run as sweep_run
from accelmap.sweep.table import cells, columns

from .helpers import write_spec


def test_bad_spec_exits_2_naming_the_fields_and_writes_nothing(tiny_dir, tmp_path, capsys):
    spec = write_spec(tiny_dir / "bad.yaml", axes={"glb": {"key": "levels.SRAM.depht", "values": [4]}},
                      objectives=["energy", "edp", "speed"])
    code = main(["sweep", str(spec), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "objectives[2]: unknown objective 'speed'" in err and "Traceback" not in err
    spec = write_spec(tiny_dir / "bad.yaml", axes={"glb": {"key": "levels.SRAM.depht", "values": [4]}})
    assert main(["sweep", str(spec), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "axes.glb.values[4]: the arch it makes is invalid: levels[1].depht: unknown key; did you mean 'depth'?" in err
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_and_bad_numbers_exit_2(tiny_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep_run, "CONNECT_TIMEOUT", "1s")
    spec = str(tiny_dir / "spec.yaml")
    assert main(["sweep", spec, "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9", "--quiet",
                 "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler there")
    assert main(["sweep", spec, "--workers", "0"]) == 2
    assert "--workers 0: give a positive number" in capsys.readouterr().err
    assert main(["sweep", spec, "--time-limit", "-1"]) == 2


def test_json_and_text_summaries_from_a_warm_cache(reference, tiny_dir, tmp_path, capsys):
    result, table, root = reference
    args = ["sweep", str(tiny_dir / "spec.yaml"), "-o", str(tmp_path / "out"), "--in-process",
            "--cache-dir", str(root / "cache")]
    assert main(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["tasks"], doc["solved"], doc["proved"]) == (12, 0, 12)
    names = columns(("mesh", "rf"))
    assert doc["rows"] == [dict(zip(names, cells(row))) for row in result.rows]
    assert (tmp_path / "out" / "sweep.csv").read_text() == table
    assert main(args) == 0
    out = capsys.readouterr().out
    front = [r for r in result.rows if r.pareto]
    assert out.splitlines()[0].split()[:3] == ["design", "mesh", "rf"]
    assert len(out.splitlines()) == 2 + len(front) + 2
    assert "12 tasks, 12 distinct, 0 solved now (12 kept from before), 12 proved optimal" in out
