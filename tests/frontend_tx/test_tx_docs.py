"""docs/frontend-ops.md lists exactly the registered converters of its families, with their opsets."""
from __future__ import annotations

import re
from pathlib import Path

from accelmap.frontend.load import MIN_OPSET
from accelmap.frontend.registry import CONVERTERS, supported_ops

DOC = Path(__file__).resolve().parents[2] / "docs" / "frontend-ops.md"
FAMILIES = ("math", "tensor", "reduce", "transformer", "resize", "conv_transpose", "einsum")
ROW = re.compile(r"^\| (\w+) \| (\d+)(–\d+|\+)? \| ")


def documented() -> dict[tuple[str, int], int | None]:
    """(op, first opset) -> last opset (None: open-ended) for every table row."""
    rows = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            op, first, rest = match.group(1), int(match.group(2)), match.group(3)
            rows[op, first] = None if rest == "+" else int(rest[1:]) if rest else first
    return rows


def registered() -> dict[tuple[str, int], int | None]:
    """The same mapping from the converter registry, for this document's families."""
    supported_ops()  # imports every converter family
    rows = {}
    for op, versions in CONVERTERS.items():
        mine = [c for c in versions if c.fn.__module__.rsplit(".", 1)[-1] in FAMILIES]
        for this, following in zip(mine, mine[1:] + [None]):
            rows[op, max(this.since, MIN_OPSET)] = following.since - 1 if following else None
    return rows


def test_table_matches_registry() -> None:
    assert documented() == registered()
