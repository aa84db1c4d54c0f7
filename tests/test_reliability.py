"""Crashes lose nothing: a run killed (SIGKILL) or interrupted (Ctrl-C) at a random moment and
resumed ends bit-identical to an uninterrupted run; bad input leaves nothing behind."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dllab.cli import main
from dllab.engine import Trainer
from dllab.engine.checkpoint import load_checkpoint
from dllab.errors import DataError
from dllab.experiments import run_experiment

# digits-mlp has dropout and a cosine schedule; long enough to be stopped half way.
SETTINGS = ("num_epochs=40", "batch_size=16")
CHECKPOINTS = Path("checkpoints") / "digits_mlp"


def start_run(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same arithmetic as this process
    command = [
        sys.executable,
        "-m",
        "dllab",
        "run",
        "digits-mlp",
        "--out",
        str(folder),
        "--checkpoint-interval",
        "0",
        "--quiet",
    ]
    for setting in SETTINGS:
        command += ["--set", setting]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_epoch(process: subprocess.Popen, folder: Path, epoch: int) -> None:
    """Until the run has logged `epoch` (of 40) and written its first checkpoint: an event, not
    a time, so that however fast the machine the run is then still training, at least half of
    it to go (epoch <= 20)."""
    history, deadline = folder / "history.jsonl", time.monotonic() + 120
    while not (
        (folder / CHECKPOINTS / "last.json").exists()
        and history.exists()
        and history.read_text().count('"kind": "epoch"') >= epoch
    ):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)


def final_state(folder: Path) -> tuple[dict, list[dict], dict]:
    weights, _ = load_checkpoint(folder / CHECKPOINTS)
    history = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
    history = [{k: v for k, v in r.items() if k != "time"} for r in history]
    return weights, history, json.loads((folder / "metrics.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference") / "run"
    run_experiment("digits-mlp", overrides=SETTINGS, out=str(folder), quiet=True)
    return final_state(folder)


def assert_same(folder: Path, reference) -> None:
    weights, history, metrics = final_state(folder)
    ref_weights, ref_history, ref_metrics = reference
    assert weights.keys() == ref_weights.keys()
    assert all(torch.equal(weights[k], ref_weights[k]) for k in weights)
    assert history == ref_history
    assert metrics == ref_metrics


@pytest.mark.parametrize("delay_seed", [1, 2])  # epochs 5 and 2
def test_sigkill_at_a_random_moment_then_resume_is_bit_identical(
    tmp_path, uninterrupted, delay_seed
):
    folder = tmp_path / "run"
    process = start_run(folder)
    wait_for_epoch(process, folder, epoch=random.Random(delay_seed).randint(1, 20))
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL  # killed while still training
    assert not (folder / "metrics.json").exists()
    run_experiment("digits-mlp", resume=str(folder), quiet=True)
    assert_same(folder, uninterrupted)


def test_ctrl_c_saves_prints_the_resume_command_and_exits_130(tmp_path, uninterrupted):
    folder = tmp_path / "run"
    process = start_run(folder)
    wait_for_epoch(process, folder, epoch=3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert f"dllab run digits-mlp --resume {folder}" in err
    assert json.loads((folder / "config.json").read_text())["status"] == "interrupted"
    assert main(["run", "digits-mlp", "--resume", str(folder), "--quiet"]) == 0
    assert_same(folder, uninterrupted)


def test_data_that_does_not_fit_the_model_is_one_clear_error():
    trainer = Trainer(torch.nn.Linear(64, 10), quiet=True)
    with pytest.raises(DataError, match=r"\(8, 10\) float32.*does not fit the model"):
        trainer.fit((torch.randn(8, 10), torch.randint(0, 10, (8,))))
    with pytest.raises(DataError, match="does not fit"):
        trainer.predict(torch.randn(3, 5))


def test_a_run_failing_on_bad_data_inside_the_experiment_leaves_no_folder(
    capsys, monkeypatch, tmp_path
):
    from dllab.experiments.unit1 import classifiers

    earlier = tmp_path / "earlier"
    assert main(["run", "backprop", "--out", str(earlier), "--quiet"]) == 0
    before = sorted(p.name for p in earlier.rglob("*"))

    def corrupt(*args, **kwargs):
        raise DataError("digits.npz: truncated file")

    monkeypatch.setattr(classifiers.data, "load", corrupt)
    folder = tmp_path / "bad"
    assert main(["run", "digits-mlp", "--out", str(folder), "--quiet"]) == 2
    assert "truncated file" in capsys.readouterr().err
    assert not folder.exists()
    assert sorted(p.name for p in earlier.rglob("*")) == before
