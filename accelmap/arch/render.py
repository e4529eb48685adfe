"""`render_arch`: an `Arch` as indented text, outermost level first, for `accelmap arch show`."""
from __future__ import annotations

from accelmap.arch.spec import DIMS, TENSORS, Accounting, Arch, Fanout, Level


def render_arch(arch: Arch) -> str:
    """The hierarchy (levels with instances, capacities, per-tensor widths and energies,
    bandwidths; fanouts with X x Y and their abilities), compute, peak and constraints."""
    lines = [f"{arch.name}: {arch.description}" if arch.description else arch.name,
             f"clock {arch.clock_mhz:g} MHz; {arch.num_pes} PEs; "
             f"peak {arch.peak_macs_per_cycle} MACs/cycle", ""]
    indent = ""
    for index, level in enumerate(arch.levels):
        lines += [indent + line for line in _level_lines(level, arch.instances(index))]
        fanout = arch.fanout_below(index)
        if fanout is not None:
            lines += [indent + "  " + line for line in _fanout_lines(fanout)]
            indent += "    "
    lines.append(f"compute: {arch.compute.macs_per_pe} MAC(s) per PE x {arch.num_pes} PEs = "
                 f"{arch.peak_macs_per_cycle} MACs/cycle, {_pj(arch.compute.mac_energy)} per MAC"
                 + ("" if arch.compute.area is None else f", {_area(arch.compute.area)} each"))
    total = arch.area
    if total is not None:
        lines.append(f"area: {_area(total)} (every instance of every level and MAC)")
    elif arch.compute.area is not None or any(level.area is not None for level in arch.levels):
        lines.append("area: not every on-chip level gives one, so no total")
    if arch.accounting != Accounting():
        lines.append(f"accounting: drain reads {'priced' if arch.accounting.drain_reads else 'free'}, "
                     f"partial-sum first writes and overwrites priced as {arch.accounting.psum_writes}, "
                     f"input halos slide {'past' if arch.accounting.halo_past_irrelevant else 'only without'} "
                     "inner irrelevant loops (docs/timeloop.md)")
    lines += _constraint_lines(arch)
    return "\n".join(lines)


def _level_lines(level: Level, instances: int) -> list[str]:
    """A level's header, its partitions and one row per tensor it may keep."""
    head = f"{level.name} (x{instances}): "
    area = "" if level.area is None else f", {_area(level.area)} each"
    if not level.storage:
        return [head + "no storage (only fans out / sequences loops)" + area]
    head += ("unbounded" if level.capacity_bits is None else _kb(level.capacity_bits)) + area
    if level.partitions:
        head += f" in {len(level.partitions)} partitions"
    if level.double_buffered:
        head += ", double-buffered (tiles use half)"
    lines = [head]
    for part in level.partitions:
        tensors = " ".join(t for t in level.tensors if t in part.tensors)
        lines.append(f"  partition {part.name} [{tensors}]: {_kb(part.capacity_bits)}")
    for tensor, cost in level.tensors.items():
        bits = _bits_for(level, tensor)
        words = "" if bits is None else f"  {_count(bits // cost.word_bits, 'word')}"
        lines.append(f"  {tensor}  {cost.word_bits}-bit{words}  read {_pj(cost.read_energy)}  "
                     f"write {_pj(cost.write_energy)}  update {_pj(cost.update_energy)}")
    if level.read_bandwidth is not None or level.write_bandwidth is not None:
        lines.append(f"  bandwidth: read {_bandwidth(level.read_bandwidth)}, "
                     f"write {_bandwidth(level.write_bandwidth)} words/cycle per instance")
    return lines


def _bits_for(level: Level, tensor: str) -> int | None:
    """The capacity `tensor` shares at `level`: its partition's, else the whole level's."""
    for part in level.partitions:
        if tensor in part.tensors:
            return part.capacity_bits
    return level.capacity_bits


def _fanout_lines(fanout: Fanout) -> list[str]:
    """A fanout: children X x Y, multicast / reduction, hop energy, allowed dims per axis."""
    abilities = ", ".join(word if able else f"no {word}" for word, able in
                          (("multicast", fanout.multicast), ("reduction", fanout.reduction)))
    return [f"fanout {fanout.name}: {fanout.x} x {fanout.y} = {fanout.x * fanout.y} children (X x Y); "
            f"{abilities}; hop {_pj(fanout.hop_energy)}",
            f"  X dims: {_dims(fanout.x_dims)}; Y dims: {_dims(fanout.y_dims)}"]


def _constraint_lines(arch: Arch) -> list[str]:
    """Dataflow constraints, one line per level or fanout they touch."""
    lines = []
    for c in arch.level_constraints:
        parts = _factor_parts("factors", c.factors, c.max_factors, c.min_factors)
        if c.permutation:
            parts.append("order outer to inner " + " ".join(c.permutation))
        if c.innermost_loops:
            parts.append("innermost loops, outer to inner, the rest outside: " + " ".join(c.innermost_loops))
        for word, tensors in (("keep", c.keep), ("bypass", c.bypass)):
            if tensors:
                parts.append(f"{word} " + " ".join(t for t in TENSORS if t in tensors))
        lines.append(f"  level {c.level}: " + "; ".join(parts))
    for c in arch.fanout_constraints:
        parts = [*_factor_parts("X factors", c.x_factors, c.x_max_factors, c.x_min_factors),
                 *_factor_parts("Y factors", c.y_factors, c.y_max_factors, c.y_min_factors)]
        lines.append(f"  fanout {c.fanout}: " + "; ".join(parts))
    return ["constraints:" + ("" if lines else " none"), *lines]


def _factor_parts(label: str, fixed: dict[str, int], most: dict[str, int], least: dict[str, int]) -> list[str]:
    """Fixed factors (0: the whole remaining bound) and the bounds on others, as text."""
    parts = []
    if fixed:
        parts.append(f"{label} " + " ".join(f"{d}={f}" for d, f in fixed.items())
                     + (" (0: whole remaining bound)" if 0 in fixed.values() else ""))
    bounds = [f"{d}<={f}" for d, f in most.items()] + [f"{d}>={f}" for d, f in least.items()]
    if bounds:
        parts.append(f"{label} " + " ".join(bounds))
    return parts


def _area(square_um: float) -> str:
    """An area in µm², or mm² when large."""
    return f"{square_um / 1e6:.4g} mm²" if square_um >= 1e5 else f"{square_um:.4g} µm²"


def _kb(bits: int) -> str:
    """A capacity in KB (1024 bytes), with bytes beside it when small and MB when large."""
    kb = bits / 8 / 1024
    if kb < 1:
        return f"{kb:.4g} KB ({bits / 8:g} B)"
    return f"{kb:.6g} KB" + (f" ({kb / 1024:.6g} MB)" if kb >= 1024 else "")


def _pj(femtojoules: int) -> str:
    """An integer fJ energy shown in pJ."""
    return f"{femtojoules / 1000:.3f} pJ"


def _bandwidth(words: float | None) -> str:
    """Words per cycle, or 'unlimited'."""
    return "unlimited" if words is None else f"{words:g}"


def _dims(dims: frozenset[str] | None) -> str:
    """Allowed dims in canonical order, or 'any'."""
    if dims is None:
        return "any"
    return " ".join(d for d in DIMS if d in dims) or "none"


def _count(n: int, noun: str) -> str:
    """'1 word', '224 words'."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
