"""JSON encoding of the frozen dataclasses a schedule carries (arch, workload, layouts, post-ops).

`to_json` turns a dataclass into plain JSON values (tuples and frozensets
become lists, frozensets sorted); `from_json(cls, value)` rebuilds it from
the field annotations, so a field added to `Arch` round-trips without a
change here. Node attributes (`attrs_to_json`) may hold numpy arrays, which
are tagged with their dtype and shape.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import numpy as np


def to_json(value: Any) -> Any:
    """`value` (dataclass, tuple, frozenset, dict, scalar) as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (frozenset, set)):
        return sorted(to_json(v) for v in value)
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def from_json(cls: Any, value: Any) -> Any:
    """Rebuild a value of type `cls` (a dataclass or a typing annotation) from `to_json` output."""
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: from_json(hints[f.name], value[f.name])
                      for f in dataclasses.fields(cls) if f.init and f.name in value})
    origin, args = typing.get_origin(cls), typing.get_args(cls)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options:
            if _matches(option, value):
                return from_json(option, value)
        return from_json(options[0], value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v) for v in value)
        return tuple(from_json(a, v) for a, v in zip(args, value))
    if origin is frozenset:
        return frozenset(from_json(args[0], v) for v in value)
    if origin is dict:
        return {k: from_json(args[1], v) for k, v in value.items()}
    if cls is float:
        return float(value)
    return value


def _matches(cls: Any, value: Any) -> bool:
    """Whether a JSON value could encode `cls` (to pick one arm of a union)."""
    if dataclasses.is_dataclass(cls):
        return isinstance(value, dict) and {f.name for f in dataclasses.fields(cls) if f.init} >= set(value)
    if typing.get_origin(cls) in (tuple, frozenset, list):
        return isinstance(value, list)
    if typing.get_origin(cls) is dict:
        return isinstance(value, dict)
    if cls in (int, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, cls) if isinstance(cls, type) else True


def attrs_to_json(attrs: dict[str, Any]) -> dict[str, Any]:
    """Node attributes as JSON: arrays tagged `{"ndarray": values, "dtype": ..., "shape": ...}`."""
    return {name: _attr_to_json(value) for name, value in attrs.items()}


def _attr_to_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"ndarray": value.ravel().tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, (tuple, list)):
        return [_attr_to_json(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def attrs_from_json(doc: dict[str, Any]) -> dict[str, Any]:
    """Inverse of `attrs_to_json` (lists come back as tuples, as the frontend makes them)."""
    return {name: _attr_from_json(value) for name, value in doc.items()}


def _attr_from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"ndarray", "dtype", "shape"}:
        return np.asarray(value["ndarray"], dtype=value["dtype"]).reshape(value["shape"])
    if isinstance(value, list):
        return tuple(_attr_from_json(v) for v in value)
    return value
