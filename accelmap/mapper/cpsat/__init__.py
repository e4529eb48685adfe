"""The CP-SAT formulation of a whole mapspace (docs/cost-model.md as constraints).

- `nest`: the problem's static shape for the solver (the mapspace's slots from `slots.py`, padding candidates);
- `terms`: products of loop factors as prime-exponent sums and table lookups;
- `decisions`: the decision variables (factors, loop-order classes, keep) and the literals derived from them;
- `cost`: traffic terms, then energy, cycles and capacity;
- `formulation`: build, solve, decode, hint.
"""
from accelmap.mapper.cpsat.formulation import (Formulation, Outcome, add_hint, build, decode, new_solver,
                                               order_features, pin, presolve_seconds, solve_once)

__all__ = ["Formulation", "Outcome", "add_hint", "build", "decode", "new_solver", "order_features", "pin",
           "presolve_seconds", "solve_once"]
