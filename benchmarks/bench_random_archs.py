"""Designs nobody tuned for: seeded random arch files of realistic size, each compiled as a user would.

Each design has DRAM and one to four on-chip levels (64 B to 256 KB, some keeping only some tensors,
double buffering, bandwidths, per-tensor partitions in the innermost level) and fanouts of up to 16 x 16
children (some without multicast or reduction). For each design: `accelmap compile MODEL --arch FILE
--no-cache --validate` in a fresh process at the defaults (30 s per unique layer, worker processes as
the CLI picks), one row: layers proved, energy over the lower bound, "mapped in" as printed, the whole
process, exit code and the validation verdict.

    python benchmarks/bench_random_archs.py --seed 1 --count 8 --models resnet18,mobilenetv2
"""
from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from accelmap.arch import check_arch

CAPACITIES = (64, 128, 256, 512, 1024, 4096, 16384, 65536, 131072, 262144)
"""Bytes an on-chip level may have (sorted, outermost largest)."""


def random_design(rng: random.Random, name: str) -> dict:
    """One arch document of realistic size (see the module docstring); may break the format's rules."""
    bits = rng.choice([8, 16])
    levels = [{"name": "DRAM", "word-bits": bits, "read_energy": 200.0, "write_energy": 200.0,
               "read_bandwidth": rng.choice([4, 8, 16, 32]), "write_bandwidth": rng.choice([4, 8, 16, 32])}]
    on_chip = rng.randint(1, 4)
    capacities = sorted((rng.choice(CAPACITIES) for _ in range(on_chip)), reverse=True)
    for i, capacity in enumerate(capacities):
        tensors = ["W", "I", "O"] if rng.random() < 0.6 else sorted(rng.sample("WIO", rng.randint(1, 2)))
        energy = round(0.5 + 6.0 * (i == 0) + rng.random(), 2)
        level = {"name": f"L{i + 1}", "tensors": tensors, "word-bits": bits, "read_energy": energy,
                 "write_energy": energy}
        if i == on_chip - 1 and len(tensors) >= 2 and rng.random() < 0.5:
            level["partitions"] = [{"name": f"L{i + 1}_{t}", "tensors": [t],
                                    "capacity": f"{max(8, capacity // len(tensors))}B"} for t in tensors]
        else:
            level["capacity"] = f"{capacity}B"
        if i == 0 and rng.random() < 0.5:
            level["double_buffered"] = True
        if rng.random() < 0.5:
            level["read_bandwidth"] = rng.choice([2, 4, 8, 16, 32])
            level["write_bandwidth"] = rng.choice([2, 4, 8, 16, 32])
        levels.append(level)
    fanouts = [{"name": f"F{i}", "parent": f"L{i}", "meshX": rng.choice([2, 4, 8, 12, 14, 16]),
                "meshY": rng.choice([1, 2, 4, 8, 12, 16]), "multicast": rng.random() < 0.85,
                "reduction": rng.random() < 0.85, "hop_energy": rng.choice([0.0, 0.5, 1.0])}
               for i in range(1, on_chip + 1) if rng.random() < (0.7 if i == 1 else 0.3)]
    return {"description": f"random design {name}", "levels": levels, "fanouts": fanouts,
            "compute": {"mac_energy": 0.3}}


def designs(seed: int, count: int, folder: Path) -> list[Path]:
    """`count` design files the format accepts, written to `folder`."""
    rng, paths = random.Random(seed), []
    while len(paths) < count:
        name = f"s{seed}_{len(paths)}"
        doc = random_design(rng, name)
        if not check_arch(doc):
            paths.append(folder / f"{name}.yaml")
            paths[-1].write_text(yaml.safe_dump(doc, sort_keys=False))
    return paths


def shape(path: Path) -> str:
    """The design in one line: levels (tensors, capacity) and fanouts."""
    doc = yaml.safe_load(path.read_text())
    levels = [f"{lv['name']}({''.join(lv['tensors'])} {lv.get('capacity') or '+'.join(p['capacity'] for p in lv['partitions'])}"
              f"{' db' if lv.get('double_buffered') else ''})" for lv in doc["levels"][1:]]
    fanouts = [f"{f['meshX']}x{f['meshY']} under {f['parent']}"
               + "".join(f" no {k}" for k in ("multicast", "reduction") if not f[k]) for f in doc["fanouts"]]
    return ", ".join(levels) + "; " + ("; ".join(fanouts) or "no fanout")


def compile_row(model: str, path: Path, out: Path) -> list[str]:
    """Compile `model` on the design in a fresh process; the row's cells."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "accelmap", "compile", model, "--arch", str(path),
                           "--no-cache", "--validate", "-o", str(out)], capture_output=True, text=True)
    process = time.perf_counter() - start
    text = done.stdout + done.stderr
    proved = re.search(r"(\d+) mapped layers? \((\d+) proved optimal\)", text)
    ratio = re.search(r"\(([\d.]+)x the lower bound\)", text)
    mapped = re.search(r"mapped in ([\d.]+) s", text)
    verdict = "PASS" if re.search(r"^PASS$", text, re.M) else "FAIL" if re.search(r"^FAIL$", text, re.M) else "-"
    return [model, path.stem, shape(path), f"{proved.group(2)}/{proved.group(1)}" if proved else "-",
            ratio.group(1) if ratio else "-", mapped.group(1) if mapped else "-", f"{process:.1f}",
            str(done.returncode), verdict]


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=8, help="designs (default 8)")
    parser.add_argument("--models", default="resnet18,mobilenetv2", help="comma-separated zoo names")
    parser.add_argument("--keep", default=None, help="write the design files here (default: a temporary folder)")
    args = parser.parse_args()
    print(" | ".join(["model", "design", "levels; fanouts", "proved", "energy / bound", "mapped in s",
                      "process s", "exit", "validate"]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = designs(args.seed, args.count, folder)
        for model in args.models.split(","):
            for path in paths:
                print(" | ".join(compile_row(model, path, Path(tmp) / f"{model}-{path.stem}")), flush=True)


if __name__ == "__main__":
    main()
