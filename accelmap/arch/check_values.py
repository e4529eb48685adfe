"""Small validators for YAML values: each appends '<key path>: <problem>' and never raises.

Every helper returns the checked value, or None when it is unusable, so
callers can keep checking the rest of the document and report every problem.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from typing import Any

from accelmap.arch.yaml_format import ALIASES, parse_size


def at(path: str, key: str | int) -> str:
    """The key path of `key` inside `path`: 'levels' + 2 -> 'levels[2]', + 'depth' -> 'levels[2].depth'."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def show(value: object) -> str:
    """A value as the user wrote it, for messages."""
    return repr(value) if isinstance(value, str) else str(value)


def suggest(word: str, options: Sequence[str]) -> str:
    """'; did you mean X?' for the closest option (or a Timeloop alias), else ''."""
    if ALIASES.get(word) in options:
        return f"; did you mean '{ALIASES[word]}'?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown_name(name: object, vocabulary: Sequence[str], what: str) -> str:
    """The message for a name not in `vocabulary`, with a did-you-mean or else the valid names."""
    hint = suggest(name, vocabulary) if isinstance(name, str) else ""
    return f"unknown {what} {show(name)}{hint or '; expected one of ' + ', '.join(vocabulary)}"


def expect_mapping(value: object, path: str, problems: list[str]) -> dict | None:
    """`value` if it is a YAML mapping with string keys."""
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a mapping of keys, got {show(value)}")
        return None
    for key in value:
        if not isinstance(key, str):
            problems.append(f"{path}: key {show(key)} is not a string")
            return None
    return value


def expect_list(value: object, path: str, problems: list[str]) -> list | None:
    """`value` if it is a YAML list."""
    if not isinstance(value, list):
        problems.append(f"{path}: expected a list, got {show(value)}")
        return None
    return value


def check_keys(entry: dict, allowed: Sequence[str], path: str, problems: list[str]) -> None:
    """Flag every key of `entry` not in `allowed`, with a did-you-mean (preferring keys not yet given)."""
    absent = [key for key in allowed if key not in entry]
    for key in entry:
        if key not in allowed:
            hint = suggest(key, absent) or suggest(key, allowed) or f"; expected one of {', '.join(allowed)}"
            problems.append(f"{at(path, key)}: unknown key{hint}")


def require(entry: dict, key: str, path: str, problems: list[str]) -> bool:
    """True if `entry` has `key`; otherwise record it as missing."""
    if key in entry:
        return True
    problems.append(f"{at(path, key)}: missing required key")
    return False


def required(entry: dict, key: str, path: str, problems: list[str], check: Callable[..., Any],
             **options: Any) -> Any:
    """`check(entry[key], key path, problems, **options)`, or None after recording `key` as missing."""
    if not require(entry, key, path, problems):
        return None
    return check(entry[key], at(path, key), problems, **options)


def optional(entry: dict, key: str, path: str, problems: list[str], check: Callable[..., Any],
             default: Any = None, **options: Any) -> Any:
    """`check(entry[key], key path, problems, **options)`, or `default` when `key` is absent."""
    if key not in entry:
        return default
    return check(entry[key], at(path, key), problems, **options)


def expect_str(value: object, path: str, problems: list[str]) -> str | None:
    """`value` if it is a non-empty string."""
    if not isinstance(value, str) or not value:
        problems.append(f"{path}: expected a name (text), got {show(value)}")
        return None
    return value


def expect_bool(value: object, path: str, problems: list[str]) -> bool | None:
    """`value` if it is true or false."""
    if not isinstance(value, bool):
        problems.append(f"{path}: expected true or false, got {show(value)}")
        return None
    return value


MAX_INT = 2**31 - 1
"""Largest integer an arch field takes (rows, bits per row, words per block, array sides); with capacities
at most MAX_SIZE_BITS, the solver's 64-bit integers do not overflow."""

MAX_SIZE_BITS = 2**50
"""Largest capacity a level or partition may have (128 TiB)."""


def expect_int(value: object, path: str, problems: list[str], positive: bool = True) -> int | None:
    """`value` if it is an integer up to MAX_INT, > 0 when `positive`, else >= 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{path}: expected an integer, got {show(value)}")
        return None
    if value > MAX_INT:
        problems.append(f"{path}: expected an integer up to {MAX_INT}, got {value}")
        return None
    if value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        problems.append(f"{path}: expected {kind} integer, got {value}")
        return None
    return value


MAX_NUMBER = 1e6
"""Largest number an arch field takes: 1e6 pJ per access, words per cycle or MHz is no real design, and
larger ones overflow the solver's 64-bit integers."""
MAX_AREA = 1e12
"""Largest area in µm² (1 m²): areas are only reported, never solved over; a multi-megabyte buffer is
several mm² (1e6 µm² and more)."""


def expect_number(value: object, path: str, problems: list[str], positive: bool,
                  limit: float = MAX_NUMBER) -> float | None:
    """`value` if it is a finite number up to `limit`, > 0 when `positive`, else >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{path}: expected a number, got {show(value)}")
        return None
    if not math.isfinite(value) or value > limit:
        problems.append(f"{path}: expected a finite number up to {limit:g}, got {value}")
        return None
    if value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        problems.append(f"{path}: expected {kind} number, got {value}")
        return None
    return float(value)


def expect_size(value: object, path: str, problems: list[str]) -> int | None:
    """Bits in `value` if it is a size such as '108KB' or '24MiB'."""
    bits = parse_size(value) if isinstance(value, str) else None
    if not bits:
        problems.append(f"{path}: expected a size such as '108KB' or '24MiB', got {show(value)}")
        return None
    if bits > MAX_SIZE_BITS:
        problems.append(f"{path}: expected a size up to 128TiB, got {value}")
        return None
    return bits


def expect_names(value: object, path: str, problems: list[str], vocabulary: Sequence[str],
                 what: str) -> tuple[str, ...] | None:
    """The distinct names from `vocabulary` in the list `value` (`what`: 'tensor', 'dim').

    Unknown and repeated items are reported and left out, so later checks
    still see the valid ones; None only when `value` is not a list.
    """
    items = expect_list(value, path, problems)
    if items is None:
        return None
    names: list[str] = []
    for i, name in enumerate(items):
        if name not in vocabulary:
            problems.append(f"{at(path, i)}: {unknown_name(name, vocabulary, what)}")
        elif name in names:
            problems.append(f"{at(path, i)}: {what} '{name}' is listed twice")
        else:
            names.append(name)
    return tuple(names)


def expect_name_map(value: object, path: str, problems: list[str], vocabulary: Sequence[str],
                    what: str) -> dict | None:
    """`value` if it is a mapping whose keys all come from `vocabulary`."""
    entry = expect_mapping(value, path, problems)
    if entry is None:
        return None
    bad = [key for key in entry if key not in vocabulary]
    for key in bad:
        problems.append(f"{at(path, key)}: {unknown_name(key, vocabulary, what)}")
    return None if bad else entry
