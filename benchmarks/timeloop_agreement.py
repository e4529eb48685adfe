"""accelmap's cost model against Timeloop on ResNet-18's unique layers: one table row per layer.

For each unique layer, `timeloop-mapper` (the bundled v3.0.3) maps it on a
Timeloop design (default: the ISPASS 2020 Eyeriss-like design in
tests/timeloop/fixtures/eyeriss_ispass, with its constraints), `timeloop-model`
scores the mapping it found, and `accelmap evaluate` scores the same files
in accelmap's accounting and in Timeloop's (`--timeloop-accounting`).

    python benchmarks/timeloop_agreement.py [--timeloop DIR] [--design DIR] [--victory N] [--keep DIR]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from accelmap import api
from accelmap.interop.timeloop.peer import find_timeloop, map_and_compare

REPO = Path(__file__).resolve().parents[1]


def unique_layers(model: str) -> list[tuple[str, object]]:
    """(first layer name, workload) of each distinct mapped workload of `model`."""
    seen: dict = {}
    for node in api.load_model(model).layers():
        seen.setdefault(node.workload, node.name)
    return [(name, workload) for workload, name in seen.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeloop", default=str(REPO.parent / "shared" / "peers" / "timeloop"))
    parser.add_argument("--design", default=str(REPO / "tests" / "timeloop" / "fixtures" / "eyeriss_ispass"))
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--victory", type=int, default=50, help="timeloop-mapper's victory-condition")
    parser.add_argument("--keep", default=None, help="leave each layer's Timeloop files in DIR/<n>")
    args = parser.parse_args()
    timeloop = find_timeloop(args.timeloop)
    if timeloop is None:
        print(f"no runnable Timeloop in {args.timeloop} (run its setup.sh)", file=sys.stderr)
        return 2
    print(f"{args.model} on {Path(args.design).name}, timeloop-mapper victory-condition {args.victory}, 1 thread")
    print("energy: accelmap's over Timeloop's in accelmap's accounting, the part of it that is drain reads, "
          "the part that is halo past irrelevant loops, and what is left in Timeloop's accounting")
    print(f"{'layer':28s} {'stride':>6s} {'Timeloop pJ':>16s} {'accelmap':>9s} {'drains':>8s} {'halo':>8s} "
          f"{'TL acct.':>9s} {'cycles TL':>11s} {'accelmap':>11s}")
    with tempfile.TemporaryDirectory() as scratch:
        for n, (name, workload) in enumerate(unique_layers(args.model)):
            folder = Path(args.keep or scratch) / str(n)
            folder.mkdir(parents=True, exist_ok=True)
            a = map_and_compare(workload, Path(args.design), timeloop, folder, victory=args.victory)
            stride = "x".join(map(str, workload.stride))
            drains = (a.energy_pj["accelmap"] - a.energy_pj["drains free"]) / a.timeloop.energy_pj
            halo = (a.energy_pj["drains free"] - a.energy_pj["timeloop"]) / a.timeloop.energy_pj
            print(f"{name:28s} {stride:>6s} {a.timeloop.energy_pj:16,.2f} {100 * a.energy_diff('accelmap'):+8.3f}% "
                  f"{100 * drains:+7.3f}% {100 * halo:+7.3f}% {100 * a.energy_diff('timeloop'):+8.4f}% "
                  f"{a.timeloop.cycles:11,d} {a.cycles['timeloop']:11,d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
