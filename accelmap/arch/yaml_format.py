"""The arch YAML format's vocabulary and unit conversions, shared by check and build.

Keys use Timeloop / Accelergy words (`depth`, `width`, `word-bits`,
`block-size`, `read_energy`, `meshX`); docs/arch-format.md is the reference.
"""
from __future__ import annotations

import re

TOP_KEYS = ("description", "clock_mhz", "levels", "fanouts", "compute", "constraints", "accounting")
CAPACITY_KEYS = ("capacity", "depth", "width", "block-size")
ENERGY_KEYS = ("read_energy", "write_energy", "update_energy")
BANDWIDTH_KEYS = ("read_bandwidth", "write_bandwidth")
LEVEL_KEYS = ("name", "storage", "tensors", "word-bits", *CAPACITY_KEYS, *ENERGY_KEYS,
              *BANDWIDTH_KEYS, "double_buffered", "partitions", "area")
BUFFERLESS_KEYS = ("name", "storage", "area")
PARTITION_KEYS = ("name", "tensors", *CAPACITY_KEYS)
FANOUT_KEYS = ("name", "parent", "meshX", "meshY", "multicast", "reduction", "hop_energy")
COMPUTE_KEYS = ("mac_energy", "macs_per_pe", "area")
ACCOUNTING_KEYS = ("drain_reads", "psum_writes", "halo_past_irrelevant")
LEVEL_CONSTRAINT_KEYS = ("level", "factors", "max_factors", "min_factors", "permutation", "innermost_loops",
                         "keep", "bypass")
FANOUT_FACTOR_KEYS = ("x_factors", "y_factors", "x_max_factors", "y_max_factors", "x_min_factors", "y_min_factors")
FANOUT_CONSTRAINT_KEYS = ("fanout", "x_dims", "y_dims", *FANOUT_FACTOR_KEYS)

ALIASES = {"Weights": "W", "Inputs": "I", "Outputs": "O", "M": "K"}
"""Timeloop spellings users bring along, for did-you-mean hints."""

_BITS_PER_UNIT = {"B": 8, "KB": 8 << 10, "KIB": 8 << 10, "MB": 8 << 20, "MIB": 8 << 20,
                  "GB": 8 << 30, "GIB": 8 << 30}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """Bits in a size such as '108KB' or '24MiB' (KB = KiB = 1024 bytes, as the papers use it).

    Returns None when `text` is not a size or is not a whole number of bits.
    """
    match = _SIZE.match(text)
    if match is None:
        return None
    bits = float(match.group(1)) * _BITS_PER_UNIT[match.group(2).upper()]
    return int(bits) if bits.is_integer() else None


def capacity_bits(entry: dict, word_bits: set[int]) -> int | None:
    """Bits held by a level or partition entry; None when it gives no capacity (unbounded).

    `capacity: 108KB` is taken as is; `depth` × `width` is Timeloop's rows ×
    bits per row; `depth` × `block-size` counts rows of block-size words of
    the entry's one word width (`word_bits` holds its tensors' widths).
    """
    if "capacity" in entry:
        return parse_size(entry["capacity"])
    if "depth" not in entry:
        return None
    if "width" in entry:
        return entry["depth"] * entry["width"]
    (bits,) = word_bits
    return entry["depth"] * entry["block-size"] * bits


def per_tensor(value: object, tensors: tuple[str, ...]) -> dict[str, object]:
    """Expand a scalar-or-map YAML value into one value per tensor."""
    if isinstance(value, dict):
        return {tensor: value[tensor] for tensor in tensors}
    return {tensor: value for tensor in tensors}


def to_fj(picojoules: float) -> int:
    """pJ from the YAML to the integer fJ the cost model and solver share."""
    return round(picojoules * 1000)
