"""Architecture descriptions: the `Arch` data model, YAML checking and building, presets, rendering."""
from accelmap.arch.build import build_arch
from accelmap.arch.check import check_arch
from accelmap.arch.load import list_presets, load_arch
from accelmap.arch.render import render_arch
from accelmap.arch.spec import Arch

__all__ = ["Arch", "build_arch", "check_arch", "list_presets", "load_arch", "render_arch"]
