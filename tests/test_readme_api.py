"""The README's library-API example runs as written."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_api_example_runs(tmp_path, monkeypatch, capsys):
    text = README.read_text()
    block = re.search(r"## Library API\s+```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACCELMAP_CACHE", str(tmp_path / "cache"))
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out.split()
    assert out[0] in ("OPTIMAL", "FEASIBLE")
    assert int(out[1]) >= int(out[2])  # objective >= a bound that holds
    assert out[-1] == "True"  # validation passed
    assert (tmp_path / "out" / "r18" / "schedule.json").exists()
