"""Every bad input is one line on stderr and exit code 2, found before a run folder is made, and
changes nothing already written: flags, tuple settings, resumes, report pages, data advice and
checkpoint files."""

import errno
import json
import os
import time
from pathlib import Path

import pytest
import torch

from dllab.cli import main
from dllab.config import apply_overrides
from dllab.errors import CheckpointError
from dllab.experiments.catalog import get_experiment


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, message: str) -> bool:
    return code == 2 and err.startswith("dllab: error:") and err.count("\n") == 1 and message in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seed", str(2**64)], "--seed must be from 0 to 2**64 - 1"),
        (["--seed", "-1"], "--seed must be from 0 to 2**64 - 1"),
        (["--checkpoint-interval", "-1"], "--checkpoint-interval must be a finite number >= 0"),
        (["--checkpoint-interval", "nan"], "--checkpoint-interval must be a finite number >= 0"),
        (["--checkpoint-interval", "inf"], "--checkpoint-interval must be a finite number >= 0"),
        (["--threads", "100000"], "(--threads) must be 1 to 1024"),
        (["--device", "meta"], "unknown device 'meta'"),
        (["--set", "depths="], "expected integers separated by commas, like 8,16"),
        (["--set", "depths=(8,"], "expected integers separated by commas, like 8,16"),
        (["--set", "depths=8,,20"], "expected integers separated by commas, like 8,16"),
        (["--set", "depths=()"], "--set depths: give at least one value, like 8,16"),
        (["--set", f"num_epochs={2**70}"], "--set num_epochs: expected an integer below 2**63"),
    ],
)
def test_a_bad_flag_is_refused_before_a_run_folder_is_made(
    capsys, monkeypatch, tmp_path, flags, message
):
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    try:
        code, _, err = run_cli(capsys, "run", "degradation", "--quick", *flags)
    finally:
        torch.set_num_threads(before)
    assert one_line_error(code, err, message), err
    assert not (tmp_path / "runs").exists()


def test_a_tuple_that_may_be_empty_takes_empty_parentheses():
    copy_task = get_experiment("copy-task").quick_config()
    assert apply_overrides(copy_task, ["sweep=()", "cells=(lstm,)"]).sweep == ()
    assert apply_overrides(copy_task, ["cells=[gru, lstm]"]).cells == ("gru", "lstm")


@pytest.fixture
def finished_run(tmp_path, capsys) -> Path:
    folder = tmp_path / "run"
    assert main(["run", "backprop", "--out", str(folder), "--quiet"]) == 0
    capsys.readouterr()
    return folder


def test_resume_of_a_finished_run_says_so_and_changes_nothing(capsys, finished_run):
    files = {p: p.read_bytes() for p in finished_run.rglob("*") if p.is_file()}
    code, _, err = run_cli(capsys, "run", "backprop", "--resume", str(finished_run))
    assert one_line_error(code, err, "has finished (status ok); there is nothing to resume")
    assert {p: p.read_bytes() for p in finished_run.rglob("*") if p.is_file()} == files


@pytest.mark.parametrize("flag", [["--seed", "3"], ["--out", "elsewhere"], ["--quick"]])
def test_seed_out_or_quick_with_resume_are_refused(capsys, tmp_path, finished_run, flag):
    code, _, err = run_cli(capsys, "run", "backprop", "--resume", str(finished_run), *flag)
    assert one_line_error(code, err, f"drop {flag[0]}")
    assert not (tmp_path / "elsewhere").exists()


def test_resume_of_a_folder_with_an_incomplete_config_is_one_line(capsys, finished_run):
    config = finished_run / "config.json"
    config.write_text(json.dumps({"experiment": "backprop", "status": "interrupted"}))
    code, _, err = run_cli(capsys, "run", "backprop", "--resume", str(finished_run))
    assert one_line_error(code, err, "config.json there lacks")


def test_a_resumed_runs_duration_is_the_sum_of_its_parts(capsys, finished_run):
    config = finished_run / "config.json"
    meta = json.loads(config.read_text())
    (finished_run / "metrics.json").unlink()
    config.write_text(json.dumps({**meta, "status": "interrupted", "duration_s": 100.0}))
    assert main(["run", "backprop", "--resume", str(finished_run), "--quiet"]) == 0
    first_resume = json.loads(config.read_text())
    assert first_resume["status"] == "ok" and first_resume["duration_s"] >= 100.0

    # a part killed by SIGKILL recorded no duration: it counts to the folder's last write
    (finished_run / "metrics.json").unlink()
    started = time.time() - 1000.0
    config.write_text(json.dumps({**first_resume, "status": "running", "part_started": started}))
    os.utime(config, (started + 50.0, started + 50.0))
    for path in finished_run.rglob("*"):
        os.utime(path, (started + 50.0, started + 50.0))
    assert main(["run", "backprop", "--resume", str(finished_run), "--quiet"]) == 0
    total = json.loads(config.read_text())["duration_s"]
    assert total >= first_resume["duration_s"] + 50.0
    capsys.readouterr()


def make_run(folder: Path, **config) -> Path:
    folder.mkdir(parents=True)
    meta = {"experiment": "backprop", "title": "Backprop", "unit": 1, "status": "ok", **config}
    (folder / "config.json").write_text(json.dumps(meta))
    (folder / "metrics.json").write_text(json.dumps({"max_abs_error_vs_autograd": 0.0}))
    return folder


def test_report_out_never_replaces_a_file_dllab_did_not_write(capsys, tmp_path):
    run = make_run(tmp_path / "run")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    code, _, err = run_cli(capsys, "report", str(run), "--out", str(notes))
    assert one_line_error(code, err, "was not written by dllab; choose another --out")
    assert notes.read_text() == "my notes"
    assert not (run / "report.html").exists()  # refused before any page was written

    page = tmp_path / "index.html"
    assert run_cli(capsys, "report", str(run), "--out", str(page))[0] == 0
    assert run_cli(capsys, "report", str(run), "--out", str(page))[0] == 0  # ours: replaced


def test_report_out_on_a_folder_or_an_unwritable_place_is_one_line(capsys, tmp_path):
    run = make_run(tmp_path / "run")
    code, _, err = run_cli(capsys, "report", str(run), "--out", str(tmp_path))
    assert one_line_error(code, err, "is a folder; give the page's file name")
    code, _, err = run_cli(capsys, "report", str(run), "--out", str(run / "config.json" / "x"))
    assert one_line_error(code, err, "cannot write")


def test_report_in_a_read_only_run_folder_is_one_line(capsys, monkeypatch, tmp_path):
    import dllab.report.html

    run = make_run(tmp_path / "run")

    def read_only(path, write):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(dllab.report.html, "write_atomic", read_only)
    code, _, err = run_cli(capsys, "report", str(run))
    assert one_line_error(code, err, f"cannot write the report of {run}: Permission denied")


def test_report_on_corrupt_files_warns_on_stderr_too(capsys, tmp_path):
    run = make_run(tmp_path / "run")
    (run / "metrics.json").write_text("{not json")
    code, out, err = run_cli(capsys, "report", str(run))
    assert code == 0 and "report.html" in out
    assert f"dllab: warning: {run}: metrics.json is corrupt (line 1" in err


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("cifar10-cnn", ["data.source=cifar10"]),
        ("cifar10-resnet", ["data.source=cifar10"]),
        ("dcgan", ["data.name=mnist"]),
    ],
)
def test_the_missing_image_files_advice_names_keys_the_experiment_has(
    capsys, tmp_path, name, settings
):
    empty = tmp_path / "empty"
    empty.mkdir()
    flags = [f for s in [*settings, f"data.dir={empty}"] for f in ("--set", s)]
    code, _, err = run_cli(capsys, "run", name, "--quick", "--out", str(tmp_path / "r"), *flags)
    assert one_line_error(code, err, "files not found")
    advised = [word for word in err.split() if word.startswith("data.")]
    assert advised == ["data.dir=PATH),", "data.download=true"]
    config = get_experiment(name).quick_config()
    apply_overrides(config, ["data.dir=x", "data.download=true"])  # both keys exist
    assert not (tmp_path / "r").exists()


def test_a_text_file_as_the_checkpoint_state_is_not_a_checkpoint(tmp_path):
    from dllab.engine import Trainer
    from dllab.engine.checkpoint import STATE_FILE, load_checkpoint

    Trainer(torch.nn.Linear(3, 2), quiet=True).save(tmp_path)
    folder = tmp_path / json.loads((tmp_path / "last.json").read_text())["folder"]
    (folder / STATE_FILE).write_text("epoch: 3\nstep: 120\n")
    with pytest.raises(CheckpointError, match=r"state.pt is not a checkpoint file") as caught:
        load_checkpoint(tmp_path)
    assert "could run code" not in str(caught.value)
