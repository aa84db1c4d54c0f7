"""The Python API of the notebooks: `dllab.run` is `dllab run` (same folder, files and errors),
`RunResult` holds what the folder holds, `load_run` reads it back, and importing dllab is cheap."""

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import dllab
from dllab.api import _assignment
from dllab.cli import main
from dllab.config import apply_overrides
from dllab.errors import ConfigError
from dllab.experiments import get_experiment


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """One quick digits-mlp run through the API, with a setting given as a Python value."""
    out = tmp_path_factory.mktemp("api") / "digits"
    return dllab.run("digits-mlp", quick=True, settings={"lr": 0.003}, out=out, quiet=True)


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """The same run through the command line: its folder and what it printed."""
    out = tmp_path_factory.mktemp("cli") / "digits"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(
            ["run", "digits-mlp", "--quick", "--set", "lr=0.003", "--quiet", "--out", str(out)]
        )
    assert code == 0
    return out, printed.getvalue()


def files(folder: Path) -> set[str]:
    """The folder's files, checkpoint folders without their random suffix."""
    paths = (str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    return {re.sub(r"-[0-9a-f]{6}/", "/", path) for path in paths}


@pytest.mark.slow
def test_metrics_config_and_history_are_the_run_folders_files(digits):
    folder = digits.folder
    assert digits.metrics == json.loads((folder / "metrics.json").read_text())
    meta = json.loads((folder / "config.json").read_text())
    assert digits.config == meta["config"] and digits.config["lr"] == 0.003
    assert digits.claims == meta["claims"]
    lines = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
    assert digits.history == [r for r in lines if r["kind"] == "epoch"]
    assert len(digits.history) == digits.config["num_epochs"]
    assert digits.steps and all(r["kind"] == "step" for r in digits.steps)
    assert digits.figures and all(path.is_file() for path in digits.figures)


@pytest.mark.slow
def test_load_run_of_the_folder_gives_the_same_result(digits):
    assert dllab.load_run(digits.folder) == digits
    assert dllab.load_run(str(digits.folder)) == digits


@pytest.mark.parametrize("name", ["backprop", "bptt"])
def test_the_html_names_every_headline_metric_and_embeds_every_figure(name, quick_runs):
    result = dllab.load_run(quick_runs(name)[0])
    page = result._repr_html_()
    headline = get_experiment(name).headline
    assert headline and all(f"<code>{metric}</code>" in page for metric in headline)
    assert page.count('<img src="data:image/png;base64,') == len(result.figures) > 0
    assert 'src="figures/' not in page and "<style" not in page  # self-contained, no CSS
    assert 'src="figures/' not in page and "<style" not in page  # self-contained, no CSS


def test_the_html_puts_a_metric_beside_its_published_number(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    meta = {
        "experiment": "mnist1d-mlp",
        "title": "MLP",
        "headline": [],
        "references": {"test_accuracy": {"value": 0.68, "source": "Greydanus 2020"}},
    }
    (folder / "config.json").write_text(json.dumps(meta))
    (folder / "metrics.json").write_text(json.dumps({"test_accuracy": 0.71, "other": 1.0}))
    page = dllab.load_run(folder)._repr_html_()
    row = page[page.index("<code>test_accuracy</code>") :].split("</tr>")[0]
    assert "0.71" in row and "0.68" in row and "Greydanus 2020" in row
    assert "<code>other</code>" not in page  # neither a headline nor a referenced metric


def test_every_string_of_the_html_is_escaped(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    attack = "<script>alert(1)</script>"
    meta = {
        "experiment": attack,
        "title": attack,
        "description": attack,
        "topics": [attack],
        "claims": [{"text": attack, "holds": False}],
        "headline": [attack],
    }
    (folder / "config.json").write_text(json.dumps(meta))
    (folder / "metrics.json").write_text(json.dumps({attack: 1.0}))
    page = dllab.load_run(folder)._repr_html_()
    assert "<script>" not in page and page.count("&lt;script&gt;") >= 5


@pytest.mark.slow
def test_printing_a_result_prints_what_dllab_run_prints(digits, cli):
    printed = cli[1].strip().splitlines()
    api = str(digits).splitlines()
    assert api[0] == f"digits-mlp: {digits.folder}"
    assert len(api) > 3 and api[1:] == printed[1:]  # the same metrics, lessons and numbers


@pytest.mark.slow
def test_a_run_folder_from_the_api_is_laid_out_as_the_clis(digits, cli):
    folder = cli[0]
    assert files(digits.folder) == files(folder)
    ours, theirs = (json.loads((f / "config.json").read_text()) for f in (digits.folder, folder))
    timing = {"started", "finished", "duration_s"}
    assert {k: v for k, v in ours.items() if k not in timing} == {
        k: v for k, v in theirs.items() if k not in timing
    }
    assert digits.metrics == json.loads((folder / "metrics.json").read_text())


def test_an_unknown_experiment_is_the_clis_config_error():
    with pytest.raises(ConfigError, match=r"unknown experiment 'digits-mpl'.*'digits-mlp'.*known:"):
        dllab.run("digits-mpl", quick=True)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"learning_rate": 0.1}, r"unknown --set key 'learning_rate'.*known: .*lr"),
        ({"lr": -1}, r"--set lr: must be > 0, got -1"),
        ({"num_epochs": 2.5}, r"--set num_epochs: expected an integer, got '2.5'"),
        ({"engine": "jax"}, r"unknown value for engine 'jax' \(known: torch, scratch\)"),
        ({3: 1}, r"a setting's key is its dotted name"),
    ],
)
def test_a_bad_setting_is_the_clis_config_error_before_any_folder_is_made(
    settings, message, tmp_path
):
    out = tmp_path / "never"
    with pytest.raises(ConfigError, match=message):
        dllab.run("digits-mlp", quick=True, settings=settings, out=out)
    assert not out.exists()


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("radii", (0.5, 3.0), (0.5, 3.0)),
        ("radii", [2.0], (2.0,)),
        ("num_steps", 20, 20),
        ("num_sequences", True, None),  # a bool is no int: refused, as --set refuses "true"
    ],
)
def test_python_values_become_the_set_strings_the_cli_parses(key, value, expected):
    quick = get_experiment("bptt").quick_config()
    if expected is None:
        with pytest.raises(ConfigError):
            apply_overrides(quick, [_assignment(key, value)])
    else:
        assert getattr(apply_overrides(quick, [_assignment(key, value)]), key) == expected


def test_quick_and_showcase_together_are_refused():
    with pytest.raises(ConfigError, match="exclude each other"):
        dllab.run("vae", quick=True, showcase=True)


def test_load_run_refuses_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(ConfigError, match="not a run folder"):
        dllab.load_run(tmp_path)
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(ConfigError, match="config.json is corrupt"):
        dllab.load_run(tmp_path)


@pytest.mark.slow
def test_history_frame_is_a_table_of_the_epochs(digits):
    pandas = pytest.importorskip("pandas")
    frame = digits.history_frame()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == len(digits.history)
    assert list(frame["val_accuracy"]) == [r["val_accuracy"] for r in digits.history]
    assert len(digits.history_frame("step")) == len(digits.steps)


@pytest.mark.slow
def test_history_frame_without_pandas_says_how_to_install_it(digits, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(ImportError, match=r"needs pandas: pip install pandas"):
        digits.history_frame()


def test_importing_dllab_loads_neither_torch_nor_the_experiments():
    code = "import sys, dllab; print(sorted(m for m in ('torch', 'matplotlib', 'numpy', "
    code += "'dllab.experiments', 'dllab.api') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr
