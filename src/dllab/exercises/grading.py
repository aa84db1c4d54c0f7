"""Grading a class: one folder per student, every exercise checked in its own child processes
(see `dllab.exercises.runner`), `workers` of them at once; a shard of the students per machine
(`shard=(k, n)`: every n-th student from the k-th, counting from 0, as a job array's task id)
and `merge` to join the shards' CSV files. Writes grades.csv and grades.html beside it.
"""

import csv
import html
import io
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import TextIO

from dllab.errors import ConfigError, DataError
from dllab.exercises.checking import DEFAULT_SEED
from dllab.exercises.core import Exercise, list_exercises
from dllab.exercises.runner import DEFAULT_LIMITS, Limits, SubmissionError, run_exercise
from dllab.exercises.stubs import write_new


@dataclass(frozen=True)
class Grade:
    """One row of grades.csv."""

    student: str
    exercise: str
    points: int
    maximum: int
    failed_checks: str  # "check: message" of every failed check, joined by " | "


COLUMNS = tuple(f.name for f in fields(Grade))


def parse_shard(text: str) -> tuple[int, int]:
    """ "K/N" -> (K, N) with 0 <= K < N, or a ConfigError saying what a shard is."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard takes K/N (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= k < n):
        raise ConfigError(f"--shard K/N needs 0 <= K < N, got {text!r}")
    return k, n


def student_folders(submissions: Path, shard: tuple[int, int] = (0, 1)) -> list[Path]:
    """This shard's student folders: sorted by name, every n-th from the k-th."""
    if not submissions.is_dir():
        raise DataError(f"{submissions} is not a folder of student folders")
    folders = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    k, n = shard
    return folders[k::n]


def grade_one(student: Path, exercise: Exercise, seed: int, limits: Limits) -> Grade:
    """Check one student's file of one exercise; whatever happens, a row of grades.csv."""
    path = student / exercise.filename
    if not path.is_file():
        return Grade(
            student.name, exercise.name, 0, exercise.maximum, f"no file {exercise.filename}"
        )
    try:
        result = run_exercise(exercise, path, seed, limits)
    except SubmissionError as error:
        return Grade(student.name, exercise.name, 0, exercise.maximum, str(error))
    failed = " | ".join(f"{o.name}: {o.message}" for o in result.failed)
    return Grade(student.name, exercise.name, result.points, result.maximum, failed)


def _new_output(path: Path) -> None:
    """Refuse an output whose CSV or HTML file exists: grades are never overwritten."""
    for target in (path, path.with_suffix(".html")):
        if target.exists():
            raise ConfigError(
                f"{target} already exists; it is never overwritten (choose another --out)"
            )


def grade(
    submissions: str | Path,
    out: str | Path,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    seed: int = DEFAULT_SEED,
    limits: Limits = DEFAULT_LIMITS,
    exercises: Sequence[Exercise] | None = None,
    progress: TextIO | None = None,
) -> list[Grade]:
    """Grade every student folder of this shard on every exercise; write `out` and its .html.

    `progress` (e.g. sys.stderr) gets a line per graded exercise with the time left.

    Raises:
        ConfigError: `out` exists already, or workers < 1.
        DataError: `submissions` is not a folder.
    """
    out = Path(out)
    _new_output(out)
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    students = student_folders(Path(submissions), shard)
    exercises = list_exercises() if exercises is None else list(exercises)
    jobs = [(student, exercise) for student in students for exercise in exercises]
    started, grades = time.perf_counter(), []
    with ThreadPoolExecutor(max_workers=workers) as pool:  # each job waits on its child process
        futures = [pool.submit(grade_one, s, e, seed, limits) for s, e in jobs]
        for done, future in enumerate(as_completed(futures), 1):
            row = future.result()
            grades.append(row)
            if progress is not None:
                elapsed = time.perf_counter() - started
                left = elapsed / done * (len(jobs) - done)
                print(
                    f"[{done}/{len(jobs)}] {row.student} {row.exercise}: "
                    f"{row.points}/{row.maximum} ({elapsed:.0f} s, about {left:.0f} s left)",
                    file=progress,
                    flush=True,
                )
    order = {e.name: i for i, e in enumerate(exercises)}
    grades.sort(key=lambda g: (g.student, order[g.exercise]))
    write_grades(grades, out)
    return grades


def write_grades(grades: Sequence[Grade], out: Path) -> None:
    """grades.csv (one row per student and exercise) and grades.html beside it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([COLUMNS, *(astuple(g) for g in grades)])
    write_new(out, buffer.getvalue())
    write_new(out.with_suffix(".html"), grades_html(grades))


def read_grades(path: Path) -> list[Grade]:
    """The rows of a grades CSV written by `grade` (a shard's), checked for its header."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    if not rows or tuple(rows[0]) != COLUMNS:
        raise DataError(f"{path} is not a grades file (its header should be {','.join(COLUMNS)})")
    try:
        return [Grade(r[0], r[1], int(r[2]), int(r[3]), r[4]) for r in rows[1:]]
    except (IndexError, ValueError):
        raise DataError(f"{path} has a malformed row") from None


def merge(shards: Sequence[str | Path], out: str | Path) -> list[Grade]:
    """Join the shards' grades files into `out` (and its .html), sorted by student.

    Raises:
        DataError: a shard is unreadable, or two shards grade the same student and exercise.
    """
    out = Path(out)
    _new_output(out)
    grades, seen = [], {}
    for shard in map(Path, shards):
        for row in read_grades(shard):
            key = (row.student, row.exercise)
            if key in seen:
                raise DataError(
                    f"{row.student} / {row.exercise} is graded in {seen[key]} and {shard}"
                )
            seen[key] = shard
            grades.append(row)
    order = {e.name: i for i, e in enumerate(list_exercises())}
    grades.sort(key=lambda g: (g.student, order.get(g.exercise, len(order)), g.exercise))
    write_grades(grades, out)
    return grades


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:1rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;font-size:.9rem}th,td{border-bottom:1px solid #ddd;"
    "padding:.2rem .5rem;text-align:left;vertical-align:top}td.num{text-align:right}"
    ".full{color:#17632a}.part{color:#9b1c1c}"
)


def _points_cell(grade: Grade | None) -> str:
    if grade is None:
        return "<td></td>"
    css = "full" if grade.points == grade.maximum else "part"
    return f'<td class="num {css}">{grade.points}/{grade.maximum}</td>'


def grades_html(grades: Sequence[Grade]) -> str:
    """A page with a table of points (students x exercises) and every failed check's message."""
    e = html.escape
    students = list(dict.fromkeys(g.student for g in grades))
    exercises = list(dict.fromkeys(g.exercise for g in grades))
    cell = {(g.student, g.exercise): g for g in grades}
    head = "".join(f"<th>{e(x)}</th>" for x in ["student", *exercises, "total"])
    body = []
    for student in students:
        mine = [cell.get((student, x)) for x in exercises]
        cells = "".join(_points_cell(g) for g in mine)
        total = sum(g.points for g in mine if g), sum(g.maximum for g in mine if g)
        body.append(
            f"<tr><td>{e(student)}</td>{cells}<td class='num'>{total[0]}/{total[1]}</td></tr>"
        )
    details = "".join(
        f"<tr><td>{e(g.student)}</td><td>{e(g.exercise)}</td><td>{e(g.failed_checks)}</td></tr>"
        for g in grades
        if g.failed_checks
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Grades</title>'
        f"<style>{_STYLE}</style></head><body><h1>Grades</h1>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "<h2>Failed checks</h2><table><thead><tr><th>student</th><th>exercise</th>"
        f"<th>failed checks</th></tr></thead><tbody>{details}</tbody></table></body></html>\n"
    )
