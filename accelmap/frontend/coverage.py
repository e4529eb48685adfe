"""What the accelerator runs and what falls to the host: host ops by type and the share of MACs mapped."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from accelmap.ir.graph import Graph
from accelmap.ir.host.macs import host_macs


@dataclass(frozen=True)
class Coverage:
    """Host ops counted by ONNX op (most frequent first), and MACs on mapped layers versus on the host."""

    host_ops: dict[str, int]
    mapped_macs: int
    host_macs: int

    @property
    def mapped_share(self) -> float:
        """Fraction of all MACs that run on mapped layers (1.0 when there are none at all)."""
        total = self.mapped_macs + self.host_macs
        return self.mapped_macs / total if total else 1.0

    def line(self) -> str:
        """One line: which ops fell to the host, and the share of MACs mapped."""
        ops = ", ".join(f"{n} {op}" for op, n in self.host_ops.items()) or "none"
        return (f"host ops: {ops}; {100 * self.mapped_share:.1f}% of MACs mapped "
                f"({self.mapped_macs:,} of {self.mapped_macs + self.host_macs:,})")


def coverage(graph: Graph) -> Coverage:
    """Count `graph`'s host ops by op and split its MACs between mapped layers and the host."""
    counts = Counter(node.op for node in graph.host_ops())
    ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def shape(tensor: str) -> tuple[int, ...] | None:
        if not tensor:
            return None
        return tuple(graph.constants[tensor].shape) if tensor in graph.constants else graph.tensors[tensor].shape

    on_host = sum(host_macs(node.op, [shape(t) for t in node.inputs], node.attrs) for node in graph.host_ops())
    return Coverage(ordered, graph.macs, on_host)
