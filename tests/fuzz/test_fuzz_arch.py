"""Broken arch YAML: each preset mutated at random (values of every type set anywhere, keys deleted or
misspelt, list entries duplicated) through `accelmap arch show`, and some through a whole compile; each ends
in success or one clean error (exit 2; 3 when a layer cannot fit)."""
from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
import yaml

import accelmap.arch
from .helpers import assert_clean, run

PRESETS = Path(accelmap.arch.__file__).parent / "presets"
SHOW_CASES = 100
COMPILE_CASES = 5
VALUES = [None, -1, 0, 1, 2.5, "x", "", [], {}, [1, "a"], {"a": 1}, True, 1e300, float("nan"), float("inf"),
          10**30, "16KB", "-4KB"]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _mutate(doc, rng: random.Random) -> None:
    """One edit somewhere in `doc`: a value replaced, a key or entry deleted, a key misspelt, an entry doubled."""
    path = rng.choice([p for p in _paths(doc) if p])
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    edit = rng.choice(["set", "set", "delete", "double"])
    if edit == "set":
        parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
    elif edit == "delete":
        del parent[path[-1]]
    elif isinstance(parent, list):
        parent.append(copy.deepcopy(parent[path[-1]]))
    else:
        parent[f"{path[-1]}_"] = parent[path[-1]]


def _mutants(seed: int, count: int, tmp_path: Path, edits: int = 3):
    rng = random.Random(seed)
    presets = sorted(PRESETS.glob("*.yaml"))
    for index in range(count):
        doc = yaml.safe_load(rng.choice(presets).read_text())
        for _ in range(rng.randint(1, edits)):
            _mutate(doc, rng)
        path = tmp_path / f"arch{index}.yaml"
        path.write_text(yaml.safe_dump(doc))
        yield path


def test_mutated_presets_are_shown_or_refused(tmp_path, capsys):
    refused = 0
    for path in _mutants(30, SHOW_CASES, tmp_path):
        code, err = run(["arch", "show", str(path)], capsys)
        assert_clean(code, err)
        refused += code == 2
    assert refused > SHOW_CASES // 2


@pytest.mark.parametrize("count", [COMPILE_CASES, pytest.param(60, marks=pytest.mark.slow)])
def test_mutated_presets_that_load_compile_or_are_refused(tmp_path, capsys, matmul_onnx, count):
    compiled = 0
    for path in _mutants(31 + count, 40 * count, tmp_path, edits=1):
        if compiled == count:
            break
        if run(["arch", "show", str(path)], capsys)[0] != 0:
            continue
        code, err = run(["compile", matmul_onnx, "--arch", str(path), "-o", str(tmp_path / "out"), "--force",
                         "--time-limit", "2", "--no-cache", "--jobs", "1", "--quiet"], capsys)
        assert_clean(code, err, allowed=(0, 2, 3))
        compiled += 1
    assert compiled == count
