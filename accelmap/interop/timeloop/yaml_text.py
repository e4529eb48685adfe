"""YAML text as Timeloop files are written: document order, short lists inline."""
from __future__ import annotations

import yaml


def dump(doc: dict) -> str:
    """`doc` as YAML in document order, short lists inline."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110)
