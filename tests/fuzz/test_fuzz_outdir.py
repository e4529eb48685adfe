"""Corrupted OUTDIRs: seeded random edits of schedule.json and of a loop program, damaged files.

Each case copies a good OUTDIR, damages one thing and runs `accelmap validate`
(and a sample through `explain` and `stream`). It must end in one clean
error (exit 2, or 1 for a number that differs from what the files imply),
never a traceback or an internal error; it may PASS only when the edit
cannot change what any reader uses: a value replaced by an equal one, or a
field listed in `INFORMATIONAL` (the time a solve took, a note for people).
"""
from __future__ import annotations

import copy
import json
import random
import shutil
from pathlib import Path

import pytest

from accelmap import api

from .helpers import assert_clean, run, small_cnn

SEED_CASES = 120
INFORMATIONAL = ("wall_time", "solver_time", "note", "description")
"""Keys whose value no reader checks against anything: an edit there may pass."""


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A compiled OUTDIR of the small CNN (two mapped layers, host ops between) on eyeriss."""
    root = tmp_path_factory.mktemp("outdir")
    model = root / "small_cnn.onnx"
    import onnx
    onnx.save(small_cnn(), model)
    out = root / "good"
    api.compile_model(model, "eyeriss", time_limit=2.0, use_cache=False).save(out)
    return out


def leaves(doc, path=()) -> list[tuple]:
    """Every path to a value inside a JSON document (containers included, so whole parts can go)."""
    found = [path] if path else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += leaves(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += leaves(value, (*path, index))
    return found


def mutate(doc, path: tuple, rng: random.Random) -> tuple[object, str]:
    """`doc` with the value at `path` changed one way (deleted, null, retyped, off by one, huge, ...)."""
    doc = copy.deepcopy(doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    key, value = path[-1], parent[path[-1]]
    kinds = ["delete", "null", "string", "huge", "negative", "extra"]
    if isinstance(value, bool):
        kinds.append("flip")
    elif isinstance(value, (int, float)):
        kinds += ["plus", "minus", "plus", "minus"]
    elif isinstance(value, list):
        kinds += ["truncate", "empty"]
    kind = rng.choice(kinds)
    new = {"null": None, "string": "x", "huge": 2 ** 62, "negative": -1, "flip": not value if isinstance(value, bool)
           else None, "plus": value + 1 if isinstance(value, (int, float)) else None,
           "minus": value - 1 if isinstance(value, (int, float)) else None,
           "truncate": value[:-1] if isinstance(value, list) else None, "empty": []}.get(kind)
    if kind == "delete":
        if isinstance(parent, list):
            parent.pop(key)
        else:
            del parent[key]
    elif kind == "extra":
        if isinstance(value, dict):
            value["unexpected"] = 1
        else:
            parent[key] = {"unexpected": value}
    else:
        parent[key] = new
    return doc, kind


def _informational(path: tuple) -> bool:
    return any(step in INFORMATIONAL for step in path if isinstance(step, str))


def _program(out: Path) -> Path:
    return sorted((out / "layers").glob("*.program.json"))[0]


def _cases() -> list[tuple[str, int]]:
    return [("schedule.json", n) for n in range(SEED_CASES // 2)] + [("program", n) for n in range(SEED_CASES // 2)]


@pytest.mark.parametrize("target, seed", _cases())
def test_a_seeded_edit_is_refused_or_changes_nothing(good, tmp_path, capsys, target, seed):
    out = tmp_path / "out"
    shutil.copytree(good, out)
    path = out / "schedule.json" if target == "schedule.json" else _program(out)
    doc = json.loads(path.read_text())
    rng = random.Random(f"{target}-{seed}")
    where = rng.choice(leaves(doc))
    edited, kind = mutate(doc, where, rng)
    path.write_text(json.dumps(edited))
    code, err = run(["validate", str(out)], capsys)
    assert_clean(code, err, allowed=(0, 1, 2))
    if code == 0:
        assert edited == doc or _informational(where), f"PASS after {kind} at {where}"
    if seed % 10 == 0:
        for argv in (["explain", str(out)], ["stream", str(out), "--layer", "conv", "--limit", "3"]):
            code, err = run(argv, capsys)
            assert_clean(code, err, allowed=(0, 1, 2))


DAMAGE = {
    "schedule.json empty": lambda out: (out / "schedule.json").write_text(""),
    "schedule.json not UTF-8": lambda out: (out / "schedule.json").write_bytes(b"\xff\xfe{"),
    "schedule.json truncated": lambda out: (out / "schedule.json").write_text(
        (out / "schedule.json").read_text()[:200]),
    "schedule.json a list": lambda out: (out / "schedule.json").write_text("[]"),
    "program missing": lambda out: _program(out).unlink(),
    "program empty": lambda out: _program(out).write_text(""),
    "program truncated": lambda out: _program(out).write_text(_program(out).read_text()[:100]),
    "program a directory": lambda out: (_program(out).unlink(), _program_dir(out)),
    "weights missing": lambda out: (out / "weights.npz").unlink(),
    "weights truncated": lambda out: (out / "weights.npz").write_bytes((out / "weights.npz").read_bytes()[:300]),
    "weights not a zip": lambda out: (out / "weights.npz").write_text("no"),
    "layers directory missing": lambda out: shutil.rmtree(out / "layers"),
    "two programs swapped": lambda out: _swap(sorted((out / "layers").glob("*.program.json"))),
}


def _program_dir(out: Path) -> None:
    (out / "layers" / "000_conv.program.json").mkdir()


def _swap(paths: list[Path]) -> None:
    a, b = paths[0].read_bytes(), paths[1].read_bytes()
    paths[0].write_bytes(b)
    paths[1].write_bytes(a)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_file_is_one_clean_error(good, tmp_path, capsys, damage):
    out = tmp_path / "out"
    shutil.copytree(good, out)
    DAMAGE[damage](out)
    for argv in (["validate", str(out)], ["explain", str(out)], ["stream", str(out), "--layer", "conv"]):
        code, err = run(argv, capsys)
        assert_clean(code, err, allowed=(1, 2))
