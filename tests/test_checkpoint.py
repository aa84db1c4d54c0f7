"""Checkpoints: atomic writes, refusal of code-running pickles, clear mismatch messages."""

import errno
import json
import os
import pickle

import pytest
import torch
from torch import nn

from dllab.engine import Trainer
from dllab.engine.checkpoint import STATE_FILE, load_checkpoint, save_checkpoint
from dllab.errors import CheckpointError


def small_trainer(width=4):
    torch.manual_seed(0)
    return Trainer(nn.Sequential(nn.Linear(3, width), nn.Linear(width, 2)), quiet=True)


def test_save_then_load_returns_the_same_tensors_and_values(tmp_path):
    weights = {"w": torch.arange(6.0).reshape(2, 3)}
    state = {"step": 7, "epoch": 1, "nested": {"lr": 0.1, "name": "x"}}
    save_checkpoint(tmp_path, "last", weights, state)
    loaded_weights, loaded_state = load_checkpoint(tmp_path)
    assert torch.equal(loaded_weights["w"], weights["w"])
    assert loaded_state == state


class CreatesAFile:
    """A pickle that, when loaded by plain pickle, would create a file (runs code)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    trainer = small_trainer()
    trainer.save(tmp_path)
    folder = tmp_path / json.loads((tmp_path / "last.json").read_text())["folder"]
    marker = tmp_path / "pwned.txt"
    with open(folder / STATE_FILE, "wb") as f:
        pickle.dump({"format": 1, "payload": CreatesAFile(str(marker))}, f, protocol=2)
    with pytest.raises(CheckpointError, match="refused"):
        small_trainer().load(tmp_path)
    assert not marker.exists()


def test_a_checkpoint_of_another_shape_names_the_keys(tmp_path):
    small_trainer(width=4).save(tmp_path)
    with pytest.raises(CheckpointError, match=r"0.weight \(4, 3\) vs model \(5, 3\)"):
        small_trainer(width=5).load(tmp_path)
    other = Trainer(nn.Sequential(nn.Linear(3, 2)), quiet=True)
    with pytest.raises(CheckpointError, match="unexpected: 1.bias"):
        other.load(tmp_path)


def test_missing_or_corrupt_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        load_checkpoint(tmp_path)
    small_trainer().save(tmp_path)
    folder = tmp_path / json.loads((tmp_path / "last.json").read_text())["folder"]
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="cannot read weights"):
        load_checkpoint(tmp_path)
    (tmp_path / "last.json").write_text("{")
    with pytest.raises(CheckpointError, match="corrupt checkpoint pointer"):
        load_checkpoint(tmp_path)


def test_a_kill_during_a_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = small_trainer()
    trainer.step = 1
    trainer.save(tmp_path)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies half way through writing the state file

    monkeypatch.setattr(torch, "save", killed)
    trainer.step = 2
    with pytest.raises(KeyboardInterrupt):
        trainer.save(tmp_path)
    monkeypatch.undo()
    _, state = load_checkpoint(tmp_path)
    assert state["step"] == 1


def test_a_full_disk_is_a_clear_error_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = small_trainer()
    trainer.step = 1
    trainer.save(tmp_path)

    def disk_full(obj, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", disk_full)
    trainer.step = 2
    with pytest.raises(CheckpointError, match="No space left on device"):
        trainer.save(tmp_path)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path)[1]["step"] == 1
    leftovers = [p.name for p in tmp_path.rglob("*.tmp")]
    assert leftovers == []


def test_a_checkpoint_of_another_optimizer_is_refused_naming_both(tmp_path):
    adam = small_trainer()
    adam.fit((torch.randn(8, 3), torch.randint(0, 2, (8,))), num_epochs=1)
    adam.save(tmp_path)
    torch.manual_seed(0)
    sgd = Trainer(nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)), "sgd", quiet=True)
    before = {k: v.clone() for k, v in sgd.weights().items()}
    with pytest.raises(CheckpointError, match="optimizer is Adam, this Trainer's is SGD"):
        sgd.load(tmp_path)
    assert all(torch.equal(before[k], v) for k, v in sgd.weights().items())  # nothing loaded

    weights, state = load_checkpoint(tmp_path)  # a checkpoint written before the classes were
    del state["optimizer_classes"]
    save_checkpoint(tmp_path, "old", weights, state)
    with pytest.raises(CheckpointError, match="is another optimizer, this Trainer's is SGD"):
        sgd.load(tmp_path, tag="old")
    small_trainer().load(tmp_path, tag="old")  # the same optimizer still loads
