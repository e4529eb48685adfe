"""Pareto fronts against a brute-force filter, and the marks a table gets per model and objective."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from accelmap.sweep.pareto import pareto_front
from accelmap.sweep.table import SweepRow, mark_pareto


def brute_force(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point dominates (<= in both, < in one), by checking every pair."""
    def dominates(a, b):
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for q in points)]


# Few distinct values, so ties in one or both metrics are common.
POINTS = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(POINTS)
def test_pareto_front_equals_brute_force(points):
    assert pareto_front(points) == brute_force(points)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 10), st.floats(0.1, 10)), max_size=40))
def test_pareto_front_equals_brute_force_on_floats(points):
    assert pareto_front(points) == brute_force(points)


def row(design, energy, cycles, kib, model="m", objective="energy", feasible=True) -> SweepRow:
    return SweepRow(design, (), model, objective, feasible, energy if feasible else None,
                    cycles if feasible else None, energy * cycles if feasible else None, kib, 16, 3,
                    1.0 if feasible else None, 0.0 if feasible else None)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.sampled_from("ab"),
                          st.booleans()), max_size=25))
def test_table_marks_each_model_and_objective_on_its_own(spec):
    rows = [row(f"d{i}", e, c, k, model=m, feasible=ok) for i, (e, c, k, m, ok) in enumerate(spec)]
    marked = mark_pareto(rows)
    for model in "ab":
        members = [r for r in marked if r.model == model and r.feasible]
        for front, fields in (("energy-cycles", ("energy_uj", "cycles")), ("energy-capacity", ("energy_uj", "onchip_kib"))):
            points = [tuple(getattr(r, f) for f in fields) for r in members]
            assert [i for i, r in enumerate(members) if front in r.pareto] == brute_force(points)
    assert all(not r.pareto for r in marked if not r.feasible)
