"""The lean training loop and the engine's speed defaults: step records read once per epoch,
hooks called only where implemented, channels_last for CNNs, fused optimizers, and the GPU
decisions (pinned non-blocking copies, loss scaling) as pure functions; denormals flushed."""

import inspect
import io
import json
import signal

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dllab.cli import build_parser, speed_options
from dllab.engine import (
    Callback,
    HistoryLogger,
    ModelCheckpoint,
    Trainer,
    make_optimizer,
    seed_everything,
)
from dllab.engine import batches as batches_module
from dllab.engine.batches import LoaderBatches, host_to_device, make_batches, take_rows
from dllab.engine.callbacks import overrides
from dllab.engine.prepare import has_image_convolutions
from dllab.engine.progress import LiveProgressBar, ProgressBar, progress_bar
from dllab.engine.speed import Precision, denormals_flushed, flush_denormals, uses_grad_scaler
from dllab.experiments.runner import Run
from dllab.models import create_model
from helpers import same_weights


def blobs(n: int = 96):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 6, generator=g)
    return X, (X[:, 0] + X[:, 1] > 0).long()


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))


class Records(Callback):
    """Keeps every step record it is handed (a step hook: the loop reads every step)."""

    def __init__(self):
        self.records = []

    def on_step_end(self, trainer, record):
        self.records.append(dict(record))


class EpochsOnly(Callback):
    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, trainer, record):
        self.epochs += 1


def test_steps_read_once_per_epoch_equal_steps_read_as_they_come():
    lean = Trainer(mlp(), lr=1e-2, quiet=True, callbacks=[EpochsOnly()])
    spy = Records()
    eager = Trainer(mlp(), lr=1e-2, quiet=True, callbacks=[spy])
    for t in (lean, eager):
        t.fit(blobs(), num_epochs=3, batch_size=32)
    assert not lean.log.read_every_step and eager.log.read_every_step
    assert lean.history.steps == eager.history.steps == spy.records
    assert [r["step"] for r in lean.history.steps] == list(range(1, 10))
    assert lean.history.history["loss"] == eager.history.history["loss"]
    assert lean.callbacks[0].epochs == 3


def test_hooks_are_called_only_where_implemented():
    assert overrides(Records(), "on_step_end") and not overrides(Records(), "on_epoch_end")
    assert overrides(EpochsOnly(), "on_epoch_end") and not overrides(EpochsOnly(), "on_step_end")
    assert overrides(HistoryLogger("h.jsonl"), "on_epoch_end")
    assert not overrides(HistoryLogger("h.jsonl"), "on_step_end")  # writes steps per epoch


class CtrlCAtStep:
    """A loss that presses Ctrl-C (a real SIGINT) during the given step, as a user would."""

    def __init__(self, step: int):
        self.step, self.calls = step, 0
        self.__name__ = "cross_entropy"

    def __call__(self, y_hat, y):
        self.calls += 1
        if self.calls == self.step:
            signal.raise_signal(signal.SIGINT)
        return nn.functional.cross_entropy(y_hat, y)


def test_ctrl_c_mid_epoch_in_the_lean_loop_resumes_exactly(tmp_path):
    """No step hook: the records of the interrupted epoch are read before the checkpoint."""

    def run(folder, loss="cross_entropy", resume=None):
        logger = HistoryLogger(folder / "history.jsonl")
        checkpoint = ModelCheckpoint(folder / "ckpt", min_interval_s=0)
        t = Trainer(
            mlp(),
            "adam",
            loss,
            ["accuracy"],
            lr=1e-2,
            quiet=True,
            seed=2,
            callbacks=[logger, checkpoint],
        )
        t.fit(blobs(), num_epochs=3, batch_size=16, resume=resume)
        return t

    reference = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", loss=CtrlCAtStep(9))  # epoch 2, step 3 of 6
    resumed = run(tmp_path / "b", resume=tmp_path / "b" / "ckpt")
    assert resumed.history.steps == reference.history.steps
    assert same_weights(resumed, reference)

    def lines(folder):
        records = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "time"} for r in records]

    assert lines(tmp_path / "b") == lines(tmp_path / "a")


def test_plain_output_needs_no_step_records_and_a_terminal_gets_the_live_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    plain = progress_bar("m", io.StringIO())
    assert type(plain) is ProgressBar and not overrides(plain, "on_step_end")
    assert isinstance(progress_bar("m", Terminal()), LiveProgressBar)
    stream = io.StringIO()
    t = Trainer(mlp(), lr=1e-2, quiet=True, callbacks=[ProgressBar("m", stream)])
    t.fit(blobs(), num_epochs=2, batch_size=32)
    assert stream.getvalue().splitlines()[-1].startswith("m epoch 2/2  lr 0.01  loss")


def images(n: int = 16):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_channels_last_is_the_default_for_cnns_on_the_cpu_only():
    cnn = create_model("keras_cifar_cnn")
    assert has_image_convolutions(cnn) and not has_image_convolutions(mlp())
    auto = Trainer(cnn, device="cpu", quiet=True)
    assert auto.channels_last and auto.layout == torch.channels_last
    conv = next(m for m in auto.model.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not Trainer(mlp(), device="cpu", quiet=True).channels_last
    off = Trainer(create_model("keras_cifar_cnn"), device="cpu", quiet=True, channels_last=False)
    assert not off.channels_last and off.layout is None


def test_image_batches_are_stored_channels_last_once():
    X, y = images()
    batches = make_batches((X, y), 4, True, torch.Generator(), torch.device("cpu"), (0, 1),
                           torch.channels_last)  # fmt: skip
    for X_b, y_b in batches.epoch():
        assert X_b.is_contiguous(memory_format=torch.channels_last) and y_b.shape == (4,)
    loader = LoaderBatches(DataLoader(TensorDataset(X, y), batch_size=4), torch.device("cpu"),
                           torch.channels_last)  # fmt: skip
    assert all(X_b.is_contiguous(memory_format=torch.channels_last) for X_b, _ in loader.epoch())


@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
def test_gathered_samples_keep_their_values_and_layout(layout):
    X = torch.randn(10, 3, 4, 5).contiguous(memory_format=layout)
    index = torch.tensor([7, 0, 7, 3])
    rows = take_rows(X, index)
    assert torch.equal(rows, X[index]) and rows.is_contiguous(memory_format=layout)
    assert torch.equal(take_rows(torch.arange(10), index), index)


@pytest.mark.slow
def test_channels_last_default_trains_like_nchw_and_predicts_the_same():
    X, y = images(24)
    runs = {}
    for channels_last in (False, None):
        seed_everything(0)
        t = Trainer(create_model("keras_cifar_cnn"), "sgd", lr=0.05, device="cpu", quiet=True,
                    channels_last=channels_last)  # fmt: skip
        t.fit((X, y), num_epochs=1, batch_size=8)
        runs[channels_last] = t
    nchw, auto = runs[False], runs[None]
    torch.testing.assert_close(
        torch.tensor(auto.history.history["loss"]), torch.tensor(nchw.history.history["loss"]),
        rtol=1e-4, atol=1e-5,
    )  # fmt: skip
    torch.testing.assert_close(auto.predict(X), nchw.predict(X), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "source, target, expected",
    [
        ("cpu", "cuda", (True, True)),
        ("cpu", "cuda:1", (True, True)),
        ("cpu", "cpu", (False, False)),
        ("cuda:0", "cuda:0", (False, False)),
        ("cuda", "cpu", (False, False)),
    ],
)
def test_batches_are_pinned_and_copied_without_blocking_only_from_cpu_to_gpu(
    source, target, expected
):
    assert host_to_device(source, target) == expected


def test_a_loader_for_the_cpu_is_left_unpinned():
    loader = DataLoader(TensorDataset(*blobs()), batch_size=8)
    batches = LoaderBatches(loader, torch.device("cpu"))
    assert not loader.pin_memory and not batches.non_blocking


@pytest.mark.parametrize(
    "amp, device_type, expected",
    [
        ("fp16", "cuda", True),
        ("bf16", "cuda", False),
        ("bf16", "cpu", False),
        (None, "cuda", False),
    ],
)
def test_grad_scaler_only_for_fp16_on_cuda(amp, device_type, expected):
    assert uses_grad_scaler(amp, device_type) is expected


def test_bf16_on_the_cpu_has_no_scaler():
    assert Precision("bf16", torch.device("cpu")).scaler is None
    assert Precision(None, torch.device("cpu")).scaler is None


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_named_optimizers_are_fused_and_update_like_the_loop_versions(name):
    fused_model, loop_model = mlp(), mlp()
    fused = make_optimizer(name, fused_model.parameters(), 0.01, 1e-4)
    assert fused.defaults["fused"] is True
    accepted = inspect.signature(type(fused)).parameters
    settings = {k: v for k, v in fused.defaults.items() if k in accepted}
    loop = type(fused)(loop_model.parameters(), **{**settings, "fused": None, "foreach": False})
    X, y = blobs()
    for model, opt in ((fused_model, fused), (loop_model, loop)):
        for _ in range(5):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X), y).backward()
            opt.step()
    for a, b in zip(fused_model.parameters(), loop_model.parameters()):
        torch.testing.assert_close(a, b)


def test_optimizers_without_fused_kernels_are_built_plainly():
    assert not make_optimizer("rmsprop", mlp().parameters(), 1e-3, 0.0).defaults.get("fused")
    meta = nn.Linear(2, 2, device="meta")
    assert not make_optimizer("adam", meta.parameters(), 1e-3, 0.0).defaults.get("fused")


@pytest.mark.parametrize(
    "argv, expected",
    [
        ([], {}),
        (["--channels-last"], {"channels_last": True}),
        (["--no-channels-last"], {"channels_last": False}),
        (["--compile", "--amp", "bf16"], {"compile": True, "amp": "bf16"}),
    ],
)
def test_cli_speed_options(argv, expected):
    args = build_parser().parse_args(["run", "backprop", *argv])
    assert speed_options(args) == expected


@pytest.mark.parametrize("whole_gather_bytes", [batches_module.WHOLE_GATHER_BYTES, 0])
def test_an_autoencoders_inputs_and_targets_are_shuffled_by_one_gather(
    monkeypatch, whole_gather_bytes
):
    monkeypatch.setattr(batches_module, "WHOLE_GATHER_BYTES", whole_gather_bytes)
    X = torch.randn(12, 5)
    batches = make_batches((X, X), 4, True, torch.Generator().manual_seed(0), torch.device("cpu"))
    for X_b, target in batches.epoch():
        assert X_b.data_ptr() == target.data_ptr()


def test_large_datasets_gather_each_batch_in_the_order_of_one_gather_per_epoch(monkeypatch):
    X, y = images(10)
    X = X.contiguous(memory_format=torch.channels_last)

    def epochs(whole_gather_bytes: int) -> list:
        monkeypatch.setattr(batches_module, "WHOLE_GATHER_BYTES", whole_gather_bytes)
        batches = make_batches((X, y), 4, True, torch.Generator().manual_seed(0),
                               torch.device("cpu"), (0, 1), torch.channels_last)  # fmt: skip
        return [b for _ in range(2) for b in batches.epoch(skip=1)]

    whole, per_batch = epochs(1 << 30), epochs(0)
    assert len(whole) == len(per_batch) == 4  # 3 batches an epoch, the first skipped
    for (X_w, y_w), (X_b, y_b) in zip(whole, per_batch):
        assert torch.equal(X_w, X_b) and torch.equal(y_w, y_b)
        assert X_b.is_contiguous(memory_format=torch.channels_last)


def test_experiments_train_cnns_channels_last_unless_the_cli_says_no(tmp_path):
    def trainer(speed):
        run = Run(tmp_path, torch.device("cpu"), seed=0, quiet=True, speed=speed)
        return run.trainer("cnn", create_model("keras_cifar_cnn"), checkpoint=False)

    assert trainer({}).channels_last
    args = build_parser().parse_args(["run", "cifar10-cnn", "--no-channels-last"])
    assert not trainer(speed_options(args)).channels_last


def test_flush_denormals_zeroes_subnormal_floats_inside_the_block_only():
    tiny = torch.tensor([1e-40])  # subnormal in float32 (smallest normal: 1.2e-38)
    with flush_denormals() as supported:
        inside = tiny * 1.0
        with flush_denormals():  # nested blocks restore what was there before them
            pass
        still = tiny * 1.0
    assert inside.item() == still.item() == (0.0 if supported else tiny.item())
    assert (tiny * 1.0).item() == tiny.item() > 0
    assert not denormals_flushed()


def test_training_runs_with_denormals_flushed_and_restores_the_setting():
    seen = []

    class Probe(Callback):
        def on_epoch_end(self, trainer, record):
            seen.append(denormals_flushed())

    X, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    Trainer(nn.Linear(4, 2), quiet=True, callbacks=[Probe()]).fit((X, y), num_epochs=2)
    with flush_denormals() as supported:
        pass
    assert seen == [supported] * 2
    assert not denormals_flushed()
