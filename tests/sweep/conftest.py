"""Fixtures of the sweep tests (the helpers live in helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from accelmap import api

from .helpers import tiny_model, write_spec


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A directory holding tiny.onnx and spec.yaml (the four tiny designs)."""
    root = tmp_path_factory.mktemp("sweep")
    tiny_model(root / "tiny.onnx")
    write_spec(root / "spec.yaml")
    return root


@pytest.fixture(scope="session")
def reference(tiny_dir, tmp_path_factory):
    """The four tiny designs solved one task after another in this process: (result, sweep.csv text, root)."""
    root = tmp_path_factory.mktemp("reference")
    result = api.sweep(tiny_dir / "spec.yaml", root / "out", in_process=True, cache_dir=root / "cache")
    return result, (root / "out" / "sweep.csv").read_text(), root
