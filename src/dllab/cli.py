"""The `dllab` command: list, run, tour, report, exercise.

Bad input (an unknown name, a bad --set value, missing or corrupt files...) prints one line
on stderr and exits with code 2; `--debug` shows the traceback instead. Ctrl-C exits with 130
after the run has saved a checkpoint and printed how to resume.
"""

import argparse
import json
import sys
import traceback

from dllab.errors import DllabError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
DEFAULT_THREADS = 1  # see set_threads


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2), like every other bad input."""

    def error(self, message: str):
        raise DllabError(f"{message} (see: {self.prog} --help)")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="dllab", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    listing = commands.add_parser("list", help="list experiments grouped by unit")
    listing.add_argument("--json", action="store_true", help="print name, unit, topics as JSON")
    listing.add_argument(
        "--syllabus",
        action="store_true",
        help="print the syllabus map (topic -> code -> experiments) as Markdown",
    )

    run = commands.add_parser("run", help="run one experiment into a run folder")
    run.add_argument("name", help="experiment name (see `dllab list`)")
    run.add_argument("--quick", action="store_true", help="the seconds-long config")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set lr=0.01 --set data.name=ring8 (repeatable)",
    )
    run.add_argument("--seed", type=int, default=0, help="seed for init, data order, dropout")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    run.add_argument("--out", help="run folder (default: runs/NAME-<timestamp>/)")
    run.add_argument("--resume", metavar="DIR", help="continue the interrupted run in DIR")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    add_threads_option(run)
    run.add_argument("--compile", action="store_true", help="train through torch.compile")
    run.add_argument("--amp", choices=("bf16", "fp16"), help="mixed precision (fp16: GPU only)")
    run.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        help="NHWC memory layout for image convolutions (default: on for CNNs on the CPU, where "
        "it trains classifiers 1.1-1.7x faster; --no-channels-last keeps NCHW)",
    )
    run.add_argument(
        "--checkpoint-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="least time between two checkpoints of a model (default 10; 0: every epoch)",
    )

    tour = commands.add_parser("tour", help="run the showcase of every unit and write a page")
    size = tour.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="quick configs (default)")
    size.add_argument("--full", action="store_true", help="the default (full) configs")
    tour.add_argument("--out", help="tour folder (default: runs/tour-<timestamp>/)")
    tour.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    tour.add_argument("--quiet", action="store_true", help="no progress display")
    add_threads_option(tour)

    report = commands.add_parser("report", help="render run folders to HTML")
    report.add_argument("dirs", nargs="+", metavar="DIR", help="run folders")
    report.add_argument("--out", help="index page when several folders are given")

    from dllab.exercises.commands import add_arguments as add_exercise_arguments

    exercise = commands.add_parser("exercise", help="exercises with automatic checking")
    add_exercise_arguments(exercise)
    return parser


def cmd_list(args) -> None:
    from dllab.experiments import list_experiments
    from dllab.experiments.syllabus import UNITS, roman, syllabus_markdown

    experiments = list_experiments()
    if args.syllabus:
        print(syllabus_markdown(experiments), end="")
        return
    if args.json:
        rows = [{"name": e.name, "unit": e.unit, "topics": list(e.topics)} for e in experiments]
        print(json.dumps(rows, indent=2))
        return
    for unit, unit_title in UNITS.items():
        chosen = [e for e in experiments if e.unit == unit]
        if chosen:
            print(f"Unit {roman(unit)}: {unit_title}")
        for e in chosen:
            print(f"  {e.name:<30} {e.title}")


def cmd_run(args) -> None:
    from dllab.engine import distributed
    from dllab.experiments.runner import RunInterrupted, run_experiment

    set_threads(args.threads)

    try:
        folder = run_experiment(
            args.name,
            quick=args.quick,
            overrides=tuple(args.overrides),
            seed=args.seed,
            device=args.device,
            out=args.out,
            resume=args.resume,
            quiet=args.quiet,
            checkpoint_interval_s=args.checkpoint_interval,
            speed=speed_options(args),
        )
    except RunInterrupted as stop:
        print(
            f"\ninterrupted; continue with: dllab run {args.name} --resume {stop.folder}",
            file=sys.stderr,
        )
        raise
    if not distributed.is_main():
        return
    metrics = json.loads((folder / "metrics.json").read_text())
    print(f"{args.name}: {folder}")
    for key, value in metrics.items():
        print(f"  {key:<36} {value:.4g}" if isinstance(value, float) else f"  {key:<36} {value}")


def speed_options(args) -> dict:
    """The Trainer speed options asked for on the command line (none: an empty dict)."""
    options = {
        "compile": args.compile or None,
        "amp": args.amp,
        "channels_last": args.channels_last,
    }
    return {k: v for k, v in options.items() if v is not None}


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        metavar="N",
        help=f"CPU threads for torch (default {DEFAULT_THREADS}: the syllabus' models are small; "
        "2 train CNNs 1.5x faster on idle cores, but beside another busy program they were "
        "2-25x slower (bench/bench_engine.py; OMP_WAIT_POLICY=PASSIVE limits that to 1.6x)",
    )


def set_threads(n: int) -> None:
    """torch's intra-op CPU threads. The syllabus' models are small: a second thread gains them
    1.5x at most on an idle 2-core machine and costs 2-25x when another program keeps a core
    busy, because OpenMP's threads spin while they wait for each other at every operation
    (bench/bench_engine.py, "threads" and "wait policy": sleeping threads, OMP_WAIT_POLICY=
    PASSIVE, cut that cost to 1.6x but lose the idle gain), hence DEFAULT_THREADS = 1."""
    import torch

    if n < 1:
        raise DllabError(f"--threads must be >= 1, got {n}")
    torch.set_num_threads(n)


def cmd_tour(args) -> None:
    from dllab.exercises import catalogue
    from dllab.experiments.tour import run_tour

    set_threads(args.threads)
    index = run_tour(
        quick=not args.full,
        out=args.out,
        device=args.device,
        quiet=args.quiet,
        exercises=catalogue(),
    )
    print(f"tour: {index}")


def cmd_report(args) -> None:
    from pathlib import Path

    from dllab.report import render, render_index

    folders = [Path(d) for d in args.dirs]
    for folder in folders:
        if not (folder / "config.json").is_file():
            raise DllabError(f"{folder} is not a run folder (no config.json)")
        print(render(folder))
    if len(folders) > 1 or args.out:
        print(render_index(folders, Path(args.out or "report.html")))


def cmd_exercise(args) -> int:
    from dllab.exercises.commands import run

    return run(args)


COMMANDS = {
    "list": cmd_list,
    "run": cmd_run,
    "tour": cmd_tour,
    "report": cmd_report,
    "exercise": cmd_exercise,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    succeeded = False
    try:
        args = build_parser().parse_args(argv)
        code = COMMANDS[args.command](args) or 0  # only `exercise check` returns 1 (a failed check)
        succeeded = True
    except DllabError as error:
        if debug:
            traceback.print_exc()
        print(f"dllab: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        if "torch.distributed" in sys.modules:  # under torchrun: leave the process group
            from dllab.engine import distributed

            distributed.teardown(wait=succeeded)
    return code
