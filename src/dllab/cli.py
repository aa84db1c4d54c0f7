"""The `dllab` command: list, show, run, tour, report, exercise, serve.

Bad input (an unknown name, a bad --set value, missing or corrupt files...) prints one line
on stderr and exits with code 2; `--debug` shows the traceback instead. Ctrl-C exits with 130
after the run has saved a checkpoint and printed how to resume.
"""

import argparse
import json
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

from dllab.errors import DllabError

EXIT_CLAIMS_FAIL = 1  # `tour --check`: a lesson did not show
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2), like every other bad input."""

    def error(self, message: str):
        raise DllabError(f"{message} (see: {self.prog} --help)")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="dllab", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    listing = commands.add_parser("list", help="list experiments grouped by unit")
    listing.add_argument(
        "--json", action="store_true", help="print name, unit, title, topics as JSON"
    )
    listing.add_argument(
        "--syllabus",
        action="store_true",
        help="print the syllabus map (topic -> code -> experiments) as Markdown",
    )

    show = commands.add_parser("show", help="an experiment's settings: types, values, ranges")
    show.add_argument("name", help="experiment name (see `dllab list`)")
    show.add_argument("--json", action="store_true", help="print them as JSON (for tools)")

    run = commands.add_parser("run", help="run one experiment into a run folder", add_help=False)
    run.add_argument(
        "-h", "--help", action=RunHelp, help="show this help, and with NAME its settings"
    )
    run.add_argument("name", help="experiment name (see `dllab list`, `dllab show NAME`)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_true", help="the seconds-long config (for tests; the lesson "
        "may not show yet, and the run says so)",
    )  # fmt: skip
    mode.add_argument(
        "--showcase",
        action="store_true",
        help="the tour's settings for this experiment: about as fast, and the lesson shows",
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set lr=0.01 --set data.name=ring8 (repeatable)",
    )
    run.add_argument(
        "--seed", type=int, help="seed for init, data order, dropout (0 to 2**64 - 1; default 0)"
    )
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
        help="NHWC memory layout for image convolutions (default: on for CNNs on the CPU, the "
        "layout oneDNN's convolutions prefer; --no-channels-last keeps NCHW)",
    )
    add_checkpoint_interval(run, "least time between two checkpoints of a model")

    tour = commands.add_parser("tour", help="run the showcase of every unit and write a page")
    tour.add_argument(
        "names", nargs="*", metavar="NAME", help="only these showcases (default: all of them)"
    )
    size = tour.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="quick configs (default)")
    size.add_argument("--full", action="store_true", help="the default (full) configs")
    tour.add_argument("--out", help="tour folder (default: runs/tour-<timestamp>/)")
    tour.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    tour.add_argument("--quiet", action="store_true", help="no progress display")
    tour.add_argument(
        "--check",
        action="store_true",
        help="then check every run's claims (the lessons its figures show) against its "
        "metrics; exit 1 when one does not hold",
    )
    add_threads_option(tour)

    report = commands.add_parser("report", help="render run folders to HTML")
    report.add_argument("dirs", nargs="+", metavar="DIR", help="run folders")
    report.add_argument("--out", help="index page when several folders are given")

    from dllab.exercises.commands import add_arguments as add_exercise_arguments

    exercise = commands.add_parser("exercise", help="exercises with automatic checking")
    add_exercise_arguments(exercise)

    serve = commands.add_parser("serve", help="the web lab: every experiment live in the browser")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; any other needs a token)",
    )
    serve.add_argument("--runs", default="runs", metavar="DIR", help="runs folder (default runs/)")
    serve.add_argument(
        "--token",
        help="required on every request (default: none on 127.0.0.1, a generated one elsewhere)",
    )
    serve.add_argument(
        "--workers", type=int, default=1, metavar="N", help="runs at once (default 1; others wait)"
    )
    add_checkpoint_interval(serve, "least time between two checkpoints of a run it starts")
    return parser


def add_checkpoint_interval(parser: argparse.ArgumentParser, what: str) -> None:
    """`--checkpoint-interval SECONDS`, of `dllab run` and of the runs `dllab serve` starts."""
    parser.add_argument(
        "--checkpoint-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help=f"{what} (default 10; 0: every epoch)",
    )


def cmd_list(args) -> None:
    from dllab.experiments import list_experiments
    from dllab.experiments.syllabus import syllabus_markdown
    from dllab.syllabus import UNITS, roman

    experiments = list_experiments()
    if args.syllabus:
        from dllab.exercises import list_exercises

        print(syllabus_markdown(experiments, list_exercises()), end="")
        return
    if args.json:
        rows = [
            {"name": e.name, "unit": e.unit, "title": e.title, "topics": list(e.topics)}
            for e in experiments
        ]
        print(json.dumps(rows, indent=2))
        return
    for unit, unit_title in UNITS.items():
        chosen = [e for e in experiments if e.unit == unit]
        if chosen:
            print(f"Unit {roman(unit)}: {unit_title}")
        for e in chosen:
            print(f"  {e.name:<30} {e.title}")


def cmd_show(args) -> None:
    from dllab.experiments.settings import describe, settings_text

    description = describe(args.name)
    print(json.dumps(description, indent=2) if args.json else settings_text(description))


class RunHelp(argparse.Action):
    """`dllab run --help`: the flags; `dllab run NAME --help`: also NAME's settings (as `dllab
    show NAME` prints them)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from dllab.experiments.settings import describe, settings_text

        name = getattr(namespace, "name", None)
        settings = settings_text(describe(name)) if name else ""  # unknown names: exit 2
        parser.print_help()
        print(f"\n{settings}" if settings else "\nWith NAME: its settings (as `dllab show NAME`).")
        parser.exit()


def cmd_run(args) -> None:
    from dllab.engine import distributed
    from dllab.experiments.runner import RunInterrupted, run_experiment, summary_text

    use_threads(args.threads)

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
            showcase=args.showcase,
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
    print(summary_text(folder, metrics, json.loads((folder / "config.json").read_text())))


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
        metavar="N",
        help="CPU threads for torch (default: one, as in the Python API: the syllabus' models "
        "are small; more threads help a little on idle cores and hurt a lot beside another busy "
        "program, see dllab.engine.speed.set_threads)",
    )


def use_threads(n: int | None) -> None:
    """--threads N, else the Python API's default (one thread unless OMP_NUM_THREADS says)."""
    from dllab.engine.speed import default_threads, set_threads

    if n is None:
        default_threads()
    else:
        set_threads(n)


def cmd_tour(args) -> int:
    from dllab.exercises import catalogue
    from dllab.experiments.tour import SHOWCASE_NAMES, check_claims, run_tour

    use_threads(args.threads)
    names = tuple(args.names) or SHOWCASE_NAMES
    index = run_tour(
        quick=not args.full,
        out=args.out,
        device=args.device,
        quiet=args.quiet,
        names=names,
        exercises=catalogue(),
    )
    print(f"tour: {index}")
    if not args.check:
        return 0
    results = check_claims([index.parent / name for name in names])
    for result in results:
        print(f"  {'holds' if result.holds else 'FAILS':<6} {result.experiment:<30} {result.claim}")
    failed = sum(not result.holds for result in results)
    print(f"{len(results) - failed} of {len(results)} claims hold")
    return EXIT_CLAIMS_FAIL if failed else 0


def cmd_report(args) -> None:
    """Each run's report.html (its problems reading the files also on stderr), then with
    several runs or --out one page over them all; nothing is written when a folder or the page's
    place is wrong."""
    from dllab.report import read_run, render, render_index

    folders = [Path(d) for d in args.dirs]
    for folder in folders:
        if not (folder / "config.json").is_file():
            raise DllabError(f"{folder} is not a run folder (no config.json)")
    index = Path(args.out or "report.html") if len(folders) > 1 or args.out else None
    if index is not None:
        check_page_path(index)
    for folder in folders:
        with write_errors(f"the report of {folder}"):
            print(render(folder))
        for note in read_run(folder).notes:
            print(f"dllab: warning: {folder}: {note}", file=sys.stderr)
    if index is not None:
        with write_errors(str(index)):
            print(render_index(folders, index))


def check_page_path(path: Path) -> None:
    """A page may be written at `path`: not a folder, not a file dllab did not write, in a
    place that can be written."""
    import os

    from dllab.report.html import is_dllab_page

    if path.is_dir():
        raise DllabError(f"{path} is a folder; give the page's file name ({path}/index.html)")
    if path.exists() and not is_dllab_page(path):
        raise DllabError(f"{path} exists and was not written by dllab; choose another --out")
    place = next(p for p in [path.parent, *path.parent.parents] if p.exists())  # made if missing
    if not place.is_dir() or not os.access(place, os.W_OK | os.X_OK):
        reason = "not a folder" if not place.is_dir() else "not writable"
        raise DllabError(f"cannot write {path}: {place} is {reason}")


@contextmanager
def write_errors(what: str):
    """A file the disk refuses (read-only, full) as one line."""
    try:
        yield
    except OSError as error:
        raise DllabError(f"cannot write {what}: {error.strerror or error}") from None


def cmd_serve(args) -> int:
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn", "jinja2") if importlib.util.find_spec(m) is None]
    if missing:
        raise DllabError(
            f"dllab serve needs the web extra ({', '.join(missing)} missing): "
            "pip install -c constraints.txt -e '.[web]'"
        )
    from dllab.web.server import serve

    return serve(
        args.host, args.port, Path(args.runs), args.token, args.workers, args.checkpoint_interval
    )


def cmd_exercise(args) -> int:
    from dllab.exercises.commands import run

    return run(args)


COMMANDS = {
    "list": cmd_list,
    "show": cmd_show,
    "run": cmd_run,
    "tour": cmd_tour,
    "report": cmd_report,
    "exercise": cmd_exercise,
    "serve": cmd_serve,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    succeeded = False
    try:
        args = build_parser().parse_args(argv)
        code = COMMANDS[args.command](args) or 0  # 1: a failed exercise check or tour claim
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
