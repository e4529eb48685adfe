"""Converter for Einsum: a mapped matmul layer when the equation is one, else a host op.

An equation is a matmul when it contracts exactly one index k, each operand
ends in its two matrix indices ({m, k} for the first, {k, n} for the second,
in either order: the order sets trans_a / trans_b), the output is the batch
indices followed by m n, and the operands' batch indices are the output's, or
a trailing part of them (numpy broadcasting). Attention writes its scores as
`bhqd,bhkd->bhqk` and linear layers as `bsd,od->bso`; both are matmuls.
Anything else (a diagonal, an index summed out of one operand, three
operands, an ellipsis) runs on the host through numpy's einsum.
"""
from __future__ import annotations

from dataclasses import dataclass

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.ops.mapped import emit_matmul
from accelmap.frontend.registry import converter


@dataclass(frozen=True)
class Equation:
    """An einsum equation split into per-operand index strings and the output's."""

    operands: tuple[str, ...]
    output: str

    @classmethod
    def parse(cls, node: OnnxNode, text: str) -> Equation:
        """Parse `text`; an implicit output is any ellipsis, then the indices used once, sorted (numpy's rule)."""
        text = text.replace(" ", "")
        inputs, arrow, output = text.partition("->")
        operands = tuple(inputs.split(","))
        if not arrow:
            letters = "".join(operands).replace("...", "")
            once = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
            output = ("..." if "..." in inputs else "") + once
        if len(operands) != len(node.inputs):
            raise UnsupportedOp(f"{node.ref}: Einsum equation {text!r} has {len(operands)} operands, "
                                f"the node {len(node.inputs)} inputs")
        return cls(operands, output)


@dataclass(frozen=True)
class MatmulForm:
    """How a two-operand einsum is a numpy matmul: whether each operand's last two axes are swapped."""

    trans_a: bool
    trans_b: bool


def matmul_form(eq: Equation) -> MatmulForm | None:
    """The matmul an equation is, or None if it is not one."""
    if len(eq.operands) != 2 or "." in "".join(eq.operands) + eq.output:
        return None
    a, b = eq.operands
    out = eq.output
    if min(len(a), len(b), len(out)) < 2 or any(len(set(s)) != len(s) for s in (a, b, out)):
        return None
    contracted = (set(a) & set(b)) - set(out)
    m, n = out[-2], out[-1]
    if len(contracted) != 1 or set(a[-2:]) != {m, *contracted} or set(b[-2:]) != {n, *contracted}:
        return None
    if m in b or n in a or set(a) | set(b) != set(out) | contracted:
        return None
    batch, batch_a, batch_b = out[:-2], a[:-2], b[:-2]
    if not (batch.endswith(batch_a) and batch.endswith(batch_b) and batch in (batch_a, batch_b)):
        return None
    return MatmulForm(trans_a=a[-1] == m, trans_b=b[-2] == n)


@converter("Einsum", since=12)
def einsum(node: OnnxNode, ctx: Lowering, *, equation: str) -> None:
    """Einsum: a mapped matmul layer when the equation is a (batched) matmul, else a host op."""
    eq = Equation.parse(node, equation)
    form = matmul_form(eq)
    if form is not None:
        emit_matmul(node, ctx, node.inputs[0], node.inputs[1], form.trans_a, form.trans_b, ())
        return
    ctx.host(node, equation=f"{','.join(eq.operands)}->{eq.output}")
