"""The notebooks: current with their sources, one per unit walking its topics in the syllabus
order with each exercise where its topic is taught, and every one running top to bottom in a
fresh kernel with its figures inline (tests/notebook_runs.py runs them in the background)."""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from dllab.exercises import list_exercises
from dllab.experiments.syllabus import TOPICS

FOLDER = Path(__file__).parents[1] / "notebooks"
UNITS = {f"unit{unit}": unit for unit in TOPICS}
_spec = importlib.util.spec_from_file_location("notebook_build", FOLDER / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def source(name: str) -> str:
    return (FOLDER / f"{name}.py").read_text(encoding="utf-8")


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, text) of each `## heading` section of a notebook source, in order; headings
    in lower case, as the syllabus names its topics (the notebook capitalises them)."""
    parts = re.split(r"^# ## (.+)$", text, flags=re.M)
    return [(heading.lower(), body) for heading, body in zip(parts[1::2], parts[2::2])]


def images(cell) -> int:
    """The figures a cell's outputs show: PNG outputs and images embedded in HTML."""
    count = 0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        count += "image/png" in data
        count += str(data.get("text/html", "")).count('src="data:image/')
    return count


def test_notebooks_are_current_with_their_sources_and_the_exercise_registry():
    assert build.stale() == [], "notebooks are stale: make notebooks"
    assert [path.stem for path in build.sources()] == ["quickstart", *UNITS]


@pytest.mark.parametrize("name", build.NAMES)
def test_committed_notebooks_hold_no_outputs_and_run_in_quick_mode(name):
    notebook = nbformat.read(FOLDER / f"{name}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert "QUICK = True" in code[0].source
    assert 'find_spec("dllab") is None' in code[0].source  # installs dllab when missing


@pytest.mark.parametrize("name, unit", UNITS.items())
def test_unit_notebook_walks_its_topics_in_the_syllabus_order(name, unit):
    headings = [heading for heading, _ in sections(source(name))]
    assert headings == [topic.lower() for topic in TOPICS[unit]]
    for heading, text in sections(source(name)):
        assert "dllab.run(" in text, f"{name}: {heading!r} runs no experiment"


@pytest.mark.parametrize("name, unit", UNITS.items())
def test_unit_notebook_holds_each_exercise_where_its_topic_is_taught_stub_then_check(name, unit):
    expected = {exercise.name: exercise.topic.lower() for exercise in list_exercises(unit)}
    found = {}
    for heading, text in sections(source(name)):
        cells = re.findall(r'^# %% (\w+)="([a-z0-9-]+)"$', text, flags=re.M)
        for (kind, exercise), after in zip(cells, cells[1:] + [("", "")]):
            if kind == "exercise":
                assert after == ("check", exercise), f"{exercise}: no check(...) cell after it"
                found[exercise] = heading
    assert found == expected
    assert build.exercises_in(source(name)) == list(found)


@pytest.mark.slow
@pytest.mark.parametrize("name", build.NAMES)
def test_notebook_runs_top_to_bottom_in_a_fresh_kernel_with_its_figures_inline(name, notebook_runs):
    run = notebook_runs.result(name)
    assert not run.error, f"{name} failed:\n{run.error}"
    code = [cell for cell in run.notebook.cells if cell.cell_type == "code"]
    runs = [cell for cell in code if "dllab.run(" in cell.source]
    assert runs
    for cell in runs:
        assert images(cell) >= 1, f"{name}: no figure under {cell.source!r}"
    for cell in code:
        assert not [o for o in cell.outputs if o.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["quickstart"])
def test_quickstart_fit_shows_one_progress_line_and_one_figure_redrawn_in_place(
    name, notebook_runs
):
    run = notebook_runs.result(name)
    assert not run.error, run.error
    code = [cell for cell in run.notebook.cells if cell.cell_type == "code"]
    (cell,) = [c for c in code if "live_plot=True" in c.source]
    progress = [o for o in cell.outputs if "steps" in str(o.get("data", {}).get("text/plain"))]
    figures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(progress) == 1 and len(figures) == 1, [o.output_type for o in cell.outputs]
    last_epoch = cell.outputs[-1]["data"]["text/plain"]  # the cell's value: history.epochs[-1]
    epoch = int(re.search(r"'epoch': (\d+)", last_epoch).group(1))
    assert f"epoch {epoch}/" in progress[0]["data"]["text/plain"]  # the line shows the end
