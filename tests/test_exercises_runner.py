"""Checks in child processes: a submission that raises, exits, crashes, loops forever or eats
memory fails its checks with the reason and the checker goes on; grading a class folder of such
submissions gives the expected scores within the sum of the time limits."""

import csv
import io
import textwrap
import time

import pytest

from dllab.exercises import get_exercise
from dllab.exercises.grading import grade
from dllab.exercises.runner import Limits, SubmissionError, run_exercise

EXERCISE = get_exercise("gradient-clipping")  # four quick checks
LIMITS = Limits(memory_mb=300, time_scale=0.1, load_seconds=2.0)  # value checks: 1 s each

CORRECT = """
import numpy as np

def clip_by_norm(grads, max_norm):
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    return [g * min(1.0, max_norm / norm) for g in grads]

def clip_by_value(grads, clip_value):
    return [np.clip(g, -clip_value, clip_value) for g in grads]
"""
WRONG = """
import numpy as np

def clip_by_norm(grads, max_norm):  # each array by its own norm
    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]

def clip_by_value(grads, clip_value):
    return [np.clip(g, -clip_value, clip_value) for g in grads]
"""
CRASHING = """
import ctypes

def clip_by_norm(grads, max_norm):
    ctypes.string_at(0)  # reads address 0: a segmentation fault

clip_by_value = clip_by_norm
"""
LOOPING = """
def clip_by_norm(grads, max_norm):
    while True:
        pass

def clip_by_value(grads, clip_value):
    while True:
        try:
            pass
        except BaseException:  # not even an exception stops it
            pass
"""
MEMORY_HUNGRY = """
def clip_by_norm(grads, max_norm):
    hoard = []
    while True:
        hoard.append(bytearray(50_000_000))

clip_by_value = clip_by_norm
"""
EXITING = """
import os
import sys

def clip_by_norm(grads, max_norm):
    sys.exit(3)

def clip_by_value(grads, clip_value):
    os._exit(0)
"""


def submit(folder, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / EXERCISE.filename
    path.write_text(textwrap.dedent(text))
    return path


def messages(result) -> dict[str, str]:
    return {o.name: o.message for o in result.outcomes}


NORM, VALUE = "clipping by norm scales every gradient together", "clipping by value"


def test_a_correct_file_passes_in_a_child_process(tmp_path):
    result = run_exercise(EXERCISE, submit(tmp_path, CORRECT), limits=LIMITS)
    assert result.passed and result.points == EXERCISE.maximum


@pytest.mark.slow
def test_segmentation_fault_fails_each_check_with_the_signal(tmp_path):
    result = run_exercise(EXERCISE, submit(tmp_path, CRASHING), limits=LIMITS)
    assert result.points == 0
    for message in messages(result).values():
        assert message.startswith("the process was killed by SIGSEGV (a crash in native code)")
        assert "Fatal Python error: Segmentation fault" in message


def test_sys_exit_and_os_exit_fail_their_checks(tmp_path):
    found = messages(run_exercise(EXERCISE, submit(tmp_path, EXITING), limits=LIMITS))
    assert found[NORM] == "clip_by_norm called sys.exit(3); return a value instead"
    assert found[VALUE].startswith("the process exited with code 0 (os._exit?)")


@pytest.mark.slow
def test_a_huge_allocation_is_a_memory_error_of_the_check(tmp_path):
    # 10 s a check: zero-filling 300 MB takes well under a second alone, but seconds beside
    # other busy programs, and the memory limit, not the clock, must be what stops it
    roomy = Limits(memory_mb=300, time_scale=1.0, load_seconds=2.0)
    found = messages(run_exercise(EXERCISE, submit(tmp_path, MEMORY_HUNGRY), limits=roomy))
    assert found[NORM] == (
        "clip_by_norm ran out of memory (MemoryError (gradient_clipping.py, line 5)): it asked "
        "for more than a check may use"
    )
    assert all("ran out of memory (MemoryError" in m for m in found.values()), found


@pytest.mark.slow
def test_an_endless_loop_costs_one_check_its_limit_and_the_others_still_run(tmp_path):
    text = CORRECT.replace("return [np.clip", "while True: pass\n    return [np.clip")
    started = time.perf_counter()
    result = run_exercise(EXERCISE, submit(tmp_path, text), limits=LIMITS)
    elapsed = time.perf_counter() - started
    found = messages(result)
    assert found[VALUE] == "did not finish within the time limit of 1 s (an endless loop?)"
    assert [o.passed for o in result.outcomes] == [True, True, True, False]
    assert elapsed < sum(c.time_limit * LIMITS.time_scale for c in EXERCISE.checks)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "raise RuntimeError('broken at import')",
            "importing gradient_clipping.py raised RuntimeError: broken at import "
            "(gradient_clipping.py, line 1)",
        ),
        ("def clip_by_norm(:\n    pass", "importing gradient_clipping.py raised SyntaxError"),
        ("while True:\n    pass", "importing the file did not finish within 2 s"),
    ],
)
def test_a_file_that_cannot_be_imported_fails_every_check_saying_why(tmp_path, text, message):
    result = run_exercise(EXERCISE, submit(tmp_path, text), limits=LIMITS)
    assert result.points == 0 and len(result.outcomes) == len(EXERCISE.checks)
    assert all(o.message.startswith(message) for o in result.outcomes), messages(result)


def test_a_file_without_the_stubs_functions_is_a_submission_error(tmp_path):
    path = submit(tmp_path, "def clip_by_norm(grads, max_norm):\n    return grads\n")
    with pytest.raises(SubmissionError, match="does not define clip_by_value"):
        run_exercise(EXERCISE, path, limits=LIMITS)


@pytest.mark.slow
def test_grading_a_class_gives_each_submission_its_score_within_the_time_limits(tmp_path):
    class_dir = tmp_path / "class"
    students = {"ada": CORRECT, "bob": WRONG, "cyd": CRASHING, "dee": LOOPING, "eve": MEMORY_HUNGRY}
    for student, text in students.items():
        submit(class_dir / student, text)
    progress = io.StringIO()
    started = time.perf_counter()
    grades = grade(
        class_dir,
        tmp_path / "grades.csv",
        workers=2,
        limits=LIMITS,
        exercises=[EXERCISE],
        progress=progress,
    )
    elapsed = time.perf_counter() - started
    points = {g.student: g.points for g in grades}
    assert points == {"ada": 6, "bob": 3, "cyd": 0, "dee": 0, "eve": 0}
    limits = 5 * sum(c.time_limit * LIMITS.time_scale for c in EXERCISE.checks)
    assert elapsed < limits
    with open(tmp_path / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert list(next(iter(rows.values()))) == [
        "student",
        "exercise",
        "points",
        "maximum",
        "failed_checks",
    ]
    assert rows["ada"]["failed_checks"] == "" and rows["ada"]["maximum"] == "6"
    assert "per-tensor" not in rows["bob"]["failed_checks"] and NORM in rows["bob"]["failed_checks"]
    assert "SIGSEGV" in rows["cyd"]["failed_checks"]
    assert "did not finish within the time limit" in rows["dee"]["failed_checks"]
    assert "ran out of memory" in rows["eve"]["failed_checks"]
    page = (tmp_path / "grades.html").read_text()
    assert "<td>eve</td>" in page and "6/6" in page and "0/6" in page
    lines = progress.getvalue().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("[5/5]") and "s left)" in lines[-1]
