"""The `dllab` command: list, run, report; bad input exits 2 with one line and writes nothing."""

import json
import subprocess
import sys

import pytest

from dllab.cli import main
from dllab.experiments.tour import SHOWCASE_NAMES


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_has_name_unit_title_and_topics(capsys):
    code, out, _ = run_cli(capsys, "list", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {"perceptron-xor", "backprop", "optimizers"} <= {r["name"] for r in rows}
    assert all(set(r) == {"name", "unit", "title", "topics"} and r["topics"] for r in rows)
    xor = next(r for r in rows if r["name"] == "perceptron-xor")
    assert xor["title"] == "Perceptron vs MLP on XOR and XNOR"


def test_show_json_gives_every_setting_with_type_values_range_and_comment(capsys):
    from dllab.experiments.catalog import get_experiment

    code, out, _ = run_cli(capsys, "show", "dcgan", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["name"] == "dcgan" and shown["unit"] == 4 and shown["in_tour"]
    settings = {s["key"]: s for s in shown["settings"]}
    tour = get_experiment("dcgan").tour_config()
    assert settings["num_epochs"] | {"tour": None} == {
        "key": "num_epochs",
        "type": "int",
        "schema": {"kind": "int"},
        "default": 150,
        "quick": 3,
        "tour": None,
        "bounds": {"ge": 1},
        "comment": "passes over the training images",
    }
    assert settings["num_epochs"]["tour"] == tour.num_epochs
    assert settings["data.name"]["schema"] == {
        "kind": "choice",
        "choices": ["digits", "mnist", "cifar10"],
    }
    assert settings["data.download"]["default"] is False

    code, out, _ = run_cli(capsys, "show", "capacity", "--json")
    widths = next(s for s in json.loads(out)["settings"] if s["key"] == "widths")
    assert widths["type"] == "tuple of int" and widths["schema"]["items"] == {"kind": "int"}
    assert widths["quick"] == [1, 8, 128]


def test_show_prints_a_table_of_the_settings_and_run_name_help_prints_it_too(capsys):
    code, shown, _ = run_cli(capsys, "show", "digits-mlp")
    assert code == 0
    assert "A deep feed-forward classifier on the 8x8 digits" in shown
    row = next(line for line in shown.splitlines() if line.split()[:1] == ["num_epochs"])
    assert row.split() == ["num_epochs", "int", "60", "15", ">=", "1"]  # not in the tour
    assert "      Adam, cosine schedule" in shown.splitlines()
    with pytest.raises(SystemExit) as exit_:
        main(["run", "digits-mlp", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "--checkpoint-interval" in out and shown.strip() in out
    with pytest.raises(SystemExit):
        main(["run", "gan-2d", "--help"])
    assert "data.name" in capsys.readouterr().out  # each experiment its own keys


def test_list_groups_by_unit(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and out.startswith("Unit I: Feed-forward networks")


@pytest.mark.slow
def test_run_quick_writes_the_run_folder(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = run_cli(capsys, "run", "backprop", "--quick", "--out", str(out_dir), "--quiet")
    assert code == 0
    assert "max_abs_error_vs_autograd" in out
    for name in ("config.json", "metrics.json", "report.html", "backprop.txt"):
        assert (out_dir / name).is_file()
    config = json.loads((out_dir / "config.json").read_text())
    assert config["status"] == "ok" and config["quick"] is True and config["unit"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "no-such-experiment"], "unknown experiment 'no-such-experiment'"),
        (["run", "no-such-experiment", "--help"], "unknown experiment 'no-such-experiment'"),
        (["show", "backprp"], "did you mean 'backprop'"),
        (["run", "backprp"], "did you mean 'backprop'"),
        (["run", "backprop", "--set", "lr=0"], "lr: must be > 0"),
        (["run", "backprop", "--set", "speed=3"], "unknown --set key 'speed'"),
        (["run", "digits-mlp", "--set", "batch_size=0"], "batch_size: must be >= 1"),
        (["run", "digits-mlp", "--set", "num_epochs=-1"], "num_epochs: must be >= 1"),
        (["run", "digits-mlp", "--set", "lr=abc"], "expected a number"),
        (["run", "backprop", "--device", "cuda"], "no CUDA GPU"),
        (["run", "backprop", "--seed", "x"], "invalid int value"),
        (["frobnicate"], "invalid choice"),
        (["report", "/nonexistent/run"], "not a run folder"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    capsys, monkeypatch, tmp_path, argv, message
):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and message in err and err.startswith("dllab: error:")
    assert not (tmp_path / "runs").exists()


def test_an_existing_output_folder_is_never_overwritten(capsys, tmp_path):
    out_dir = tmp_path / "earlier"
    out_dir.mkdir()
    (out_dir / "metrics.json").write_text('{"keep": 1}')
    code, _, err = run_cli(capsys, "run", "backprop", "--out", str(out_dir))
    assert code == 2 and "already holds files" in err
    assert (out_dir / "metrics.json").read_text() == '{"keep": 1}'


def test_an_unwritable_output_folder_is_a_clear_error(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "run", "backprop", "--out", str(blocker / "sub"))
    assert code == 2 and "cannot write to output folder" in err


@pytest.mark.slow
def test_resume_of_another_experiments_folder_is_refused(capsys, tmp_path):
    out_dir = tmp_path / "run"
    assert run_cli(capsys, "run", "backprop", "--out", str(out_dir), "--quiet")[0] == 0
    code, _, err = run_cli(capsys, "run", "digits-mlp", "--resume", str(out_dir))
    assert code == 2 and "is a run of 'backprop'" in err


def test_debug_shows_the_traceback(capsys):
    code, _, err = run_cli(capsys, "--debug", "run", "nope")
    assert code == 2 and "Traceback" in err


@pytest.mark.slow
def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "dllab", "list", "--json"], capture_output=True, text=True
    )
    assert result.returncode == 0 and json.loads(result.stdout)


@pytest.mark.slow
def test_tour_runs_each_experiment_and_reports_a_failure_without_stopping(
    capsys, monkeypatch, tmp_path
):
    from dllab.experiments import catalog, registry
    from dllab.experiments.tour import run_tour

    def broken(cfg, run):
        raise RuntimeError("this experiment is broken")

    entry = catalog.get_experiment("backprop")
    monkeypatch.setitem(
        registry._EXPERIMENTS, "backprop", entry.__class__(**{**entry.__dict__, "fn": broken})
    )
    index = run_tour(out=str(tmp_path / "tour"), quiet=True, names=("backprop", "digits-mlp"))
    page = index.read_text()
    assert "this experiment is broken" in page and "digits-mlp" in page
    broken_config = json.loads((tmp_path / "tour" / "backprop" / "config.json").read_text())
    assert broken_config["status"] == "failed"
    assert json.loads((tmp_path / "tour" / "digits-mlp" / "metrics.json").read_text())
    assert "failed" in capsys.readouterr().err


@pytest.mark.parametrize("name", SHOWCASE_NAMES)
def test_every_showcase_declares_its_tour_settings_and_time(name):
    from dllab.experiments.catalog import get_experiment

    exp = get_experiment(name)
    assert exp.tour is not None and exp.tour_seconds > 0
    assert exp.tour_config() is not None  # validated at registration, too


def test_a_misspelled_quick_or_tour_key_is_an_error_at_registration():
    from dllab.experiments.registry import experiment
    from dllab.experiments.unit2.mnist1d import DegradationConfig
    from dllab.experiments.unit5.compression import CompressionConfig

    common = dict(unit=2, title="t", topics=("ResNet",), config=DegradationConfig)
    with pytest.raises(ValueError, match=r"quick: unknown key 'num_epoch' \(the keys: depths"):
        experiment("typo-quick", quick={"num_epoch": 1}, **common)
    with pytest.raises(ValueError, match=r"tour: unknown key 'widht'"):
        experiment("typo-tour", quick={}, tour={"widht": 4}, **common)
    nested = dict(unit=5, title="t", topics=("autoencoder",), config=CompressionConfig)
    with pytest.raises(ValueError, match=r"tour\.data: unknown key 'nmae'"):
        experiment("typo-nested", quick={}, tour={"data": {"nmae": "digits"}}, **nested)


@pytest.mark.slow
def test_tour_eta_scales_the_measured_seconds_by_this_machines_pace(capsys, tmp_path):
    from dllab.experiments import get_experiment, tour

    tour.run_tour(out=str(tmp_path / "tour"), quiet=True, names=("backprop", "bptt"))
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[")]
    expected = sum(get_experiment(name).tour_seconds for name in ("backprop", "bptt"))
    assert lines[0].startswith(f"[1/2] backprop (0 s so far, about {expected:.0f} s left)")
    assert lines[1].startswith("[2/2] bptt") and "s left)" in lines[1]
    assert tour._pace(10.0, 5.0) == 2.0 and tour._pace(0.0, 0.0) == 1.0


def test_progress_prints_plain_lines_when_not_a_terminal(capsys):
    import torch

    from dllab.engine import Trainer

    X, y = torch.randn(32, 3), torch.randint(0, 2, (32,))
    Trainer(torch.nn.Linear(3, 2), name="tiny").fit((X, y), num_epochs=2, batch_size=8)
    err = capsys.readouterr().err
    assert "tiny epoch 1/2" in err and "tiny epoch 2/2" in err and "loss" in err


def test_tensorboard_without_the_extra_is_a_clear_error(monkeypatch):
    from dllab.engine import TensorBoardLogger
    from dllab.errors import ConfigError

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(ConfigError, match=r"pip install 'dllab\[tensorboard\]'"):
        TensorBoardLogger("unused")


@pytest.mark.slow
def test_tour_check_says_which_claims_hold_and_exits_1_when_one_does_not(
    capsys, monkeypatch, tmp_path
):
    from dllab.experiments import catalog, registry
    from dllab.experiments.registry import Claim
    from dllab.experiments.tour import check_claims

    entry = catalog.get_experiment("backprop")
    claims = (
        Claim("a metric the run wrote", lambda m: m["loss_before"] > 0),
        Claim("a metric it never wrote", lambda m: m["no_such_metric"] > 0),
    )
    monkeypatch.setitem(
        registry._EXPERIMENTS, "backprop", entry.__class__(**{**entry.__dict__, "claims": claims})
    )
    out = tmp_path / "tour"
    code = main(["tour", "backprop", "--quiet", "--check", "--out", str(out)])
    assert code == 1
    text = capsys.readouterr().out
    assert "holds  backprop" in text and "FAILS  backprop" in text
    assert [r.holds for r in check_claims([out / "backprop"])] == [True, False]
    (out / "backprop" / "metrics.json").unlink()  # a run without metrics holds no claim
    assert not any(r.holds for r in check_claims([out / "backprop"]))
