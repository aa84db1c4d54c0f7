"""The exercises: at least 26 over the five units, each a stub naming a syllabus topic, its
functions' shapes and formula; every reference passes all of its checks and every untouched
stub fails them with a clear one-line message; `check(...)` from Python prints the table."""

import ast
import re

import numpy as np
import pytest

from dllab.exercises import check, get_exercise, list_exercises
from dllab.exercises.checking import run_check, run_checks
from dllab.exercises.core import UNITS
from dllab.exercises.runner import run_exercise
from dllab.exercises.stubs import render_stub, write_stub
from dllab.exercises.submission import Submission, load_file
from dllab.syllabus import TOPICS

EXERCISES = list_exercises()
NAMES = [e.name for e in EXERCISES]
WITH_BEHAVIOUR = [e.name for e in EXERCISES if any(c.behaviour for c in e.checks)]


def test_at_least_26_exercises_cover_every_unit():
    assert len(EXERCISES) >= 26
    assert {e.unit for e in EXERCISES} == set(UNITS)
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_exercise_has_a_syllabus_topic_weighted_checks_and_two_or_three_hints(name):
    exercise = get_exercise(name)
    assert exercise.topic in TOPICS[exercise.unit]
    assert len(exercise.checks) >= 3
    assert all(c.weight >= 1 and c.name for c in exercise.checks)
    assert 2 <= len(exercise.hints) <= 3


@pytest.mark.parametrize("name", NAMES)
def test_stub_defines_each_function_with_a_docstring_and_no_solution(name):
    exercise = get_exercise(name)
    text = render_stub(exercise)
    tree = ast.parse(text)
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert list(functions) == list(exercise.functions)
    for function in functions.values():
        doc, *body = function.body
        assert ast.get_docstring(function), function.name
        assert len(body) == 1 and isinstance(body[0], ast.Raise), "only `raise NotImplementedError`"
        assert ast.unparse(body[0]) == "raise NotImplementedError"
    assert exercise.topic in text and f"dllab exercise check {exercise.name}" in text
    shape = re.search(r"\((?:[A-Z]\w*|\d+)(?:, [\w ]+)*,?\)", exercise.stub)  # e.g. (B, D)
    assert shape or "shape" in exercise.stub  # the arrays' shapes in and out


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_every_value_check(name):
    exercise = get_exercise(name)
    failed = [
        (o.name, o.message)
        for o in run_checks(exercise, exercise.reference, behaviour=False)
        if not o.passed
    ]
    assert failed == []


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_BEHAVIOUR)
def test_reference_passes_every_check_in_a_child_process_with_the_default_limits(name, tmp_path):
    """The reference as a student's file (importing it), checked as `dllab exercise check`
    does: the behaviour checks, which train networks, fit the default time and memory limits."""
    exercise = get_exercise(name)
    imports = [
        f"from {fn.__module__} import {fn.__name__} as {f}" for f, fn in exercise.reference.items()
    ]
    path = tmp_path / exercise.filename
    path.write_text("\n".join(imports) + "\n")
    result = run_exercise(exercise, path)
    assert [(o.name, o.message) for o in result.outcomes if not o.passed] == []
    assert result.points == exercise.maximum


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_untouched_stub_fails_every_check_saying_what_is_not_written(name, tmp_path):
    exercise = get_exercise(name)
    functions, missing = load_file(write_stub(exercise, tmp_path), exercise)
    assert missing == []
    outcomes = run_checks(exercise, functions, behaviour=True)
    assert len(outcomes) == len(exercise.checks)
    for outcome in outcomes:
        assert not outcome.passed and outcome.points == 0
        assert "is not written yet (it raises NotImplementedError)" in outcome.message
        assert "Traceback" not in outcome.message and "\n" not in outcome.message


def test_a_teachers_seed_draws_other_cases_and_the_same_seed_the_same():
    exercise = get_exercise("dense-backward")

    def inputs_seen(seed: int) -> list[float]:
        seen = []

        def forward(x, W, b):
            seen.append(float(x.sum()))
            return x @ W.T + b

        functions = {**exercise.reference, "dense_forward": forward}
        assert run_check(exercise, exercise.checks[0], Submission(functions), seed).passed
        return seen

    assert inputs_seen(0) == inputs_seen(0)
    assert inputs_seen(0) != inputs_seen(7)


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (None, "dense_backward returned None: does the function return its result?"),
        ((0.0, "text", 0.0), "dL/dW should be an array of numbers, got str"),
        ((1, 2), "should return 3 values (dx, dW, db), got 2 values"),
        (7, "should return 3 values (dx, dW, db), got int"),
    ],
)
def test_odd_return_values_fail_with_a_message_not_a_traceback(returned, message):
    exercise = get_exercise("dense-backward")
    functions = {**exercise.reference, "dense_backward": lambda dout, x, W: returned}
    weight = next(c for c in exercise.checks if c.name == "weight gradient dL/dW")
    outcome = run_check(exercise, weight, Submission(functions), 0)
    assert not outcome.passed and message in outcome.message


def test_writing_into_an_input_fails_with_the_read_only_hint():
    exercise = get_exercise("dense-backward")

    def forward(x, W, b):
        x *= 1.0  # in place: the checker's arrays are read-only
        return x @ W.T + b

    outcome = run_check(
        exercise,
        exercise.checks[0],
        Submission({**exercise.reference, "dense_forward": forward}),
        0,
    )
    assert "read-only" in outcome.message and "dense_forward raised ValueError" in outcome.message
    assert "test_exercises.py, line" in outcome.message
    assert any("writes into one of its input arrays" in h for h in outcome.hints)


def clip_by_norm(grads, max_norm):
    norm = np.sqrt(sum((g**2).sum() for g in grads))
    return [g * min(1.0, max_norm / norm) for g in grads]


def clip_by_value(grads, clip_value):
    return [np.clip(g, -clip_value, clip_value) for g in grads]


def test_check_from_python_runs_the_functions_and_prints_the_table():
    result = check("gradient-clipping", clip_by_norm, clip_by_value)
    assert (
        result.passed
        and result.points == result.maximum == get_exercise("gradient-clipping").maximum
    )
    text = str(result)
    assert text == repr(result)
    assert "gradient-clipping" in text and "passed" in text and "FAILED" not in text
    assert f"{result.points}/{result.maximum} points" in text


def test_check_from_python_shows_failures_with_hints_and_escapes_html():
    def by_norm(grads, max_norm):
        raise ValueError("<script>alert(1)</script>")

    result = check("gradient-clipping", clip_by_value=clip_by_value, clip_by_norm=by_norm)
    assert not result.passed
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "FAILED" in str(result) and "clip_by_norm raised ValueError" in str(result)


@pytest.mark.slow
def test_check_from_python_survives_an_endless_loop():
    def by_value(grads, clip_value):
        while True:
            pass

    from dllab.exercises.runner import Limits, run_exercise

    exercise = get_exercise("gradient-clipping")
    functions = {"clip_by_norm": clip_by_norm, "clip_by_value": by_value}
    result = run_exercise(exercise, functions, limits=Limits(time_scale=0.1))
    by_name = {o.name: o for o in result.outcomes}
    assert by_name["clipping by norm scales every gradient together"].passed
    assert "did not finish within the time limit of 1 s" in by_name["clipping by value"].message


@pytest.mark.parametrize(
    ("args", "named", "message"),
    [
        ((clip_by_norm,), {}, "also needs clip_by_value"),
        ((clip_by_norm, clip_by_value, clip_by_value), {}, "takes 2 functions"),
        ((), {"clip": clip_by_norm}, "has no function 'clip'"),
        ((clip_by_norm, 3), {}, "clip_by_value is not a function"),
    ],
)
def test_check_from_python_rejects_functions_that_do_not_match_the_stub(args, named, message):
    from dllab.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        check("gradient-clipping", *args, **named)
