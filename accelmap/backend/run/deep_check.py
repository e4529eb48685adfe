"""Checking the deep executor against the cost model, and `deep_validate_outdir` for an OUTDIR.

`count_mismatches` lists every count where a `DeepResult` and the model
(an `evaluate` Cost, or the cost dict stored in schedule.json) differ, one
line each, naming level, tensor, count and both numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accelmap.backend.run.deep import DeepResult, simulate_layer
from accelmap.backend.outdir.load import load_schedule
from accelmap.errors import ScheduleError
from accelmap.mapper.counts import Counts, differences
from accelmap.ir.kernels import conv_nest
from accelmap.mapper.model import Cost, evaluate


@dataclass(frozen=True)
class DeepLayerCheck:
    """One mapped layer run through every level: output error and count mismatches (empty = exact)."""

    name: str
    macs: int
    max_abs_error: float
    mismatches: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Outputs exact and every count equal to the model's."""
        return self.max_abs_error == 0 and not self.mismatches


def _model_rows(cost: Cost | dict[str, Any]) -> tuple[list[dict[str, Counts]], list[dict[str, Any]]]:
    """Per level {tensor: Counts} and per fanout {name, deliveries}, from a Cost or its JSON."""
    if isinstance(cost, Cost):
        levels = [{t: tr.counts() for t, tr in row.items()} for row in cost.traffic]
        fanouts = [{"name": ft.name, "deliveries": dict(ft.deliveries)} for ft in cost.fanouts]
        return levels, fanouts
    levels = [{t: Counts.of(tr) for t, tr in row.items()} for row in cost["traffic"]]
    return levels, [{"name": ft["name"], "deliveries": dict(ft["deliveries"])} for ft in cost["fanouts"]]


def count_mismatches(result: DeepResult, cost: Cost | dict[str, Any]) -> list[str]:
    """Every level / tensor / count and fanout / tensor delivery where the simulation and `cost` differ."""
    levels, fanouts = _model_rows(cost)
    problems = []
    for i, (got, want) in enumerate(zip(result.counts, levels)):
        if set(got) != set(want):
            problems.append(f"level {result.levels[i]}: simulated tensors {sorted(got)}, model {sorted(want)}")
        for t in sorted(set(got) & set(want)):
            problems += [f"level {result.levels[i]} {t} {f}: simulated {a}, model {b}"
                         for f, a, b in differences(got[t], want[t])]
    for got, want in zip(result.fanouts, fanouts):
        for t, b in want["deliveries"].items():
            a = got.deliveries.get(t, 0)
            if a != int(b):
                problems.append(f"fanout {got.name} {t} deliveries: simulated {a}, model {b}")
    return problems


def deep_validate_outdir(out_dir: str | Path, layer: str | None = None, seed: int = 0) -> list[DeepLayerCheck]:
    """Run each mapped layer of `out_dir` (or only `layer`) through every level on random integer tensors.

    The output is compared with `conv_nest` (exact: integer values) and the
    counts with both the cost stored in schedule.json and a fresh `evaluate`.
    """
    schedule = load_schedule(out_dir)
    plans = [p for p in schedule.layers if layer is None or p.name == layer]
    if layer is not None and not plans:
        names = ", ".join(p.name for p in schedule.layers) or "(none)"
        raise ScheduleError(f"{out_dir}: no mapped layer named {layer!r}; mapped layers: {names}")
    rng = np.random.default_rng(seed)
    checks = []
    for plan in plans:
        wl = plan.workload
        i_canon = rng.integers(-3, 4, wl.tensor_shape("I")).astype(np.float64)
        w_canon = rng.integers(-3, 4, wl.tensor_shape("W")).astype(np.float64)
        result = simulate_layer(wl, schedule.arch, plan.mapping, i_canon, w_canon)
        error = float(np.max(np.abs(result.outputs - conv_nest(i_canon, w_canon, wl)), initial=0.0))
        problems = [f"stored cost: {m}" for m in count_mismatches(result, plan.cost)]
        problems += [f"model: {m}" for m in count_mismatches(result, evaluate(wl, schedule.arch, plan.mapping))]
        checks.append(DeepLayerCheck(plan.name, result.macs, error, tuple(problems)))
    return checks
