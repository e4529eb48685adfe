"""The on-disk result cache: one JSON file per solve, keyed by a canonical hash.

The key is a sha256 over a canonical serialisation of everything that decides
a solve's answer (workload, full arch content, settings, accelmap version):
dataclasses become objects with their field names, dicts and sets are sorted,
so the key is the same in every process and on every machine (`repr` is not:
frozensets iterate in an order that depends on the per-process string hash).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from enum import Enum
from pathlib import Path
from typing import Any

from accelmap import __version__
from accelmap.arch.spec import Arch
from accelmap.ir.workload import Workload
from accelmap.mapper.mapping import mapping_from_dict, mapping_to_dict
from accelmap.mapper.solve import MapResult, rescore


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
    """sha256 over the canonical form of the workload, the arch, the settings and the accelmap version.

    The time limit is left out: a proved optimum holds whatever time it took,
    and a run with more time should find what a shorter one proved.
    """
    decisive = dataclasses.replace(settings, time_limit=0.0)
    text = json.dumps(canonical([workload, arch, decisive, __version__]), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ResultCache:
    """OPTIMAL mappings on disk, one JSON file per key; a `None` directory disables it."""

    def __init__(self, directory: Path | None):
        self.directory = directory

    def get(self, key: str, workload: Workload, arch: Arch, objective: str) -> MapResult | None:
        """The cached result re-scored by the model, or None."""
        if self.directory is None:
            return None
        path = self.directory / f"{key}.json"
        try:
            doc = json.loads(path.read_text())
            return rescore(workload, arch, mapping_from_dict(doc["mapping"]), objective, doc)
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, result: MapResult) -> None:
        """Store an OPTIMAL result (others are never cached); write-then-rename."""
        if self.directory is None or result.status != "OPTIMAL":
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        doc = {"mapping": mapping_to_dict(result.mapping), "status": result.status,
               "objective": result.objective, "bound": result.bound, "wall_time": result.wall_time,
               "canonical": result.canonical}
        tmp = self.directory / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(doc))
        tmp.replace(self.directory / f"{key}.json")
