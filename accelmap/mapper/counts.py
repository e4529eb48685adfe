"""`Counts`: the six word counts of one tensor at one level, one record for every counter.

The cost model predicts them (`model.Traffic` extends this record), the
executor and the deep simulator count them, the Timeloop evaluator reports
them, and `differences` compares any two, so the words and their meaning
(docs/cost-model.md) live here once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Counts:
    """Words of one tensor at one level, summed over the level's instances.

    `fills`: written into the level from above; `reads`: leaving it (to
    children, MACs or, for O, the write-back to the parent); `updates`:
    output words arriving from below, split into `first_writes` (a word's
    first write in the layer), `overwrites` (the write-back of a running sum
    the level had handed down for a read-back) and `rmw` (read-modify-writes).
    """

    FIELDS: ClassVar[tuple[str, ...]] = ("fills", "reads", "updates", "first_writes", "overwrites", "rmw")

    fills: int
    reads: int
    updates: int
    first_writes: int
    overwrites: int
    rmw: int

    def counts(self) -> Counts:
        """Only the six counts (of a record that extends them)."""
        return Counts(*(getattr(self, f) for f in Counts.FIELDS))

    @staticmethod
    def of(doc: dict[str, Any]) -> Counts:
        """The six counts from a JSON object holding them (schedule.json's `cost.traffic` entries)."""
        return Counts(*(int(doc[f]) for f in Counts.FIELDS))



def differences(got: Counts, want: Counts, fields_: tuple[str, ...] = Counts.FIELDS) -> list[tuple[str, int, int]]:
    """(count, got, want) for every count in `fields_` where the two records differ."""
    return [(f, getattr(got, f), getattr(want, f)) for f in fields_ if getattr(got, f) != getattr(want, f)]

