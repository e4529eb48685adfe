"""Small archs shaped like the presets (same levels, partitions, fanouts and dataflow constraints),
with arrays and buffers shrunk so a tiny layer's mapspace enumerates in well under a second."""
from __future__ import annotations

from pathlib import Path

from accelmap.arch import build_arch, check_arch
from accelmap.arch.spec import Arch
from accelmap.interop.timeloop import import_timeloop_design

EYERISS_LIKE = {
    "description": "eyeriss-like: GLB for I and O, W/I/O scratchpads, 2x2 array, row stationary",
    "levels": [
        {"name": "DRAM", "word-bits": 16, "read_energy": 200.0, "write_energy": 200.0,
         "read_bandwidth": 4, "write_bandwidth": 4},
        {"name": "GLB", "tensors": ["I", "O"], "depth": 24, "width": 16, "word-bits": 16,
         "read_energy": 6.0, "write_energy": 6.0, "read_bandwidth": 2, "write_bandwidth": 2},
        {"name": "PE", "word-bits": 16,
         "partitions": [{"name": "filter_spad", "tensors": ["W"], "depth": 12, "width": 16},
                        {"name": "ifmap_spad", "tensors": ["I"], "depth": 6, "width": 16},
                        {"name": "psum_spad", "tensors": ["O"], "depth": 4, "width": 16}],
         "read_energy": 1.0, "write_energy": 1.0},
    ],
    "fanouts": [{"name": "PE_array", "parent": "GLB", "meshX": 2, "meshY": 2, "multicast": True,
                 "reduction": True, "hop_energy": 2.0}],
    "compute": {"mac_energy": 1.0},
    "constraints": [{"level": "PE", "factors": {"S": 0}},
                    {"fanout": "PE_array", "x_dims": ["P", "Q", "K"], "y_dims": ["R", "C", "K"]}],
}

GEMMINI_LIKE = {
    "description": "gemmini-like: scratchpad (W, I), accumulator (O), 2x2 weight-stationary mesh",
    "levels": [
        {"name": "DRAM", "word-bits": {"W": 8, "I": 8, "O": 32}, "read_energy": {"W": 100.0, "I": 100.0, "O": 400.0},
         "write_energy": {"W": 100.0, "I": 100.0, "O": 400.0}, "read_bandwidth": 16, "write_bandwidth": 16},
        {"name": "scratchpad", "tensors": ["W", "I"], "depth": 4, "block-size": 4, "word-bits": 8,
         "read_energy": 3.0, "write_energy": 3.0, "read_bandwidth": 4, "write_bandwidth": 4},
        {"name": "accumulator", "tensors": ["O"], "depth": 2, "block-size": 4, "word-bits": 32,
         "read_energy": 12.0, "write_energy": 12.0, "read_bandwidth": 4, "write_bandwidth": 4},
        {"name": "PE", "tensors": ["W"], "depth": 2, "width": 8, "word-bits": 8, "double_buffered": True,
         "read_energy": 0.1, "write_energy": 0.1},
    ],
    "fanouts": [{"name": "mesh", "parent": "accumulator", "meshX": 2, "meshY": 2, "multicast": True,
                 "reduction": True, "hop_energy": 0.25}],
    "compute": {"mac_energy": 0.3},
    "constraints": [{"level": "PE", "keep": ["W"]},
                    {"fanout": "mesh", "x_dims": ["C", "R", "S"], "y_dims": ["K"]}],
}

SIMBA_LIKE = {
    "description": "simba-like: global buffer (I, O), PE buffers, weight registers, two fanouts",
    "levels": [
        {"name": "DRAM", "word-bits": {"W": 8, "I": 8, "O": 24}, "read_energy": {"W": 100.0, "I": 100.0, "O": 300.0},
         "write_energy": {"W": 100.0, "I": 100.0, "O": 300.0}, "read_bandwidth": 16, "write_bandwidth": 16},
        {"name": "GlobalBuffer", "tensors": ["I", "O"], "capacity": "32B", "word-bits": {"I": 8, "O": 24},
         "read_energy": {"I": 3.0, "O": 9.0}, "write_energy": {"I": 3.0, "O": 9.0},
         "read_bandwidth": 8, "write_bandwidth": 8},
        {"name": "PE", "word-bits": {"W": 8, "I": 8, "O": 24},
         "partitions": [{"name": "weight_buffer", "tensors": ["W"], "capacity": "8B"},
                        {"name": "input_buffer", "tensors": ["I"], "capacity": "6B"},
                        {"name": "accumulation_buffer", "tensors": ["O"], "capacity": "12B"}],
         "read_energy": {"W": 1.0, "I": 1.0, "O": 3.0}, "write_energy": {"W": 1.0, "I": 1.0, "O": 3.0}},
        {"name": "weight_reg", "tensors": ["W"], "depth": 1, "width": 8, "word-bits": 8,
         "read_energy": 0.1, "write_energy": 0.1},
    ],
    "fanouts": [{"name": "PE_array", "parent": "GlobalBuffer", "meshX": 2, "meshY": 1, "multicast": True,
                 "reduction": True, "hop_energy": 1.0},
                {"name": "vector_lanes", "parent": "PE", "meshX": 2, "meshY": 2, "multicast": True,
                 "reduction": True, "hop_energy": 0.25}],
    "compute": {"mac_energy": 0.3},
    "constraints": [{"level": "weight_reg", "keep": ["W"]},
                    {"fanout": "PE_array", "x_dims": ["K", "C", "P", "Q"], "y_dims": ["K", "C", "P", "Q"]},
                    {"fanout": "vector_lanes", "x_dims": ["C"], "y_dims": ["K"]}],
}

DEEP_CHAIN = {
    "description": "shaped like Timeloop's ISPASS Eyeriss: six levels, a dummy level forced to unit factors, "
                   "a chain of single-tensor scratchpads, two fanouts",
    "levels": [
        {"name": "DRAM", "word-bits": 16, "read_energy": 200.0, "write_energy": 200.0,
         "read_bandwidth": 4, "write_bandwidth": 4},
        {"name": "glb", "tensors": ["I", "O"], "depth": 32, "width": 16, "word-bits": 16,
         "read_energy": 6.0, "write_energy": 5.0, "update_energy": 11.0, "read_bandwidth": 4, "write_bandwidth": 4},
        {"name": "dummy", "storage": False},
        {"name": "ifmap_spad", "tensors": ["I"], "depth": 3, "width": 16, "word-bits": 16,
         "read_energy": 0.5, "write_energy": 0.4, "read_bandwidth": 2, "write_bandwidth": 2},
        {"name": "weights_spad", "tensors": ["W"], "depth": 4, "width": 16, "word-bits": 16,
         "read_energy": 1.5, "write_energy": 1.4},
        {"name": "psum_spad", "tensors": ["O"], "depth": 2, "width": 16, "word-bits": 16,
         "read_energy": 0.4, "write_energy": 0.3, "update_energy": 0.7, "read_bandwidth": 2, "write_bandwidth": 2},
    ],
    "fanouts": [{"name": "columns", "parent": "glb", "meshX": 2, "meshY": 1, "multicast": True,
                 "reduction": True, "hop_energy": 0.5},
                {"name": "rows", "parent": "dummy", "meshX": 1, "meshY": 2, "multicast": True,
                 "reduction": True, "hop_energy": 0.25}],
    "compute": {"mac_energy": 0.3},
    "constraints": [{"level": "dummy", "factors": {d: 1 for d in ("N", "G", "K", "C", "P", "Q", "R", "S")}}],
}

RAW = {"eyeriss_like": EYERISS_LIKE, "gemmini_like": GEMMINI_LIKE, "simba_like": SIMBA_LIKE,
       "deep_chain": DEEP_CHAIN}


def small_arch(name: str) -> Arch:
    """One of the small preset-shaped archs, checked and built like any YAML arch."""
    raw = RAW[name]
    problems = check_arch(raw)
    assert not problems, problems
    return build_arch(raw, name)


ISPASS = Path(__file__).parents[1] / "timeloop" / "fixtures" / "eyeriss_ispass"


def ispass_arch(constrained: bool) -> Arch:
    """Timeloop's ISPASS Eyeriss (six levels, two fanouts), imported with or without its constraints."""
    files = (ISPASS / "arch.yaml", ISPASS / "ERT.yaml")
    return import_timeloop_design(*files, constraints=(ISPASS / "constraints.yaml",) if constrained else ()).arch
