"""Checkpoints that survive crashes and never run foreign code.

A checkpoint is a plain dictionary: the weights (tensors) in `model.safetensors`, and
everything else (optimizer, schedule, RNG states, epoch, step, history, config) in
`state.pt`, read back with `torch.load(weights_only=True)`, which refuses pickled code.

Layout under a checkpoint folder `root`:

    root/last.json                -> {"folder": "last-00000120-3fa2c1", "epoch": 3, "step": 120}
    root/last-00000120-3fa2c1/    model.safetensors, state.pt
    root/best.json, root/best-.../

Each file is written to a temporary name, fsynced and renamed; the pointer file is
replaced last, so a kill at any moment leaves the previous checkpoint whole and loadable.
"""

import json
import pickle
import shutil
import uuid
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from dllab.atomic import write_atomic
from dllab.errors import CheckpointError

WEIGHTS_FILE = "model.safetensors"
STATE_FILE = "state.pt"
TORCH_FILE_STARTS = (b"PK\x03\x04", b"\x80")  # torch.save's zip archive, or a bare pickle


def save_checkpoint(root: Path, tag: str, weights: dict[str, torch.Tensor], state: dict) -> Path:
    """Write a checkpoint under `root` and point `root/<tag>.json` at it.

    Raises:
        CheckpointError: when the disk refuses the write; the previous checkpoint stays.
    """
    root = Path(root)
    folder = root / f"{tag}-{state.get('step', 0):08d}-{uuid.uuid4().hex[:6]}"
    pointer = {"folder": folder.name, "epoch": state.get("epoch"), "step": state.get("step")}
    try:
        folder.mkdir(parents=True)
        contiguous = {k: v.detach().contiguous().cpu() for k, v in weights.items()}
        write_atomic(folder / WEIGHTS_FILE, lambda p: save_file(contiguous, str(p)))
        write_atomic(folder / STATE_FILE, lambda p: torch.save(state, p))
        write_atomic(root / f"{tag}.json", lambda p: p.write_text(json.dumps(pointer)))
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise CheckpointError(
            f"could not write a checkpoint in {root}: {error.strerror or error}; "
            "the previous checkpoint is kept"
        ) from None
    _remove_stale(root, tag, keep=folder.name)
    return folder


def _remove_stale(root: Path, tag: str, keep: str) -> None:
    for old in root.glob(f"{tag}-*"):
        if old.is_dir() and old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def has_checkpoint(root: Path, tag: str = "last") -> bool:
    return (Path(root) / f"{tag}.json").is_file()


def load_checkpoint(root: Path, tag: str = "last") -> tuple[dict[str, torch.Tensor], dict]:
    """Read (weights, state) from the checkpoint `tag` under `root`, without running code.

    Raises:
        CheckpointError: missing, corrupt or unsafe files, named in one line.
    """
    root = Path(root)
    pointer_path = root / f"{tag}.json"
    if not pointer_path.is_file():
        raise CheckpointError(f"no checkpoint found in {root} (expected {pointer_path.name})")
    try:
        folder = root / json.loads(pointer_path.read_text())["folder"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        raise CheckpointError(f"corrupt checkpoint pointer {pointer_path}") from None
    try:
        weights = load_file(str(folder / WEIGHTS_FILE))
    except (OSError, SafetensorError) as error:
        raise CheckpointError(f"cannot read weights {folder / WEIGHTS_FILE}: {error}") from None
    state_path = folder / STATE_FILE
    if state_path.is_file() and not _starts_like_torch_file(state_path):
        raise CheckpointError(
            f"{state_path} is not a checkpoint file (torch.save writes a zip archive; this is "
            "some other file)"
        )
    try:
        state = torch.load(state_path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"refused to load {folder / STATE_FILE}: it holds objects other than tensors and "
            "plain values (a pickle that could run code)"
        ) from None
    except (OSError, RuntimeError, EOFError, IndexError, ValueError) as error:
        raise CheckpointError(f"cannot read {state_path}: {error}") from None
    return weights, state


def _starts_like_torch_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4).startswith(TORCH_FILE_STARTS)
    except OSError:
        return True  # unreadable: torch.load says why


def load_weights(model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Load `weights` into `model` after checking that every key and shape agrees.

    Raises:
        CheckpointError: naming the keys missing, unexpected, or of another shape.
    """
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    reshaped = [
        f"{k} {found[k]} vs model {expected[k]}"
        for k in sorted(set(expected) & set(found))
        if found[k] != expected[k]
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", reshaped)):
        if items:
            shown = ", ".join(items[:4]) + (f" (+{len(items) - 4} more)" if len(items) > 4 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise CheckpointError("checkpoint does not fit this model — " + "; ".join(problems))
    model.load_state_dict(weights)
