"""Timeloop's names, once: dims, data spaces, the CNN layer's coefficients; and the one YAML reader.

accelmap's dims are Timeloop's except that accelmap's K (output channels)
is Timeloop's M. Timeloop's CNN layer calls the coefficients of the Inputs
projection on P and R `Wstride` / `Wdilation` and on Q and S `Hstride` /
`Hdilation`; accelmap keeps the numbers with their dims (its `stride[0]`
is the one on P), not with the letter.
"""
from __future__ import annotations

from pathlib import Path

from accelmap.arch.load import read_yaml as _read_arch_yaml
from accelmap.errors import ArchError, MappingError
from accelmap.ir.workload import DIMS, TENSOR_NAMES

TIMELOOP_DIMS = {"R": "R", "S": "S", "P": "P", "Q": "Q", "C": "C", "K": "M", "N": "N", "G": "G"}
"""accelmap dim -> Timeloop dim, in the order Timeloop's files list them."""
DIM_NAMES = {**{d: d for d in DIMS}, "M": "K"}
"""Timeloop dim name -> accelmap dim (accelmap's own K is accepted too)."""
DATA_SPACES = {name: tensor for tensor, name in TENSOR_NAMES.items()}
"""Timeloop data space -> accelmap tensor: Weights W, Inputs I, Outputs O."""
CNN_COEFFICIENTS = {"Wstride": ("P", 1), "Hstride": ("Q", 1), "Wdilation": ("R", 1), "Hdilation": ("S", 1)}
"""Timeloop's CNN-layer coefficient -> (the dim it multiplies in the Inputs projection, default)."""
CNN_LAYER: dict[str, tuple[tuple[str, ...], ...]] = {
    "W": (("G",), ("C",), ("K",), ("R",), ("S",)),
    "I": (("N",), ("G",), ("C",), ("R", "P"), ("S", "Q")),
    "O": (("N",), ("G",), ("K",), ("Q",), ("P",)),
}
"""Timeloop's CNN layer: per tensor its ranks in file order, each the sum of its dims times their
coefficients (1 for a single dim). G appears only in grouped layers."""
MAPPING_FILES = ("problem", "mapping")
"""File kinds whose problems are `MappingError`s; the others (architecture, ERT, ART, constraints) `ArchError`s."""


def read_yaml(path: str | Path, kind: str) -> object:
    """The parsed YAML document at `path`, a Timeloop file of `kind` ("architecture", "ERT", "problem", ...).

    Unreadable files, malformed YAML and keys given twice raise one error
    naming the file: `MappingError` for problem and mapping files, `ArchError`
    for the rest, so each command reports it with the exit code of bad input.
    """
    try:
        return _read_arch_yaml(Path(path), str(path))
    except ArchError as err:
        if kind in MAPPING_FILES:
            raise MappingError([f"{path}: {p}" for p in err.problems]) from err
        raise
