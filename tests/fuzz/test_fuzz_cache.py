"""Broken result-cache entries: a catalogue of wrong shapes, nulls, types, versions and claims, plus seeded
random edits of a real entry. `ResultCache.get` never raises; it returns the proved result only when the
entry is exactly what this version writes for it, else None (and the compile solves and rewrites it)."""
from __future__ import annotations

import copy
import json
import random

import pytest

from accelmap.ir.workload import make_workload
from accelmap.mapper.cache import MAX_ENTRY_BYTES, ResultCache, cache_key, entry
from accelmap.mapper.mapping import mapping_to_dict
from accelmap.mapper.network import SolveSettings
from accelmap.mapper.solve import map_workload
from mapper_cpsat.archs import small_arch

WORKLOAD = make_workload(k=4, c=4, p=3, q=3, r=3, s=1)
RANDOM_CASES = 150


@pytest.fixture(scope="module")
def stored():
    """(arch, proved result, key, the entry this version writes)."""
    arch = small_arch("gemmini_like")
    result = map_workload(WORKLOAD, arch, "energy", time_limit=20.0, workers=1)
    assert result.status == "OPTIMAL"
    key = cache_key(WORKLOAD, arch, SolveSettings("energy"))
    return arch, result, key, entry(key, result)


def _get(tmp_path, key, text, arch):
    path = tmp_path / f"{key}.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    return ResultCache(tmp_path).get(key, WORKLOAD, arch, "energy")


def _set(doc, path, value):
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(doc)


def _first_loop(doc):
    level = next(i for i, loops in enumerate(doc["mapping"]["temporal"]) if loops)
    return ("mapping", "temporal", level, 0)


CATALOGUE = {
    "empty": lambda d: "",
    "list": lambda d: "[]",
    "null": lambda d: "null",
    "string": lambda d: '"OPTIMAL"',
    "number": lambda d: "42",
    "empty object": lambda d: "{}",
    "cut in half": lambda d: json.dumps(d)[: len(json.dumps(d)) // 2],
    "binary": lambda d: b"\x89PNG\r\n\x1a\n\x00\xff",
    "not utf-8": lambda d: json.dumps(d).encode() + b"\xff",
    "deep nesting": lambda d: "[" * 100_000 + "]" * 100_000,
    "huge": lambda d: json.dumps(d) + " " * MAX_ENTRY_BYTES,
    "mapping null": lambda d: _set(d, ("mapping",), None),
    "mapping list": lambda d: _set(d, ("mapping",), []),
    "temporal null": lambda d: _set(d, ("mapping", "temporal"), None),
    "factor as a bare int": lambda d: _set(d, _first_loop(d), 4),
    "factor as a float": lambda d: _set(d, _first_loop(d) + (1,), float(d["mapping"]["temporal"][_first_loop(d)[2]][0][1])),
    "factor as a bool": lambda d: _set(d, _first_loop(d) + (1,), True),
    "factor zero": lambda d: _set(d, _first_loop(d) + (1,), 0),
    "factor negative": lambda d: _set(d, _first_loop(d) + (1,), -2),
    "unknown dim": lambda d: _set(d, _first_loop(d) + (0,), "Z"),
    "keep unknown tensor": lambda d: _set(d, ("mapping", "keep", 1), ["X"]),
    "keep unsorted": lambda d: _set(d, ("mapping", "keep", 0), list(reversed(d["mapping"]["keep"][0]))),
    "bound null": lambda d: _set(d, ("bound",), None),
    "bound lowered": lambda d: _set(d, ("bound",), d["bound"] - 1),
    "bound halved": lambda d: _set(d, ("bound",), d["bound"] // 2),
    "bound raised": lambda d: _set(d, ("bound",), d["bound"] + 1),
    "bound as a string": lambda d: _set(d, ("bound",), str(d["bound"])),
    "objective lowered": lambda d: _set(d, ("objective",), d["objective"] - 1),
    "objective as a float": lambda d: _set(d, ("objective",), float(d["objective"])),
    "status FEASIBLE": lambda d: _set(d, ("status",), "FEASIBLE"),
    "status lower case": lambda d: _set(d, ("status",), "optimal"),
    "another objective": lambda d: _set(d, ("objective_name",), "latency"),
    "older format": lambda d: _set(d, ("format",), d["format"] - 1),
    "no format": lambda d: json.dumps({k: v for k, v in d.items() if k != "format"}),
    "another accelmap": lambda d: _set(d, ("accelmap",), "0.0.1"),
    "another key": lambda d: _set(d, ("key",), "0" * 64),
    "extra field": lambda d: _set(d, ("note",), "hand edited"),
    "wall time negative": lambda d: _set(d, ("wall_time",), -1.0),
    "wall time a string": lambda d: _set(d, ("wall_time",), "1.0"),
    "wall time NaN": lambda d: _set(d, ("wall_time",), float("nan")),
    "canonical a string": lambda d: _set(d, ("canonical",), "yes"),
    "canonical null": lambda d: _set(d, ("canonical",), None),
    "another workload's mapping": lambda d: _set(d, ("mapping",), mapping_to_dict(
        map_workload(make_workload(k=2, c=4, p=3, q=3, r=3, s=1), small_arch("gemmini_like"), "energy",
                     time_limit=20.0, workers=1).mapping)),
}


@pytest.mark.parametrize("fault", sorted(CATALOGUE))
def test_catalogue_of_bad_entries_is_ignored(stored, tmp_path, fault):
    arch, _, key, doc = stored
    assert _get(tmp_path, key, CATALOGUE[fault](doc), arch) is None


def _random_edit(doc, rng: random.Random):
    """One value somewhere in the entry replaced, deleted or nudged."""
    doc = copy.deepcopy(doc)
    paths, stack = [], [((), doc)]
    while stack:
        path, node = stack.pop()
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in children:
            paths.append(path + (key,))
            stack.append((path + (key,), value))
    path = rng.choice(paths)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    value = parent[path[-1]]
    edit = rng.choice(["replace", "delete", "nudge"])
    if edit == "delete":
        del parent[path[-1]]
    elif edit == "nudge" and isinstance(value, int) and not isinstance(value, bool):
        parent[path[-1]] = value + rng.choice([-1, 1, value])
    else:
        parent[path[-1]] = rng.choice([None, 0, -1, 1.5, "", "K", [], {}, True, [["K", 2]], 10**20])
    return doc


def test_random_edits_never_crash_and_only_a_faithful_entry_is_used(stored, tmp_path):
    arch, result, key, doc = stored
    rng = random.Random(7)
    used = 0
    for _ in range(RANDOM_CASES):
        edited = _random_edit(doc, rng)
        hit = _get(tmp_path, key, json.dumps(edited), arch)
        if hit is not None:  # only when the edit changed nothing that matters (e.g. equal wall time)
            used += 1
            assert hit.mapping == result.mapping and hit.objective == hit.bound == result.objective
    assert used < RANDOM_CASES // 10


def test_the_pristine_entry_is_used(stored, tmp_path):
    arch, result, key, doc = stored
    hit = _get(tmp_path, key, json.dumps(doc), arch)
    assert hit is not None and hit.mapping == result.mapping and hit.status == "OPTIMAL"
