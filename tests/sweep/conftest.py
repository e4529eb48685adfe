"""Fixtures of the sweep tests (the helpers live in helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import tiny_model, write_spec


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A directory holding tiny.onnx and spec.yaml (the four tiny designs)."""
    root = tmp_path_factory.mktemp("sweep")
    tiny_model(root / "tiny.onnx")
    write_spec(root / "spec.yaml")
    return root
