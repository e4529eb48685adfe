"""Load an arch from a preset name or a YAML file: read, check every problem, then build.

Presets are the YAML files in `presets/` and go through the same path as
user files, so a preset can never be more trusted than a user's arch.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from accelmap.arch.build import build_arch
from accelmap.arch.check import check_arch
from accelmap.arch.check_values import suggest
from accelmap.arch.spec import Arch
from accelmap.errors import ArchError

PRESET_DIR = Path(__file__).parent / "presets"


def load_arch(source: str | Path) -> Arch:
    """The arch named by `source`: a preset name ('eyeriss') or a path to a YAML file.

    Raises `ArchError(source, problems)` carrying every problem found, or
    listing the presets when `source` is neither a file nor a preset.
    """
    path, label = _locate(source)
    raw = read_yaml(path, label)
    problems = check_arch(raw)
    if problems:
        raise ArchError(label, problems)
    return build_arch(raw, name=path.stem)


def list_presets() -> list[tuple[str, str]]:
    """(name, one-line description) of every bundled preset, sorted by name."""
    return [(name, load_arch(name).description.partition("\n")[0]) for name in _preset_names()]


def _locate(source: str | Path) -> tuple[Path, str]:
    """The YAML file behind `source` and the label errors will carry.

    A bare word ('eyeriss') is a preset name first and a file in the current
    directory second; anything with a slash or a .yaml / .yml suffix is a file.
    """
    text = str(source)
    bare = not isinstance(source, Path) and not any(c in text for c in "/\\")
    if bare and not text.endswith((".yaml", ".yml")):
        preset = PRESET_DIR / f"{text}.yaml"
        if preset.is_file():
            return preset, text
        if not Path(text).is_file():
            names = _preset_names()
            raise ArchError(text, [f"unknown preset '{text}'{suggest(text, names) or '.'} "
                                   f"Presets: {', '.join(names)}; or give a path to a YAML file"])
    path = Path(source)
    if not path.is_file():
        raise ArchError(text, ["no such file; give a YAML file or a preset name "
                               f"({', '.join(_preset_names())})"])
    return path, text


def _preset_names() -> list[str]:
    """Names of the bundled presets."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice is an error instead of silently overwritten."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """The mapping at `node`, refusing a key that appears twice."""
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float)):
                continue  # unhashable or odd keys: the base loader or check_arch reports them
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, label: str) -> object:
    """The parsed document at `path`; unreadable or malformed YAML becomes an ArchError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ArchError(label, [f"cannot read the file: {err}"]) from err
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = getattr(err, "problem", None) or str(err)
        raise ArchError(label, [f"not valid YAML: {where}{what}"]) from err
