"""The `accelmap` command. The only module that prints or exits.

Exit codes: 0 done; 1 finished but a check failed; 2 bad input or usage;
3 a layer cannot be mapped on the target; 4 internal error (a bug: please
report it); 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from dataclasses import asdict
from pathlib import Path

from accelmap import __version__, api, zoo
from accelmap.errors import AccelmapError, InfeasibleLayer

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

EXIT_CODES_HELP = """exit codes:
  0    done
  1    finished, but a check failed
  2    bad input or usage (file, op, shape, arch YAML)
  3    a layer cannot be mapped on the target
  4    internal error (a bug: please report it, with --debug output)
  130  interrupted"""


class UsageError(AccelmapError):
    """A command-line argument is malformed."""


def _common(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    out.add_argument("--quiet", action="store_true", help="print only errors")
    out.add_argument("--verbose", action="store_true", help="print more detail")
    out.add_argument("--debug", action="store_true", help="show tracebacks on errors")


def _subparser(subs: argparse._SubParsersAction, name: str, help_text: str, examples: str) -> argparse.ArgumentParser:
    parser = subs.add_parser(name, help=help_text, description=help_text,
                             epilog=f"examples:\n{examples}\n\n{EXIT_CODES_HELP}",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="accelmap", description="Map ONNX networks onto DNN accelerators, provably well.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"accelmap {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")

    inspect = _subparser(subs, "inspect", "list a model's layers, shapes, MACs and unique workloads",
                         "  accelmap inspect resnet50\n  accelmap inspect model.onnx --input-shape input=1x3x224x224\n"
                         "  accelmap inspect bert_base --json")
    inp = inspect.add_argument_group("input")
    inp.add_argument("model", help="an ONNX file or a bundled network's name (see `accelmap zoo --list`)")
    inp.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS",
                     help="static shape for a symbolic input, e.g. input=1x3x224x224 (repeatable)")
    inspect.add_argument("--host-ops", action="store_true", help="also list host ops")

    zoo_cmd = _subparser(subs, "zoo", "write a bundled network as an ONNX file",
                         "  accelmap zoo --list\n  accelmap zoo resnet50 -o resnet50.onnx")
    zoo_cmd.add_argument("name", nargs="?", help="bundled network name")
    zoo_cmd.add_argument("-o", "--output", help="ONNX file to write")
    zoo_cmd.add_argument("--list", action="store_true", help="list bundled networks")

    arch = subs.add_parser("arch", help="architecture presets and files")
    arch_subs = arch.add_subparsers(dest="arch_command", metavar="ACTION")
    _subparser(arch_subs, "list", "list the architecture presets", "  accelmap arch list")
    show = _subparser(arch_subs, "show", "print an architecture's hierarchy, capacities and energies",
                      "  accelmap arch show eyeriss\n  accelmap arch show my_arch.yaml")
    show.add_argument("arch", help="a preset name or an arch YAML file")
    return parser


def parse_shapes(items: list[str]) -> dict[str, tuple[int, ...]]:
    """`name=1x3x224x224` strings -> {name: (1, 3, 224, 224)}."""
    shapes = {}
    for item in items:
        name, _, dims = item.partition("=")
        try:
            shapes[name] = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            raise UsageError(f"--input-shape {item!r}: expected NAME=DIMS such as input=1x3x224x224") from None
        if not name or any(d < 1 for d in shapes[name]):
            raise UsageError(f"--input-shape {item!r}: expected NAME=DIMS with positive sizes")
    return shapes


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def cmd_inspect(args: argparse.Namespace) -> int:
    """`accelmap inspect`: per-layer table and totals."""
    graph = api.load_model(args.model, parse_shapes(args.input_shape))
    summary = api.summarize(graph)
    if args.json:
        print(json.dumps(asdict(summary), indent=1))
        return EXIT_OK
    rows = [[l.name, l.kind, l.dims, f"{l.macs:,}", f"{l.weight_words:,}", ",".join(l.post_ops) or "-"]
            for l in summary.layers]
    print(_table(rows, ["layer", "kind", "dims", "MACs", "weight words", "post-ops"]))
    if args.host_ops:
        print()
        print(_table([[h.name, h.kind, h.dims] for h in summary.host_ops], ["host op", "op", "output shape"]))
    kinds = {}
    for layer in summary.layers:
        kinds[layer.kind] = kinds.get(layer.kind, 0) + 1
    print()
    print(f"model {summary.name}: {len(summary.layers)} mapped layers "
          f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), {len(summary.host_ops)} host ops")
    print(f"total {summary.macs:,} MACs ({summary.macs / 1e9:.2f} GMACs), {summary.parameters:,} parameters, "
          f"{summary.unique_workloads} unique workloads")
    return EXIT_OK


def cmd_zoo(args: argparse.Namespace) -> int:
    """`accelmap zoo`: list or write bundled networks."""
    if args.list or not args.name:
        for name in zoo.names():
            print(f"{name:16s} {zoo.describe(name)}")
        return EXIT_OK
    if args.name not in zoo.names():
        raise UsageError(f"unknown network {args.name!r}; bundled: {', '.join(zoo.names())}")
    import onnx

    target = Path(args.output or f"{args.name}.onnx")
    model = zoo.build(args.name)
    tmp = target.with_name(f".{target.name}.partial")
    onnx.save(model, str(tmp))
    tmp.replace(target)
    if not args.quiet:
        print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return EXIT_OK


def cmd_arch(args: argparse.Namespace) -> int:
    """`accelmap arch list|show`."""
    from accelmap.arch import list_presets, render_arch

    if args.arch_command == "show":
        arch = api.load_arch(args.arch)
        print(render_arch(arch))
        return EXIT_OK
    presets = list_presets()
    if getattr(args, "json", False):
        print(json.dumps([{"name": n, "description": d} for n, d in presets], indent=1))
    else:
        for name, description in presets:
            print(f"{name:14s} {description}")
    return EXIT_OK


COMMANDS = {"inspect": cmd_inspect, "zoo": cmd_zoo, "arch": cmd_arch}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code in (0, None) else EXIT_BAD_INPUT
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    debug = getattr(args, "debug", False)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InfeasibleLayer as err:
        _report(err, debug)
        return EXIT_INFEASIBLE
    except AccelmapError as err:
        _report(err, debug)
        return EXIT_BAD_INPUT
    except Exception as err:  # a bug: say so, and how to report it
        print(f"internal error: {type(err).__name__}: {err} (a bug: please report it with --debug output)",
              file=sys.stderr)
        if debug:
            traceback.print_exc()
        return EXIT_INTERNAL


def _report(err: Exception, debug: bool) -> None:
    print(f"error: {err}", file=sys.stderr)
    if debug:
        traceback.print_exc()


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
