"""Pareto fronts: the points no other point beats in every metric (all minimised)."""
from __future__ import annotations

FRONTS: dict[str, tuple[str, str]] = {"energy-cycles": ("energy_uj", "cycles"),
                                      "energy-capacity": ("energy_uj", "onchip_kib")}
"""Each front's name and the two row fields it minimises."""


def pareto_front(points: list[tuple[float, ...]]) -> list[int]:
    """Indices (ascending) of the points that no other point dominates.

    `a` dominates `b` when `a <= b` in every metric and `a < b` in one;
    equal points do not dominate each other, so both stay. Two metrics:
    sorted by (first, second), a point is on the front when its second
    metric is below every earlier point's with a smaller first metric, or
    equal to the best point that ties it.
    """
    if points and len(points[0]) != 2:
        raise ValueError("pareto_front takes points of two metrics")
    order = sorted(range(len(points)), key=lambda i: points[i])
    front: list[int] = []
    best = float("inf")           # least second metric among points with a strictly smaller first metric
    i = 0
    while i < len(order):
        # A run of points with the same first metric: only its least second metric can be on the front.
        j = i
        while j < len(order) and points[order[j]][0] == points[order[i]][0]:
            j += 1
        low = points[order[i]][1]
        if low < best:
            front.extend(k for k in order[i:j] if points[k][1] == low)
            best = low
        i = j
    return sorted(front)
