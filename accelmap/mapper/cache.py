"""The on-disk result cache: one JSON file per solve, keyed by a canonical hash.

The key is a sha256 over a canonical serialisation of everything that decides
a solve's answer (workload, full arch content, settings, accelmap version, the
tie-break's key order):
dataclasses become objects with their field names, dicts and sets are sorted,
so the key is the same in every process and on every machine (`repr` is not:
frozensets iterate in an order that depends on the per-process string hash).
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import math
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any

from accelmap import __version__
from accelmap.arch.spec import Arch
from accelmap.ir.workload import Workload
from accelmap.mapper.mapping import mapping_from_dict, mapping_to_dict
from accelmap.mapper.solve import MapResult, rescore
from accelmap.mapper.tiebreak import KEY_ORDER


def default_cache_dir() -> Path:
    """`$ACCELMAP_CACHE`, else `$XDG_CACHE_HOME/accelmap`, else `~/.cache/accelmap`."""
    if os.environ.get("ACCELMAP_CACHE"):
        return Path(os.environ["ACCELMAP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "accelmap"


def canonical(value: Any) -> Any:
    """`value` as plain JSON data with a fixed order: dataclasses by field name, dicts by key, sets sorted."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__,
                **{f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {"__dict__": sorted(([canonical(k), canonical(v)] for k, v in value.items()), key=json.dumps)}
    if isinstance(value, (set, frozenset)):
        return {"__set__": sorted((canonical(v) for v in value), key=json.dumps)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, Enum):
        return canonical(value.value)
    if isinstance(value, float):
        return {"__float__": value.hex()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError(f"cannot make a cache key from a {type(value).__name__}")


def cache_key(workload: Workload, arch: Arch, settings: Any) -> str:
    """sha256 over the canonical form of the workload, the arch, the settings, the accelmap version and
    the tie-break's key order (`tiebreak.KEY_ORDER`: another order picks other canonical mappings).

    The time limit is left out: a proved optimum holds whatever time it took,
    and a run with more time should find what a shorter one proved. So are the
    arch's name and description: a sweep's design and the same arch saved to a
    YAML file of another name share their results.
    """
    decisive = dataclasses.replace(settings, time_limit=0.0)
    anonymous = dataclasses.replace(arch, name="", description="")
    text = json.dumps(canonical([workload, anonymous, decisive, __version__, KEY_ORDER]), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


ENTRY_FORMAT = 2
"""Layout version of a cache entry; an entry of any other version is ignored and rewritten."""

MAX_ENTRY_BYTES = 1 << 20
"""Entries are a few kilobytes; anything larger is not one of ours and is not read."""


class ResultCache:
    """Solver results on disk, one JSON file per key, treated as untrusted input.

    An entry is used only when it is exactly what this version writes and the
    model confirms it: the mapping is valid for the workload, its score is the
    recorded objective, and the status is OPTIMAL with the bound equal to the
    objective (a proof). A result that is not proved is kept apart, as a warm
    start only (`warm`): the next solve of the key starts from it and must
    match or beat it, and it is never returned as an answer. Anything else (unreadable, another format, nulls,
    wrong types, a mapping that does not fit, a lowered bound) is ignored, and
    the fresh result overwrites it. A directory that cannot be written (read
    only, full, a file in the way) turns the cache off with one `warning`; a
    `None` directory is no cache, and nothing touches the disk.
    """

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.warning: str | None = None

    def get(self, key: str, workload: Workload, arch: Arch, objective: str) -> MapResult | None:
        """The proved result stored under `key`, re-scored by the model; None when there is none to trust."""
        text = self._read(f"{key}.json")
        return None if text is None else _confirmed(text, key, workload, arch, objective, "OPTIMAL")

    def warm(self, key: str, workload: Workload, arch: Arch, objective: str) -> MapResult | None:
        """The best unproved result an earlier solve of `key` stored, re-scored by the model: a warm start."""
        text = self._read(f"{key}.warm.json")
        return None if text is None else _confirmed(text, key, workload, arch, objective, "FEASIBLE")

    def _read(self, name: str) -> bytes | None:
        """An entry's bytes, or None when there is no cache, no such file, or more bytes than an entry has."""
        if self.directory is None:
            return None
        try:
            with open(self.directory / name, "rb") as file:
                text = file.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        return text if len(text) <= MAX_ENTRY_BYTES else None

    def put(self, key: str, result: MapResult, workload: Workload, arch: Arch) -> None:
        """Store a proved result, or an unproved one as the key's warm start when it beats the stored one.

        Written to a temporary file renamed over the entry, so a concurrent
        reader or writer of the key sees a whole entry or none, and a failed
        write leaves nothing behind.
        """
        if self.directory is None:
            return
        name = f"{key}.json"
        if result.status != "OPTIMAL":
            before = self.warm(key, workload, arch, result.objective_name)
            if before is not None and before.objective <= result.objective:
                return
            name = f"{key}.warm.json"
        tmp = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(json.dumps(entry(key, result)))
            os.replace(tmp, self.directory / name)
            tmp = None
        except OSError as err:
            self._disable(err)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _disable(self, err: OSError) -> None:
        """No more caching in this run, and the one warning that says why."""
        reason = os.strerror(err.errno) if err.errno else str(err)
        if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            reason = f"the disk is full ({reason})"
        self.warning = f"cache {self.directory}: {reason}; results of this run are not cached"
        self.directory = None


def entry(key: str, result: MapResult) -> dict[str, Any]:
    """The cache entry of `result` under `key`, as this version writes it."""
    return {"format": ENTRY_FORMAT, "accelmap": __version__, "key": key, "status": result.status,
            "objective_name": result.objective_name, "objective": result.objective, "bound": result.bound,
            "wall_time": result.wall_time, "canonical": result.canonical, "mapping": mapping_to_dict(result.mapping)}


def _confirmed(text: bytes, key: str, workload: Workload, arch: Arch, objective: str,
               status: str) -> MapResult | None:
    """The result in an entry's `text` when the entry is exactly what `entry` writes for a result of
    `status` (OPTIMAL: proved) that the model confirms; None otherwise."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != ENTRY_FORMAT or doc.get("status") != status:
            return None
        result = rescore(workload, arch, mapping_from_dict(doc["mapping"]), objective, doc)
        exact = json.dumps(entry(key, result), sort_keys=True) == json.dumps(doc, sort_keys=True)
    except Exception:  # untrusted bytes: whatever fails to rebuild is not an entry this version wrote
        return None
    if not exact:  # from here on every field is there, with the type this version writes
        return None
    if status == "OPTIMAL":
        agrees = result.status == "OPTIMAL" and result.objective == doc["objective"] == doc["bound"]
    else:
        agrees = result.status == "FEASIBLE" and result.objective == doc["objective"] > doc["bound"]
    timed = math.isfinite(doc["wall_time"]) and doc["wall_time"] >= 0
    return result if agrees and timed else None
