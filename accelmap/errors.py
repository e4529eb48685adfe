"""The exceptions accelmap raises; the CLI maps each family to an exit code."""
from __future__ import annotations


class AccelmapError(Exception):
    """Base of every error caused by the user's input (exit code 2)."""


class UsageError(AccelmapError):
    """An argument or option is malformed or out of range."""


class ModelError(AccelmapError):
    """The ONNX file cannot be read, or its graph is malformed."""


class UnsupportedOp(ModelError):
    """An ONNX op, op version or attribute value accelmap does not lower."""


class ShapeError(ModelError):
    """A tensor shape is unknown or dynamic and no override was given."""


class ProblemsError(AccelmapError):
    """A document with every problem found in it, one per line; `what` names the kind of document."""

    what = "the document"

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        lines = "\n  ".join(self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s) in {self.what}:\n  {lines}")


class ArchError(ProblemsError):
    """An architecture description is invalid; carries every problem found."""

    what = "the architecture"

    def __reduce__(self):
        return type(self), (self.source, self.problems), self.__dict__


class MappingError(AccelmapError):
    """A mapping violates the mapspace's rules; carries every violation."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid mapping: " + "; ".join(self.problems))

    def __reduce__(self):
        return type(self), (self.problems,), self.__dict__


class InfeasibleLayer(AccelmapError):
    """No mapping of a layer fits the target (exit code 3)."""


class OutputError(AccelmapError):
    """An output cannot be written where asked: a file or a foreign directory in the way, no permission,
    the disk full. Nothing was written, and what was there before is intact."""


class ScheduleError(AccelmapError):
    """An OUTDIR is missing, corrupt or inconsistent."""


class CheckFailed(ScheduleError):
    """A number OUTDIR records differs from what the cost model or the executor gives for it (exit code 1)."""


class SweepSpecError(ProblemsError):
    """A sweep spec is invalid (an unknown axis, a value that makes an invalid arch, an empty grid)."""

    what = "the sweep spec"


class ClusterError(AccelmapError):
    """A Dask scheduler cannot be reached, or too few workers joined it."""
