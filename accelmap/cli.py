"""The `accelmap` command. The only module that prints or exits.

Exit codes: 0 done; 1 finished but a check failed; 2 bad input or usage, or
an output that cannot be written; 3 a layer cannot be mapped on the target;
4 internal error (a bug: please report it); 128 + the signal's number when
interrupted (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import traceback
from dataclasses import asdict
from pathlib import Path

from accelmap import __version__, api, zoo
from accelmap.errors import AccelmapError, CheckFailed, InfeasibleLayer, UsageError
from accelmap.mapper.workers import WorkerDied
from accelmap.signals import exit_code, ignore_from_now, interruptible

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

EXIT_CODES_HELP = """exit codes:
  0    done
  1    finished, but a check failed
  2    bad input or usage (file, op, shape, arch YAML, option out of range), or an
       output that cannot be written (a file in the way, permission, disk full)
  3    a layer cannot be mapped on the target
  4    internal error (a bug: please report it, with --debug output)
  130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM; 129 by SIGHUP
       (workers stopped, nothing written, a previous OUTDIR intact)"""


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
    inp.add_argument("--initializers-as-inputs", action="store_true",
                     help="treat initializers the file also lists as graph inputs (IR 3 files) as inputs to "
                          "feed, not as constants")
    inspect.add_argument("--host-ops", action="store_true", help="also list host ops")

    zoo_cmd = _subparser(subs, "zoo", "write a bundled network as an ONNX file",
                         "  accelmap zoo --list\n  accelmap zoo resnet50 -o resnet50.onnx\n"
                         "  accelmap zoo bert_base --param seq=512 --param layers=2 -o bert512.onnx")
    zoo_cmd.add_argument("name", nargs="?", help="bundled network name")
    zoo_cmd.add_argument("-o", "--output", help="ONNX file to write")
    zoo_cmd.add_argument("--param", action="append", default=[], metavar="NAME=N",
                         help="a parameter of the network, a positive integer (repeatable; `--list` says which "
                              "a network takes)")
    zoo_cmd.add_argument("--list", action="store_true", help="list bundled networks")

    _compile_parser(subs)
    _validate_parser(subs)
    _explain_parser(subs)
    _stream_parser(subs)
    _sweep_parser(subs)

    arch = subs.add_parser("arch", help="architecture presets and files")
    arch_subs = arch.add_subparsers(dest="arch_command", metavar="ACTION")
    _subparser(arch_subs, "list", "list the architecture presets", "  accelmap arch list")
    show = _subparser(arch_subs, "show", "print an architecture's hierarchy, capacities and energies",
                      "  accelmap arch show eyeriss\n  accelmap arch show my_arch.yaml")
    show.add_argument("arch", help="a preset name or an arch YAML file")
    imp = _subparser(arch_subs, "import", "convert a Timeloop design (architecture, ERT, ART, constraints) into "
                     "accelmap's YAML",
                     "  accelmap arch import arch.yaml ERT.yaml -o mine.yaml\n"
                     "  accelmap arch import arch.yaml ERT.yaml --art ART.yaml --constraints constraints.yaml\n"
                     "  accelmap arch import eyeriss_like.yaml ERT.yaml --pricing max-action")
    imp.add_argument("timeloop_arch", help="Timeloop v0.4 / v0.3 `architecture:` or v0.2 `arch:` YAML")
    imp.add_argument("ert", nargs="?", default=None, help="Timeloop/Accelergy energy reference table YAML")
    imp.add_argument("-o", "--output", default=None, help="write accelmap YAML here (default: stdout)")
    imp.add_argument("--art", default=None, help="Accelergy area reference table: area per level and MAC")
    imp.add_argument("--constraints", nargs="+", action="extend", default=[], metavar="FILE",
                     help="files with architecture_constraints (several allowed); mapspace constraints in "
                          "them are left out, with a note")
    imp.add_argument("--mapspace-constraints", nargs="+", action="extend", default=[], metavar="FILE",
                     help="files whose mapspace_constraints (search hints in Timeloop) are imported as "
                          "constraints too")
    imp.add_argument("--timeloop-accounting", action="store_true",
                     help="count as Timeloop does where accelmap differs on purpose (drains free; docs/timeloop.md)")
    imp.add_argument("--pricing", choices=["per-action", "max-action"], default="per-action",
                     help="max-action prices every access at the component's costliest action, as Timeloop v0.3")
    imp.add_argument("--bandwidth-unit", choices=["words", "bytes"], default="words",
                     help="read_bandwidth / write_bandwidth per cycle in words, or in bytes as Timeloop v0.3")

    ev = _subparser(subs, "evaluate", "score a given Timeloop-format mapping with accelmap's cost model",
                    "  accelmap evaluate --arch eyeriss --workload problem.yaml --mapping map.yaml\n"
                    "  accelmap evaluate --arch arch.yaml --ert ERT.yaml --workload problem.yaml --mapping map.yaml --json\n"
                    "  accelmap evaluate --arch gemmini --workload resnet50:/layer1/0/conv2/Conv --mapping map.yaml")
    ev.add_argument("--arch", required=True, help="preset, accelmap arch YAML, or Timeloop arch YAML (with --ert)")
    ev.add_argument("--ert", default=None, help="ERT YAML for a Timeloop arch")
    ev.add_argument("--workload", required=True, help="Timeloop problem YAML, or MODEL:LAYER (ONNX file or bundled name)")
    ev.add_argument("--mapping", required=True, help="Timeloop mapping YAML")
    ev.add_argument("--pricing", choices=["per-action", "max-action"], default="per-action",
                    help="how a Timeloop ERT is priced (see `arch import`)")
    ev.add_argument("--bandwidth-unit", choices=["words", "bytes"], default="words",
                    help="how a Timeloop arch's bandwidths are read (see `arch import`)")
    return parser


def _compile_parser(subs: argparse._SubParsersAction) -> None:
    parser = _subparser(subs, "compile", "map every layer of a model onto an accelerator and write OUTDIR",
                        "  accelmap compile resnet18 --arch eyeriss -o out/resnet18\n"
                        "  accelmap compile model.onnx --arch my_arch.yaml --objective edp --jobs 2 --validate\n"
                        "  accelmap compile bert_tiny --arch gemmini --time-limit 10 --require-optimal --json")
    inp = parser.add_argument_group("input")
    inp.add_argument("model", help="an ONNX file or a bundled network's name")
    inp.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS",
                     help="static shape for a symbolic input (repeatable)")
    target = parser.add_argument_group("target")
    target.add_argument("--arch", required=True, help="a preset name (`accelmap arch list`) or an arch YAML file")
    search = parser.add_argument_group("search")
    search.add_argument("--objective", choices=["energy", "latency", "edp"], default="energy",
                        help="what to minimise (default: energy)")
    search.add_argument("--jobs", type=int, default=None,
                        help="worker processes, 1 to 4 per core (default: number of cores)")
    search.add_argument("--time-limit", type=float, default=30.0,
                        help="seconds per unique layer, 0.01 to 1e6 (default: 30)")
    search.add_argument("--padding", action="store_true",
                        help="also search padded bounds (7 -> 8, 56 -> 60), after the unpadded optimum; a padded "
                             "mapping is kept only when cheaper; slow to prove on large layers")
    search.add_argument("--no-tie-break", action="store_true",
                        help="skip the canonical choice among equal-cost optima (faster; runs may then differ)")
    search.add_argument("--no-cache", action="store_true", help="ignore and do not fill the result cache")
    search.add_argument("--cache-dir", default=None, help="result cache (default: ~/.cache/accelmap)")
    output = parser.add_argument_group("results")
    output.add_argument("-o", "--output", default=None, help="OUTDIR to write (default: ./accelmap-out/MODEL)")
    output.add_argument("--force", action="store_true", help="replace an existing OUTDIR (only an accelmap OUTDIR or an empty directory; "
                             "the swap is atomic)")
    output.add_argument("--validate", action="store_true", help="execute OUTDIR and compare with onnxruntime")
    output.add_argument("--input", default=None, metavar="FILE.npz",
                        help="with --validate: the inputs (name -> array); default random, seeded")
    output.add_argument("--require-optimal", action="store_true",
                        help="exit 1 unless every layer is proved optimal")


def _validate_parser(subs: argparse._SubParsersAction) -> None:
    parser = _subparser(subs, "validate", "execute an OUTDIR tile by tile and compare with onnxruntime",
                        "  accelmap validate out/resnet18\n  accelmap validate out/resnet18 --input inputs.npz\n"
                        "  accelmap validate out/bert --model bert.onnx --json")
    parser.add_argument("outdir", help="a directory written by `accelmap compile`")
    parser.add_argument("--input", default=None, help="inputs as .npz (name -> array); default random, seeded")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    parser.add_argument("--model", default=None, help="the ONNX file, if not where schedule.json recorded it")
    parser.add_argument("--deep", action="store_true",
                        help="simulate every level of every mapping (per-PE buffers, multicast, reduction) and "
                             "compare each level's counts with the cost model")
    parser.add_argument("--layer", default=None, help="with --deep: only this mapped layer")


def _explain_parser(subs: argparse._SubParsersAction) -> None:
    parser = _subparser(subs, "explain", "show a layer's loop nest and where its energy goes",
                        "  accelmap explain out/resnet18\n  accelmap explain out/resnet18 --layer /layer1/0/conv1/Conv")
    parser.add_argument("outdir", help="a directory written by `accelmap compile`")
    parser.add_argument("--layer", default=None, help="one mapped layer (default: the summary of all)")


def _stream_parser(subs: argparse._SubParsersAction) -> None:
    parser = _subparser(subs, "stream", "print a layer's expanded command stream (JSON Lines), derived from its "
                                        "loop program", "  accelmap stream out/resnet18 --layer /conv1/Conv --limit 20\n"
                                        "  accelmap stream out/bert --layer /encoder/layer.0/attention/self/query/MatMul")
    parser.add_argument("outdir", help="an OUTDIR written by `accelmap compile`")
    parser.add_argument("--layer", required=True, help="the mapped layer's name (see `accelmap explain OUTDIR`)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="print only the first N records")


def _sweep_parser(subs: argparse._SubParsersAction) -> None:
    parser = _subparser(subs, "sweep", "map models on every design of a sweep spec (on Dask); table, Pareto fronts, "
                        "sweep.html",
                        "  accelmap sweep eyeriss_sweep.yaml -o sweeps/eyeriss\n"
                        "  accelmap sweep spec.yaml --workers 2 --time-limit 10\n"
                        "  accelmap sweep spec.yaml --scheduler tcp://10.0.0.5:8786 --workers 16 --json")
    parser.add_argument("spec", help="sweep spec YAML: base arch, axes, sample, models, objectives (README)")
    cluster = parser.add_argument_group("cluster")
    cluster.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                         help="run on the Dask cluster of this scheduler (default: an embedded local cluster)")
    cluster.add_argument("--workers", type=int, default=None, metavar="N",
                         help="embedded cluster: worker processes (default: one per core); with --scheduler: "
                              "wait until N workers have joined")
    cluster.add_argument("--in-process", action="store_true",
                         help="no Dask: solve the tasks one after another in this process")
    search = parser.add_argument_group("search")
    search.add_argument("--time-limit", type=float, default=None,
                        help="seconds per task (default: the spec's search.time_limit, else 30)")
    search.add_argument("--no-cache", action="store_true", help="ignore and do not fill the result cache")
    search.add_argument("--cache-dir", default=None, help="result cache (default: ~/.cache/accelmap)")
    output = parser.add_argument_group("results")
    output.add_argument("-o", "--output", default=None,
                        help="SWEEPDIR (default: ./accelmap-sweep/SPEC); running again resumes there")


def parse_shapes(items: list[str]) -> dict[str, tuple[int, ...]]:
    """`name=1x3x224x224` strings -> {name: (1, 3, 224, 224)}, each checked (`api.check_input_shapes`)."""
    shapes = {}
    for item in items:
        name, _, dims = item.partition("=")
        try:
            shapes[name] = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            raise UsageError(f"--input-shape {item!r}: expected NAME=DIMS such as input=1x3x224x224") from None
    api.check_input_shapes(shapes, "--input-shape")
    return shapes


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def cmd_inspect(args: argparse.Namespace) -> int:
    """`accelmap inspect`: per-layer table and totals."""
    from accelmap.frontend.coverage import coverage

    graph = api.load_model(args.model, parse_shapes(args.input_shape),
                           initializers_as_inputs=args.initializers_as_inputs)
    summary = api.summarize(graph)
    lowered = coverage(graph)
    if args.json:
        print(json.dumps({**asdict(summary), "coverage": {**asdict(lowered), "mapped_share": lowered.mapped_share}},
                         indent=1))
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
    print(lowered.line())
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

    params = _zoo_params(args.name, args.param)
    target = Path(args.output or f"{args.name}.onnx")
    try:
        model = zoo.build(args.name, **params)
    except ValueError as err:                 # a size the network cannot take (BERT: seq above 512)
        raise UsageError(f"--param: {err}") from None
    tmp = target.with_name(f".{target.name}.partial")
    onnx.save(model, str(tmp))
    tmp.replace(target)
    if not args.quiet:
        print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return EXIT_OK


def _zoo_params(name: str, given: list[str]) -> dict[str, int]:
    """`--param NAME=N` options as the network's keyword arguments; a UsageError names the bad one."""
    takes = zoo.parameters(name)
    params: dict[str, int] = {}
    for option in given:
        key, _, value = option.partition("=")
        if key not in takes:
            accepted = f"it takes {', '.join(takes)}" if takes else "it takes none"
            raise UsageError(f"--param {option}: network {name!r} has no parameter {key!r}; {accepted}")
        if not value.isdigit() or int(value) < 1:
            raise UsageError(f"--param {option}: {key} must be a positive integer, as in --param {key}=64")
        params[key] = int(value)
    return params


def cmd_arch(args: argparse.Namespace) -> int:
    """`accelmap arch list|show`."""
    from accelmap.arch import list_presets, render_arch

    if args.arch_command == "import":
        from accelmap.arch.dump import arch_to_yaml
        from accelmap.interop.timeloop import import_timeloop_design

        design = import_timeloop_design(args.timeloop_arch, args.ert, art_yaml_path=args.art,
                                        constraints=tuple(args.constraints),
                                        mapspace_constraints=tuple(args.mapspace_constraints),
                                        pricing=args.pricing, bandwidth_unit=args.bandwidth_unit,
                                        timeloop_accounting=args.timeloop_accounting)
        for note in design.notes:
            print(f"note: {note}", file=sys.stderr)
        text = arch_to_yaml(design.arch)
        if args.output is None:
            print(text, end="")
            return EXIT_OK
        target = Path(args.output)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(text)
        partial.replace(target)
        if not args.quiet:
            print(f"wrote {target}")
        return EXIT_OK
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


def _progress_bar(args: argparse.Namespace):
    """A tqdm bar on stderr (none with --quiet or --json), or where stderr is not a terminal (a log, a pipe)
    one line per mapped unique layer rather than a redrawn bar; returns (callback, close)."""
    if args.quiet or args.json:
        return None, lambda: None
    if not sys.stderr.isatty():
        def line(p) -> None:
            print(f"[{p.done}/{p.total}] {p.elapsed:.1f} s {p.layer} {p.status}{' (cached)' if p.cached else ''}",
                  file=sys.stderr, flush=True)
        return line, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=None, unit="layer", file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(p) -> None:
        bar.total = p.total
        bar.set_postfix_str(f"{p.layer[-40:]} {p.status}{' (cached)' if p.cached else ''}")
        bar.update(1)

    return update, bar.close


def cmd_compile(args: argparse.Namespace) -> int:
    """`accelmap compile`: map, write OUTDIR atomically, print the summary, optionally validate."""
    from accelmap.backend.present.summary import HEADER, layer_rows, render_table, table_rows, totals, totals_line

    out_dir = Path(args.output or Path("accelmap-out") / Path(str(args.model)).stem)
    _check_compile_args(args, out_dir)
    update, close = _progress_bar(args)
    try:
        compiled = api.compile_model(args.model, args.arch, args.objective, jobs=args.jobs,
                                     time_limit=args.time_limit, allow_padding=args.padding,
                                     tie_break=not args.no_tie_break,
                                     input_shapes=parse_shapes(args.input_shape), use_cache=not args.no_cache,
                                     cache_dir=Path(args.cache_dir) if args.cache_dir else None, progress=update)
    finally:
        close()
    for warning in compiled.warnings if not args.quiet else ():
        print(f"warning: {warning}", file=sys.stderr)
    schedule = compiled.schedule()
    api.save_schedule(schedule, out_dir, force=args.force)
    args.written = out_dir  # an interrupt from here on comes after OUTDIR is complete
    rows = layer_rows(schedule)
    verdict = api.validate(out_dir, args.input) if args.validate else None
    if args.json:
        doc = {"outdir": str(out_dir), "totals": asdict(totals(rows)), "layers": [asdict(r) for r in rows],
               "wall_time": compiled.wall_time, "unique_workloads": compiled.unique_workloads,
               "cache_hits": compiled.cache_hits}
        if verdict is not None:
            doc["validation"] = asdict(verdict)
        print(json.dumps(doc, indent=1))
    elif not args.quiet:
        print(render_table(table_rows(rows, host_ops=args.verbose), HEADER))
        print()
        summed = totals(rows)
        print(totals_line(summed))
        print(f"{compiled.unique_workloads} unique workloads ({compiled.cache_hits} from cache) mapped in "
              f"{compiled.wall_time:.1f} s; wrote {out_dir}")
        if summed.proved < summed.layers:
            print(f"{summed.layers - summed.proved} mapped layer(s) not proved optimal at {args.time_limit:g} s per unique layer (the gap "
                  "is to a bound that holds and is often loose); a longer --time-limit proves more"
                  + ("" if args.no_cache else ", and compiling again continues from these mappings (cached)"))
        if verdict is not None:
            print(_verdict_text(verdict))
    if verdict is not None and not verdict.passed:
        return EXIT_CHECK_FAILED
    if args.require_optimal and not compiled.all_proved:
        if not args.json:
            print("error: --require-optimal: not every layer was proved optimal", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    """`accelmap sweep`: run the sweep, write SWEEPDIR, print the Pareto designs; Ctrl-C keeps finished tasks."""
    from accelmap.sweep import SweepInterrupted

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: give a positive number of workers")
    if args.time_limit is not None and args.time_limit <= 0:
        raise UsageError(f"--time-limit {args.time_limit:g}: give a positive number of seconds")
    if args.in_process and (args.scheduler or args.workers):
        raise UsageError("--in-process runs without Dask; leave out --scheduler and --workers")
    out_dir = Path(args.output or Path("accelmap-sweep") / Path(args.spec).stem)
    update, close = _sweep_bar(args)
    try:
        result = api.sweep(args.spec, out_dir, scheduler=args.scheduler, workers=args.workers,
                           in_process=args.in_process, time_limit=args.time_limit, use_cache=not args.no_cache,
                           cache_dir=Path(args.cache_dir) if args.cache_dir else None, progress=update)
    except SweepInterrupted as stop:
        close()
        print(f"interrupted: {stop}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        close()
    if args.json:
        from accelmap.sweep.table import cells, columns

        names = columns(tuple(axis.name for axis in result.spec.axes))
        print(json.dumps({"out_dir": str(out_dir), "tasks_before_dedup": result.tasks_before_dedup,
                          "tasks": result.tasks, "solved": result.solved, "proved": result.proved,
                          "wall_time": result.wall_time,
                          "rows": [dict(zip(names, cells(row))) for row in result.rows]}, indent=1))
    elif not args.quiet:
        print(_sweep_summary(result, out_dir))
    return EXIT_OK


def _sweep_bar(args: argparse.Namespace):
    """A tqdm bar over tasks with the proved share (none with --quiet or --json), or where stderr is not a
    terminal one line per report; returns (callback, close)."""
    if args.quiet or args.json:
        return None, lambda: None
    if not sys.stderr.isatty():
        def line(p) -> None:
            print(f"[{p.done}/{p.total}] {_proved_share(p)}", file=sys.stderr, flush=True)
        return line, lambda: None
    from tqdm import tqdm

    bars: list = []

    def update(p) -> None:
        if not bars:                          # the first report comes after the kept tasks are read back
            bars.append(tqdm(total=p.total, initial=p.done, unit="task", file=sys.stderr, dynamic_ncols=True,
                             leave=False))
        bars[0].set_postfix_str(_proved_share(p), refresh=False)
        bars[0].update(p.done - bars[0].n)

    return update, lambda: bars and bars[0].close()


def _proved_share(p) -> str:
    """A sweep's progress report in words: proved tasks of those done, and how many were solved in this run."""
    return f"proved {p.proved}/{p.done} ({100 * p.proved / max(p.done, 1):.0f}%), solved now {p.solved}"


def _sweep_summary(result, out_dir: Path) -> str:
    """The Pareto designs as a table, and one line of counts."""
    axes = [axis.name for axis in result.spec.axes]
    front = [r for r in result.rows if r.pareto]
    rows = [[r.design, *r.labels, r.model, r.objective, f"{r.energy_uj:.3f}", f"{r.cycles:,}", f"{r.onchip_kib:,.1f}",
             f"{100 * r.proved:.0f}%", ",".join(r.pareto)] for r in front]
    table = _table(rows, ["design", *axes, "model", "objective", "energy uJ", "cycles", "on-chip KiB", "proved",
                          "Pareto front"])
    infeasible = sum(not r.feasible for r in result.rows)
    return (f"{table}\n\n{len(result.designs)} designs x {len(result.spec.models)} model(s) x "
            f"{len(result.spec.objectives)} objective(s): {result.tasks_before_dedup} tasks, {result.tasks} distinct, "
            f"{result.solved} solved now ({result.tasks - result.solved} kept from before), {result.proved} proved "
            f"optimal; {infeasible} infeasible row(s); {result.wall_time:.1f} s; wrote {out_dir}")


def _check_compile_args(args: argparse.Namespace, out_dir: Path) -> None:
    """Every option and path problem of a compile, before any work starts (exit 2, nothing written)."""
    for option, value in (("MODEL", args.model), ("--arch", args.arch)):
        _recordable(option, value)
    api.check_time_limit(args.time_limit, "--time-limit")
    api.check_jobs(args.jobs, "--jobs")
    parse_shapes(args.input_shape)
    if args.input is not None and not args.validate:
        raise UsageError("--input is the validation's inputs: use it with --validate")
    if args.input is not None and not Path(args.input).is_file():
        raise UsageError(f"--input {args.input}: no such file")
    if args.cache_dir and not args.no_cache:
        api.check_cache_dir(args.cache_dir, "--cache-dir")
    protect = [args.model] if Path(args.model).exists() else []
    if not args.no_cache:
        from accelmap.mapper.cache import default_cache_dir

        protect.append(args.cache_dir or default_cache_dir())
    api.check_output(out_dir, args.force, tuple(protect))


def _recordable(option: str, path: str) -> None:
    """OUTDIR records the model and arch by name in UTF-8 files: refuse a name that is not valid UTF-8."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise UsageError(f"{option} {shown}: the name is not valid UTF-8, and OUTDIR records it in UTF-8 "
                         "files; rename the file") from None


def _verdict_text(verdict) -> str:
    lines = [f"validation against onnxruntime ({verdict.model}), tolerance {verdict.tolerance:g} relative:"]
    for check in verdict.outputs:
        lines.append(f"  {check.name}: max abs err {check.max_abs_error:.3g}, rel err {check.rel_error:.3g} "
                     f"{'PASS' if check.passed else 'FAIL'}")
    counted = f"words moved, {verdict.layers_counted} layers, per tensor at DRAM and at its keeper"
    if verdict.count_mismatches:
        lines.append(f"{counted}: {len(verdict.count_mismatches)} count(s) differ from schedule.json's prediction FAIL")
        lines += [f"  {line}" for line in verdict.count_mismatches[:20]]
    else:
        lines.append(f"{counted}: every count equals schedule.json's prediction PASS")
    lines.append("PASS" if verdict.passed else "FAIL")
    return "\n".join(lines)


def cmd_validate(args: argparse.Namespace) -> int:
    """`accelmap validate`: execute OUTDIR, compare with onnxruntime (or, with --deep, every level)."""
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed}: expected a non-negative whole number")
    if args.deep:
        return _validate_deep(args)
    verdict = api.validate(args.outdir, args.input, seed=args.seed, model=args.model)
    if args.json:
        print(json.dumps(asdict(verdict), indent=1))
    elif not args.quiet:
        print(_verdict_text(verdict))
    return EXIT_OK if verdict.passed else EXIT_CHECK_FAILED


def _validate_deep(args: argparse.Namespace) -> int:
    from accelmap.backend.run.deep_check import deep_validate_outdir

    checks = deep_validate_outdir(args.outdir, args.layer, seed=args.seed)
    if args.json:
        print(json.dumps([{"layer": c.name, "macs": c.macs, "max_abs_error": c.max_abs_error,
                           "mismatches": list(c.mismatches), "passed": c.passed} for c in checks], indent=1))
    elif not args.quiet:
        for check in checks:
            print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.macs:,} MACs, "
                  f"max abs err {check.max_abs_error:g}, {len(check.mismatches)} count mismatches")
            for line in check.mismatches[:10] if args.verbose or not check.passed else []:
                print(f"      {line}")
        print("PASS" if all(c.passed for c in checks) else "FAIL")
    return EXIT_OK if all(c.passed for c in checks) else EXIT_CHECK_FAILED


def cmd_explain(args: argparse.Namespace) -> int:
    """`accelmap explain`: loop nest and energy by level and tensor."""
    from accelmap.backend.present.summary import HEADER, explain_layer, layer_rows, render_table, table_rows, totals, totals_line

    schedule = api.load_compiled(args.outdir)
    if args.layer is None:
        rows = layer_rows(schedule)
        print(render_table(table_rows(rows, host_ops=args.verbose), HEADER))
        print()
        print(totals_line(totals(rows)))
        return EXIT_OK
    try:
        plan = schedule.layer(args.layer)
    except KeyError:
        names = ", ".join(p.name for p in schedule.layers[:8])
        raise UsageError(f"{args.outdir}: no mapped layer {args.layer!r}; layers include {names}") from None
    print(explain_layer(schedule, plan, Path(args.outdir)))
    return EXIT_OK


def cmd_stream(args: argparse.Namespace) -> int:
    """`accelmap stream`: the records a layer's loop program expands to, one JSON object per line."""
    from accelmap.backend.run.expand import stream_records

    if args.limit is not None and args.limit < 0:
        raise UsageError(f"--limit {args.limit}: expected a non-negative whole number")
    out = sys.stdout
    for record in stream_records(args.outdir, args.layer, args.limit):
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return EXIT_OK


def _workload_of(source: str):
    """A Timeloop problem file stays a path; MODEL:LAYER becomes that layer's Workload."""
    if Path(source).exists() or ":" not in source:
        return source
    model, _, layer = source.rpartition(":")
    graph = api.load_model(model)
    for node in graph.layers():
        if node.name == layer:
            return node.workload
    names = ", ".join(n.name for n in graph.layers()[:6])
    raise UsageError(f"--workload {source!r}: {model} has no mapped layer {layer!r}; layers include {names}, ...")


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`accelmap evaluate`: the model's energy, cycles and accesses for a given mapping."""
    from accelmap.interop.timeloop import evaluate_timeloop

    result = evaluate_timeloop(args.arch, _workload_of(args.workload), args.mapping, args.ert, pricing=args.pricing,
                               bandwidth_unit=args.bandwidth_unit)
    doc = result.to_json()
    if args.json:
        print(json.dumps(doc, indent=1))
        return EXIT_OK
    print(f"energy {doc['energy_pj']:,.2f} pJ, cycles {doc['cycles']:,}, utilisation {100 * doc['utilisation']:.1f}%")
    for level in doc["levels"]:
        for tensor, counts in level["tensors"].items():
            shown = "  ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int))
            print(f"  {level['level']:12s} {tensor:8s} {shown}")
    return EXIT_OK


COMMANDS = {"evaluate": cmd_evaluate, "inspect": cmd_inspect, "zoo": cmd_zoo, "arch": cmd_arch, "compile": cmd_compile,
            "validate": cmd_validate, "explain": cmd_explain, "stream": cmd_stream, "sweep": cmd_sweep}


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
    with interruptible():
        try:
            return COMMANDS[args.command](args)
        except KeyboardInterrupt as interrupt:  # SIGINT, SIGTERM or SIGHUP: cleanup has run on the way here
            ignore_from_now()
            written = getattr(args, "written", None)
            done = f"{written} was complete before it" if written else "nothing was written"
            print(f"interrupted ({interrupt}); {done}", file=sys.stderr)
            return exit_code(interrupt)
        except InfeasibleLayer as err:
            _report(err, debug)
            return EXIT_INFEASIBLE
        except CheckFailed as err:
            _report(err, debug)
            return EXIT_CHECK_FAILED
        except AccelmapError as err:
            _report(err, debug)
            return EXIT_BAD_INPUT
        except OSError as err:  # the system refused: a path, a permission, a full disk
            _report(f"{_os_reason(err)}{f': {err.filename}' if err.filename else ''}", debug)
            return EXIT_BAD_INPUT
        except WorkerDied as err:  # twice for one layer: the system's memory, or a crash
            print(f"error: {err}; with fewer solves at once (--jobs 1) or more free memory it may go through, "
                  "else please report it with --debug output", file=sys.stderr)
            if debug:
                traceback.print_exc()
            return EXIT_INTERNAL
        except Exception as err:  # a bug: say so, and how to report it
            print(f"internal error: {type(err).__name__}: {err} (a bug: please report it with --debug output)",
                  file=sys.stderr)
            if debug:
                traceback.print_exc()
            return EXIT_INTERNAL


def _os_reason(err: OSError) -> str:
    """The system's reason in words, the disk-full cases spelled out."""
    if err.errno == errno.ENOSPC:
        return "the disk is full"
    if err.errno == getattr(errno, "EDQUOT", None):
        return "the disk quota is exceeded"
    return err.strerror or str(err)


def _report(err: Exception | str, debug: bool) -> None:
    print(f"error: {err}", file=sys.stderr)
    if debug:
        traceback.print_exc()


def main_entry() -> None:
    """Console-script entry point."""
    code = main()
    ignore_from_now()
    if code > 128:  # interrupted, everything cleaned up: exit now, not after a slow interpreter teardown
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
