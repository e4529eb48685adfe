"""Special functions numpy lacks, vectorised (used by Erf and Gelu)."""
from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, element-wise, in x's dtype."""
    x = np.asarray(x)
    return _erf(x.astype(np.float64)).astype(x.dtype if x.dtype.kind == "f" else np.float64)
