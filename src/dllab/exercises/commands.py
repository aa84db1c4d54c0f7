"""`dllab exercise ...`: list, start, check, release, grade. `add_arguments` builds the
subcommands on the parser `dllab.cli` gives; `run` carries one out and returns the exit code
(0 all checks passed, 1 some failed; bad input raises a DllabError, which the CLI prints as one
line with exit code 2)."""

import json
import os
import sys
from pathlib import Path

from rich.console import Console

from dllab.errors import ConfigError, DataError
from dllab.exercises.checking import DEFAULT_SEED
from dllab.exercises.core import UNITS, catalogue, get_exercise, list_exercises
from dllab.exercises.results import CheckOutcome, ExerciseResult, summary_table
from dllab.exercises.runner import Limits, SubmissionError, run_exercise

DEFAULT_DIR = "exercises"


def add_arguments(parser) -> None:
    """The `exercise` subcommands, on the `dllab exercise` parser (same parser class)."""
    sub = parser.add_subparsers(dest="exercise_command", required=True, parser_class=type(parser))

    listing = sub.add_parser("list", help="every exercise with its unit, topic and points")
    listing.add_argument("--unit", type=int, choices=list(UNITS), help="one unit only")
    listing.add_argument("--json", action="store_true", help="as JSON, for tools")

    start = sub.add_parser("start", help="write an exercise's stub to fill in (never overwrites)")
    start.add_argument("name", help="exercise name (see `dllab exercise list`)")
    start.add_argument(
        "--dir", default=DEFAULT_DIR, help=f"folder of the stub (default {DEFAULT_DIR}/)"
    )

    check = sub.add_parser(
        "check", help="run an exercise's checks on your file and print the table"
    )
    check.add_argument("name", nargs="?", help="exercise name")
    check.add_argument("file", nargs="?", help=f"your file (default {DEFAULT_DIR}/<stub name>)")
    check.add_argument(
        "--all",
        nargs="?",
        const=DEFAULT_DIR,
        metavar="DIR",
        help=f"check every exercise file found in DIR (default {DEFAULT_DIR}/)",
    )
    _add_limits(check)

    release = sub.add_parser("release", help="write every stub and a README per unit, no solutions")
    release.add_argument("out_dir", help="a new or empty folder")
    release.add_argument("--unit", type=int, choices=list(UNITS), help="one unit only")

    grade = sub.add_parser("grade", help="grade a folder of student folders into a CSV and a page")
    grade.add_argument("submissions", nargs="?", help="one folder per student, holding their files")
    grade.add_argument("--out", required=True, help="grades CSV to write (and .html beside it)")
    grade.add_argument(
        "--merge", nargs="+", metavar="CSV", help="join the shards' CSV files instead"
    )
    grade.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="child processes at once (default: the number of cores)",
    )
    grade.add_argument(
        "--shard",
        default="0/1",
        metavar="K/N",
        help="grade every N-th student from the K-th (from 0: a job array's task id)",
    )
    _add_limits(grade)


def _add_limits(parser) -> None:
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the checks' random cases (teachers: keep yours private)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=Limits.memory_mb,
        help=f"memory a check may allocate (default {Limits.memory_mb} MB)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplies every check's time limit (a slow machine: > 1)",
    )


def _limits(args) -> Limits:
    if args.memory_mb < 64 or args.time_scale <= 0:
        raise ConfigError("--memory-mb must be >= 64 and --time-scale > 0")
    return Limits(memory_mb=args.memory_mb, time_scale=args.time_scale)


def run(args) -> int:
    """Carry out `dllab exercise <command>`; the exit code."""
    return {
        "list": _list,
        "start": _start,
        "check": _check,
        "release": _release,
        "grade": _grade,
    }[args.exercise_command](args)


def _list(args) -> int:
    if args.json:
        print(json.dumps(catalogue(args.unit), indent=2))
        return 0
    exercises = list_exercises(args.unit)
    for unit, title in UNITS.items():
        chosen = [e for e in exercises if e.unit == unit]
        if chosen:
            print(f"Unit {unit}: {title}")
        for e in chosen:
            print(f"  {e.name:<24} {e.maximum:>3} points  {e.topic}: {e.title}")
    return 0


def _start(args) -> int:
    from dllab.exercises.stubs import write_stub

    exercise = get_exercise(args.name)
    path = write_stub(exercise, args.dir)
    print(
        f"{path}: fill in {', '.join(exercise.functions)}, then run: "
        f"dllab exercise check {exercise.name} {path}"
    )
    return 0


def _check(args) -> int:
    console = Console()
    if args.all is not None:
        if args.name or args.file:
            raise ConfigError("check takes NAME [FILE] or --all [DIR], not both")
        return _check_all(Path(args.all), _limits(args), args.seed, console)
    if not args.name:
        raise ConfigError("check needs an exercise NAME (or --all DIR)")
    exercise = get_exercise(args.name)
    path = Path(args.file) if args.file else Path(DEFAULT_DIR) / exercise.filename
    if not path.is_file():
        raise DataError(
            f"no file {path} (write the stub with: dllab exercise start {exercise.name})"
        )
    try:
        result = run_exercise(exercise, path, args.seed, _limits(args))
    except SubmissionError as error:
        raise SubmissionError(f"{path}: {error}") from None
    console.print(result.table())
    return 0 if result.passed else 1


def _check_all(folder: Path, limits: Limits, seed: int, console: Console) -> int:
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    found = [(e, folder / e.filename) for e in list_exercises() if (folder / e.filename).is_file()]
    if not found:
        raise DataError(f"{folder} holds no exercise file (start one: dllab exercise start NAME)")
    results = []
    for exercise, path in found:
        try:
            result = run_exercise(exercise, path, seed, limits)
        except SubmissionError as error:  # one unusable file fails its exercise, not the run
            outcomes = [CheckOutcome(c.name, c.weight, False, str(error)) for c in exercise.checks]
            result = ExerciseResult(exercise.name, exercise.title, outcomes)
        console.print(result.table())
        results.append(result)
    console.print(summary_table(results))
    return 0 if all(r.passed for r in results) else 1


def _release(args) -> int:
    from dllab.exercises.stubs import release

    written = release(args.out_dir, args.unit)
    stubs = [p for p in written if p.suffix == ".py"]
    print(f"{args.out_dir}: {len(stubs)} stubs and {len(written) - len(stubs)} READMEs")
    return 0


def _grade(args) -> int:
    from dllab.exercises.grading import grade, merge, parse_shard

    if args.merge:
        if args.submissions:
            raise ConfigError("grade takes SUBMISSIONS_DIR or --merge CSV..., not both")
        grades = merge(args.merge, args.out)
    elif args.submissions:
        shard = parse_shard(args.shard)
        limits = _limits(args)
        grades = grade(
            args.submissions, args.out, args.workers, shard, args.seed, limits, None, sys.stderr
        )
    else:
        raise ConfigError("grade needs SUBMISSIONS_DIR (or --merge CSV...)")
    students = len({g.student for g in grades})
    print(
        f"{args.out}: {len(grades)} grades of {students} students "
        f"(and {Path(args.out).with_suffix('.html')})"
    )
    return 0
