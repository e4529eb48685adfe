"""Seeded random small workloads (convs with strides, dilations, groups, odd and prime sizes; matmuls)
and their exhaustive optima over `Mapspace.enumerate()` scored by `model.evaluate`."""
from __future__ import annotations

import random

from accelmap.arch.spec import Arch
from accelmap.ir.workload import Workload, make_workload
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import OBJECTIVES, evaluate, score


def random_workload(rng: random.Random) -> Workload:
    """A tiny conv (maybe strided, dilated, grouped or depthwise) or matmul."""
    kind = rng.choice(["conv", "conv", "depthwise", "matmul"])
    if kind == "matmul":
        return make_workload(n=rng.choice([1, 1, 2]), p=rng.randint(1, 7), c=rng.randint(1, 7),
                             k=rng.randint(1, 7), kind="matmul")
    r, s = rng.choice([(1, 1), (3, 3), (3, 1), (2, 3), (1, 3), (5, 1)])
    stride = rng.choice([(1, 1), (1, 1), (2, 2), (2, 1), (1, 3)])
    dilation = rng.choice([(1, 1), (1, 1), (2, 1), (1, 2)])
    p, q = rng.randint(1, 7), rng.randint(1, 5)
    if kind == "depthwise":
        return make_workload(g=rng.randint(2, 5), p=p, q=q, r=r, s=s, stride=stride, dilation=dilation)
    return make_workload(g=rng.choice([1, 1, 1, 2]), k=rng.randint(1, 7), c=rng.randint(1, 5), p=p, q=q,
                         r=r, s=s, stride=stride, dilation=dilation)


def workloads(seed: int, count: int, archs: list[Arch], max_size: int) -> list[Workload]:
    """`count` distinct random workloads whose mapspace on every arch is non-empty and at most `max_size`."""
    rng = random.Random(seed)
    found: list[Workload] = []
    while len(found) < count:
        wl = random_workload(rng)
        if wl in found:
            continue
        sizes = [Mapspace(wl, arch).size() for arch in archs]
        if all(0 < n <= max_size for n in sizes):
            found.append(wl)
    return found


def exhaustive_optima(workload: Workload, arch: Arch) -> tuple[int, dict[str, tuple[int, int]]]:
    """(mapspace size, per objective the least (score, energy)) over every mapping of the mapspace.

    The energy is the least among the mappings with the least score: the
    mapper's second criterion for latency and EDP.
    """
    best: dict[str, tuple[int, int]] = {}
    count = 0
    for mapping in Mapspace(workload, arch).enumerate():
        cost = evaluate(workload, arch, mapping)
        count += 1
        for objective in OBJECTIVES:
            value = (score(cost, objective), cost.energy)
            if objective not in best or value < best[objective]:
                best[objective] = value
    return count, best
