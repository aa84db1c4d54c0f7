"""`dllab exercise`: list, start (never overwrites), check (exit 0 / 1 / 2), check --all,
release, and grade with --shard and --merge."""

import csv
import json
import re

import pytest

from dllab.cli import main
from dllab.exercises import get_exercise, list_exercises
from dllab.exercises.stubs import render_stub
from test_exercises_runner import CORRECT, WRONG

TIME_SCALE = ["--time-scale", "0.5"]


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch):
    """Tables as wide as a large terminal, so that messages wrap less (rich reads COLUMNS)."""
    monkeypatch.setenv("COLUMNS", "200")


def run(capsys, *argv):
    code = main(["exercise", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(folder, name: str, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_list_shows_every_exercise_by_unit_and_as_json(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.startswith("Unit 1: Feed-forward networks")
    assert all(f"  {e.name} " in out for e in list_exercises())
    code, out, _ = run(capsys, "list", "--json", "--unit", "3")
    rows = json.loads(out)
    assert code == 0 and {r["unit"] for r in rows} == {3} and len(rows) >= 5
    assert all(r["points"] >= r["checks"] >= 3 and r["topic"] for r in rows)


def test_start_writes_the_stub_once_and_never_overwrites(capsys, tmp_path):
    code, out, _ = run(capsys, "start", "lstm-cell", "--dir", str(tmp_path))
    stub = tmp_path / "lstm_cell.py"
    assert code == 0 and stub.read_text() == render_stub(get_exercise("lstm-cell"))
    assert "dllab exercise check lstm-cell" in out
    stub.write_text("# my work\n")
    code, out, err = run(capsys, "start", "lstm-cell", "--dir", str(tmp_path))
    assert code == 2 and out == ""
    assert err == f"dllab: error: {stub} already exists; it is never overwritten\n"
    assert stub.read_text() == "# my work\n"


@pytest.mark.slow
def test_check_exits_0_when_every_check_passes_and_1_when_one_fails(capsys, tmp_path):
    good = write(tmp_path / "good", "gradient_clipping.py", CORRECT)
    code, out, _ = run(capsys, "check", "gradient-clipping", str(good), *TIME_SCALE)
    assert code == 0 and "6/6 points" in out and "FAILED" not in out
    wrong = write(tmp_path / "wrong", "gradient_clipping.py", WRONG)
    code, out, _ = run(capsys, "check", "gradient-clipping", str(wrong), *TIME_SCALE)
    assert code == 1 and "FAILED" in out and "hint: The norm is taken over all" in out


@pytest.mark.slow
def test_check_of_an_untouched_stub_reads_exercises_folder_by_default(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "start", "truncated-bptt")[0] == 0
    code, out, _ = run(capsys, "check", "truncated-bptt", *TIME_SCALE)
    assert code == 1 and "tbptt_reach is not written yet" in out and "Traceback" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["check", "gradient-cliping"],
            "unknown exercise 'gradient-cliping'; did you mean 'gradient-clipping'?",
        ),
        (
            ["check", "adam", "/nonexistent/adam.py"],
            "no file /nonexistent/adam.py (write the stub with",
        ),
        (["check"], "check needs an exercise NAME"),
        (["check", "--all", "/nonexistent"], "/nonexistent is not a folder"),
        (["start", "no-such"], "unknown exercise 'no-such'"),
        (["grade", "--out", "x.csv"], "grade needs SUBMISSIONS_DIR"),
        (["grade", "class", "--out", "x.csv", "--shard", "2/2"], "--shard K/N needs 0 <= K < N"),
        (["grade", "class", "--out", "x.csv", "--shard", "a"], "--shard takes K/N"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class").mkdir()
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_check_of_a_file_without_the_function_exits_2(capsys, tmp_path):
    path = write(
        tmp_path, "gradient_clipping.py", "def clip_by_value(grads, v):\n    return grads\n"
    )
    code, _, err = run(capsys, "check", "gradient-clipping", str(path), *TIME_SCALE)
    message = f"{path}: the file does not define clip_by_norm (see the exercise's stub)"
    assert code == 2 and err == f"dllab: error: {message}\n"


def test_check_all_scores_every_exercise_file_in_the_folder(capsys, tmp_path):
    write(tmp_path, "gradient_clipping.py", CORRECT)
    assert run(capsys, "start", "sparse-kl", "--dir", str(tmp_path))[0] == 0
    write(tmp_path, "notes.py", "print('not an exercise')\n")
    code, out, _ = run(capsys, "check", "--all", str(tmp_path), *TIME_SCALE)
    assert code == 1
    assert "gradient-clipping" in out and "sparse-kl" in out and "Summary" in out
    total = [line for line in out.splitlines() if "total" in line][-1]
    assert total.strip("│ ").split()[-1] == f"6/{6 + get_exercise('sparse-kl').maximum}"


def test_release_writes_every_stub_and_a_readme_per_unit_without_solutions(capsys, tmp_path):
    out_dir = tmp_path / "course"
    code, out, _ = run(capsys, "release", str(out_dir))
    exercises = list_exercises()
    assert code == 0 and f"{len(exercises)} stubs and 5 READMEs" in out
    for e in exercises:
        assert (out_dir / f"unit-{e.unit}" / e.filename).read_text() == render_stub(e)
        assert f"`{e.filename}`" in (out_dir / f"unit-{e.unit}" / "README.md").read_text()
    code, _, err = run(capsys, "release", str(out_dir))
    assert code == 2 and "already holds files" in err
    code, _, _ = run(capsys, "release", str(tmp_path / "unit2"), "--unit", "2")
    assert code == 0 and sorted(p.name for p in (tmp_path / "unit2").iterdir()) == ["unit-2"]


def read_rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_grade_shards_merge_into_the_grades_of_one_run(capsys, tmp_path):
    class_dir = tmp_path / "class"
    for i, text in enumerate([CORRECT, WRONG, CORRECT, WRONG, CORRECT]):
        write(class_dir / f"student{i}", "gradient_clipping.py", text)
    args = ["--workers", "2", *TIME_SCALE]
    assert run(capsys, "grade", str(class_dir), "--out", str(tmp_path / "all.csv"), *args)[0] == 0
    for k in (0, 1):
        out = tmp_path / f"shard{k}.csv"
        code, _, err = run(
            capsys, "grade", str(class_dir), "--out", str(out), "--shard", f"{k}/2", *args
        )
        assert code == 0 and "s left)" in err
    assert {r["student"] for r in read_rows(tmp_path / "shard0.csv")} == {
        "student0",
        "student2",
        "student4",
    }
    shards = [str(tmp_path / "shard1.csv"), str(tmp_path / "shard0.csv")]
    code, out, _ = run(capsys, "grade", "--merge", *shards, "--out", str(tmp_path / "merged.csv"))
    assert code == 0 and "of 5 students" in out
    merged, full = read_rows(tmp_path / "merged.csv"), read_rows(tmp_path / "all.csv")
    assert merged == full
    clipping = {r["student"]: r["points"] for r in full if r["exercise"] == "gradient-clipping"}
    assert clipping == {
        "student0": "6",
        "student1": "3",
        "student2": "6",
        "student3": "3",
        "student4": "6",
    }
    assert all(r["failed_checks"].startswith("no file") for r in full if r["exercise"] == "adam")
    assert (tmp_path / "merged.html").is_file()
    code, _, err = run(
        capsys, "grade", "--merge", *shards, shards[0], "--out", str(tmp_path / "twice.csv")
    )
    assert code == 2 and "is graded in" in err
    code, _, err = run(capsys, "grade", "--merge", *shards, "--out", str(tmp_path / "merged.csv"))
    assert code == 2 and "already exists; it is never overwritten" in err


@pytest.mark.slow
def test_the_tour_page_lists_the_exercises_by_unit(tmp_path):
    from dllab.exercises import catalogue
    from dllab.experiments.tour import run_tour

    rows = catalogue()
    rows[0] = {**rows[0], "title": "<b>escaped</b>"}
    page = run_tour(out=str(tmp_path / "tour"), quiet=True, names=("backprop",), exercises=rows)
    text = page.read_text()
    section = text[text.index('<h2 id="exercises">Exercises</h2>') :]
    assert all(f"<code>{row['name']}</code>" in section for row in rows)
    assert section.index("Unit I ·") < section.index("Unit V ·")
    assert "&lt;b&gt;escaped&lt;/b&gt;" in section and "<b>escaped" not in section


def test_only_the_cli_imports_the_exercises():
    """ARCHITECTURE: exercises/ is never imported by the rest of the package (the CLI hands
    the tour its listing)."""
    from pathlib import Path

    import dllab

    package = Path(dllab.__file__).parent
    importers = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "exercises" not in path.relative_to(package).parts
        and re.search(r"^\s*(from|import) dllab\.exercises", path.read_text(), re.MULTILINE)
    }
    assert importers == {"cli.py"}
