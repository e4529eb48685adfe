"""The executor's O write-order check in closed form (`runner._Drains`) against every write enumerated in
order, on random drain structures: loops that revisit or move the tile, groups that lead or not, tile keys
that cover the tiles once, twice or not at all."""
from __future__ import annotations

from itertools import product

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accelmap.backend.run.runner import _Drains, _Groups


def enumerated_problem(d: _Drains) -> str | None:
    """The rule, write by write: each tile gets exactly one first write, before every other write to it."""
    writes = []
    for idx in product(*(range(f) for f in d.factors)):
        fresh = not any(i > 0 for i, r in zip(idx, d.revisit) if r)
        key = d.base + sum(i * s for i, s in zip(idx, d.steps))
        writes += [(key + int(g), fresh and bool(lead)) for g, lead in zip(d.group_keys, d.leader)]
    firsts = [key for key, first in writes if first]
    for key in firsts:
        if not 0 <= key < d.tiles:
            return f"a first write lands on O tile {key}, outside O's {d.tiles} tiles"
    for tile in range(d.tiles):
        if firsts.count(tile) != 1:
            return (f"O tile {tile} gets {firsts.count(tile)} first writes, it needs exactly one "
                    "(psum.revisit or leader wrong, or tiles not covered)")
    first_at = {key: k for k, (key, first) in enumerate(writes) if first}
    for k, (key, _) in enumerate(writes):
        if not 0 <= key < d.tiles:
            return f"write {k} lands on O tile {key}, outside O's {d.tiles} tiles"
        if k < first_at[key]:
            return f"write {k} updates O tile {key} before its first write (psum.revisit or leader wrong)"
    return None


@st.composite
def drains(draw) -> _Drains:
    loops = draw(st.integers(0, 3))
    factors = tuple(draw(st.integers(1, 4)) for _ in range(loops))
    revisit = tuple(draw(st.booleans()) for _ in range(loops))
    # usually a revisiting loop keeps the tile (step 0) and the others move it in mixed radix
    steps, radix = [], 1
    for f, r in zip(reversed(factors), reversed(revisit)):
        steps.append(0 if r and draw(st.integers(0, 3)) else draw(st.sampled_from([radix, radix, 0, 1, 2])))
        radix *= 1 if r else f
    steps.reverse()
    instance = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
    index = np.array(list(product(*(range(n) for n in instance))), dtype=np.int64).reshape(
        int(np.prod(instance)), len(instance))
    names = tuple(f"i{k}" for k in range(len(instance)))
    leading = tuple(n for n in names if draw(st.booleans()))
    groups = _Groups(np.zeros((len(index), 1), dtype=np.int64), 1, index, names)
    moving = [k for k, n in enumerate(names) if n not in leading]
    keyed = draw(st.booleans())
    keys = np.array([radix * sum(row[k] * (1 + k) for k in moving) if keyed else draw(st.integers(0, 5))
                     for row in index.tolist()], dtype=np.int64)
    tiles = max(1, radix * (1 + sum(n - 1 for k, n in enumerate(instance) if k in moving)))
    return _Drains(factors=factors, steps=tuple(steps), revisit=revisit, base=draw(st.integers(0, 1)),
                   group_keys=keys, leader=groups.leading(leading), partner=groups.partners(leading),
                   tiles=draw(st.sampled_from([tiles, tiles + 1, max(1, tiles - 1)])))


@settings(max_examples=400, deadline=None)
@given(drains())
def test_closed_form_write_order_check_equals_every_write_in_order(d):
    assert d.write_order_problem() == enumerated_problem(d)


def test_hand_made_drains_right_and_wrong():
    # a right one, a revisiting loop that moves the tile, a non-leading group writing another tile
    found = set()
    right = _Drains((2, 3), (3, 0), (False, True), 0, np.array([0, 1, 2]), np.array([True] * 3), np.arange(3), 6)
    moved = _Drains((2, 3), (0, 1), (False, True), 0, np.array([0]), np.array([True]), np.arange(1), 3)
    apart = _Drains((2,), (2,), (False,), 0, np.array([0, 1]), np.array([True, False]), np.array([0, 0]), 4)
    for d in (right, moved, apart):
        found.add(d.write_order_problem() is None)
        assert d.write_order_problem() == enumerated_problem(d)
    assert found == {True, False}
