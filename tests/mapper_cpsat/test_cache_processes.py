"""The result cache hits across processes whose string hashing differs (PYTHONHASHSEED)."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

from accelmap.api import load_arch, load_model
from accelmap.mapper.cache import cache_key
from accelmap.mapper.network import SolveSettings

KEY_SCRIPT = """
import sys
from accelmap.api import load_arch, load_model
from accelmap.mapper.cache import cache_key
from accelmap.mapper.network import SolveSettings
graph = load_model("resnet18_w8")
arch = load_arch("eyeriss")
print(cache_key(graph.layers()[1].workload, arch, SolveSettings("energy", 5.0)))
"""


def _run(args: list[str], seed: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": seed, **env_extra}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=600)


def test_cache_key_is_the_same_under_different_hash_seeds(tmp_path):
    keys = {_run(["-c", KEY_SCRIPT], seed, {"ACCELMAP_CACHE": str(tmp_path)}).stdout.strip() for seed in ("1", "2", "3")}
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_second_compile_in_a_new_process_hits_the_cache(tmp_path):
    cache = tmp_path / "cache"
    cmd = ["-m", "accelmap", "compile", "resnet18_w8", "--arch", "gemmini", "--time-limit", "5",
           "--cache-dir", str(cache), "--json", "--quiet"]
    env = {"ACCELMAP_CACHE": str(tmp_path / "zoo")}
    first = _run([*cmd, "-o", str(tmp_path / "a")], "11", env)
    assert first.returncode in (0, 1), first.stderr
    stored = len([p for p in cache.glob("*.json") if not p.name.endswith(".warm.json")])  # proved only
    second = _run([*cmd, "-o", str(tmp_path / "b")], "22", env)
    assert second.returncode in (0, 1), second.stderr
    hits = json.loads(second.stdout)["cache_hits"]
    assert stored > 0 and hits == stored


def test_key_changes_with_anything_that_decides_the_answer():
    graph = load_model("resnet18_w8")
    arch = load_arch("eyeriss")
    wl = graph.layers()[1].workload
    base = cache_key(wl, arch, SolveSettings("energy", 5.0))
    assert base == cache_key(wl, arch, SolveSettings("energy", 5.0))
    assert base != cache_key(wl, arch, SolveSettings("latency", 5.0))
    assert base != cache_key(wl, arch, SolveSettings("energy", 5.0, tie_break=False))
    assert base == cache_key(wl, arch, SolveSettings("energy", 60.0))  # a proof holds whatever time it took
    other = next(n.workload for n in graph.layers() if n.workload != wl)
    assert base != cache_key(other, arch, SolveSettings("energy", 5.0))
    assert base != cache_key(wl, load_arch("gemmini"), SolveSettings("energy", 5.0))
    renamed = dataclasses.replace(arch, name="pareto/d07", description="a sweep's design")
    assert base == cache_key(wl, renamed, SolveSettings("energy", 5.0))  # the name decides nothing
