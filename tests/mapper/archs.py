"""Hand-built `Arch`es for the mapper tests: small enough to reason about, varied enough to cover the spec.

Energies are distinct per level and per access kind so that a hand derivation
can be read off the expected numbers (fJ): DRAM 200/210/220, GLB 6/7/8, RF
1/2/3 (read/write/update), hop 2, MAC 1.
"""
from __future__ import annotations

from pathlib import Path

from accelmap.arch.load import load_arch
from accelmap.arch.spec import Arch, Compute, Fanout, Level, Partition, TensorCost
from accelmap.interop.timeloop import import_timeloop_design

BITS = {"W": 8, "I": 8, "O": 16}


def costs(read: int, write: int, update: int, tensors: str = "WIO") -> dict[str, TensorCost]:
    """The same energies for every tensor in `tensors`, with `BITS` word widths."""
    return {t: TensorCost(BITS[t], read, write, update) for t in tensors}


def dram() -> Level:
    """Unbounded DRAM keeping everything: 1.5 words/cycle read, 2 write."""
    return Level("DRAM", None, costs(200, 210, 220), frozenset("WIO"),
                 read_bandwidth=1.5, write_bandwidth=2.0)


def three_level(glb_bits: int = 8 * 1024, rf_bits: int = 256) -> Arch:
    """DRAM / GLB / RF with a 4x4 multicasting, reducing array below the GLB."""
    return Arch(
        name="three_level",
        levels=(dram(),
                Level("GLB", glb_bits, costs(6, 7, 8), frozenset("WIO"), read_bandwidth=16.0,
                      write_bandwidth=16.0),
                Level("RF", rf_bits, costs(1, 2, 3), frozenset("WIO"))),
        fanouts=(Fanout("PE_array", "GLB", 4, 4, multicast=True, reduction=True, hop_energy=2),),
        compute=Compute(macs_per_pe=1, mac_energy=1))


def partitioned() -> Arch:
    """Eyeriss-like: GLB (I, O only, double-buffered) over a 2x2 array of PEs with W / I / O scratchpads."""
    return Arch(
        name="partitioned",
        levels=(dram(),
                Level("GLB", 2048, costs(6, 7, 8, "IO"), frozenset("IO"), double_buffered=True),
                Level("PE", 24 * 8 + 12 * 8 + 8 * 16, costs(1, 2, 3), frozenset("WIO"),
                      partitions=(Partition("filter_spad", frozenset("W"), 24 * 8),
                                  Partition("ifmap_spad", frozenset("I"), 12 * 8),
                                  Partition("psum_spad", frozenset("O"), 8 * 16)))),
        fanouts=(Fanout("PE_array", "GLB", 2, 2, multicast=True, reduction=False, hop_energy=2),),
        compute=Compute(macs_per_pe=1, mac_energy=1))


def two_fanouts() -> Arch:
    """DRAM / GLB, 2 columns (X) below the GLB, a buffer-less column level, 2 rows (Y) below it, RF."""
    return Arch(
        name="two_fanouts",
        levels=(dram(),
                Level("GLB", 4096, costs(6, 7, 8), frozenset("WIO")),
                Level("column", 0, {}, frozenset(), storage=False),
                Level("RF", 128, costs(1, 2, 3), frozenset("WIO"))),
        fanouts=(Fanout("columns", "GLB", 2, 1, multicast=True, reduction=False, hop_energy=2),
                 Fanout("rows", "column", 1, 2, multicast=False, reduction=True, hop_energy=3)),
        compute=Compute(macs_per_pe=2, mac_energy=1))


ALL = {"three_level": three_level, "partitioned": partitioned, "two_fanouts": two_fanouts}


ISPASS = Path(__file__).parents[1] / "timeloop" / "fixtures" / "eyeriss_ispass"


def walk_archs() -> dict[str, Arch]:
    """Presets and Timeloop's ISPASS Eyeriss (six levels) imported with and without its constraints."""
    files = (ISPASS / "arch.yaml", ISPASS / "ERT.yaml")
    return {"eyeriss": load_arch("eyeriss"), "simba": load_arch("simba"), "edge_npu": load_arch("edge_npu"),
            "ispass": import_timeloop_design(*files).arch,
            "ispass_constrained": import_timeloop_design(*files, constraints=(ISPASS / "constraints.yaml",)).arch}


WALK_ARCHS = walk_archs()
