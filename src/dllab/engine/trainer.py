"""The Trainer: Keras' compile / fit / evaluate / predict / save / load over plain PyTorch.

    seed_everything(0)                   # the initial weights, as keras.utils.set_random_seed
    trainer = Trainer(model, optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    history = trainer.fit(X, y, val_data=(X_val, y_val), num_epochs=10, batch_size=32)
    trainer.evaluate((X_test, y_test))   # {"loss": ..., "accuracy": ...}

As in Keras, a second `fit` trains `num_epochs` more epochs; inputs are cast once to the model's
float type (float64 arrays to float32) and integer labels to int64; training uses one CPU thread
unless the program chose another count (`dllab.engine.speed.default_threads`).

One training step (`backward_step`) is: zero the gradients, backpropagate, stop on a
non-finite loss or gradient norm (the divergence guard), clip, and step the optimizer.

Under torchrun (see `dllab.engine.distributed`) the model is wrapped in DistributedDataParallel
for the forward and backward passes, each rank trains on its shard of every global batch, and
the logged numbers are averaged over the ranks, so rank 0's history is the one a single process
with the same global batch would log. `trainer.model` is always the plain module (weights,
checkpoints, evaluation); `trainer.forward_model` is what a training step calls (the DDP wrapper
and/or the `torch.compile`d module, or the module itself).
"""

import math
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from dllab.engine import distributed
from dllab.engine.batches import TensorBatches, make_batches
from dllab.engine.callbacks import Callback
from dllab.engine.checkpoint import load_checkpoint, load_weights, save_checkpoint
from dllab.engine.fusion import fuse_stages
from dllab.engine.live import LivePlot, make_live_plot
from dllab.engine.optim import ClipNorm, ClipValue, Schedule, make_optimizer, make_schedule
from dllab.engine.progress import ProgressBar, progress_bar
from dllab.engine.speed import Precision, default_threads, flush_denormals
from dllab.engine.tasks import Task, make_task
from dllab.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    DivergenceError,
    unknown_name_message,
)

CHECKPOINT_FORMAT = 1
STEP_ONLY = ("grad_norm", "clip_factor")  # per-step logs (also `_<optimizer>`) kept out of means


@dataclass
class History:
    """Per-epoch and per-step records; `history.history["loss"]` as in Keras."""

    epochs: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)

    @property
    def history(self) -> dict[str, list]:
        keys = dict.fromkeys(k for record in self.epochs for k in record)
        return {k: [record.get(k) for record in self.epochs] for k in keys}


class CtrlC:
    """Whether Ctrl-C was pressed; see `ctrl_c_at_step_boundaries`."""

    asked = False


@contextmanager
def ctrl_c_at_step_boundaries():
    """Defer the first Ctrl-C (SIGINT) to the next step boundary, where the loop checks
    `asked`, so that a checkpoint never holds half an epoch's bookkeeping; a second Ctrl-C
    interrupts at once. Outside the main thread signals cannot be caught: nothing changes."""
    state = CtrlC()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def ask(signum, frame):
        state.asked = True
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, ask)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def fits_model(batch: tuple[torch.Tensor, ...], first: bool = True):
    """On the first batch of a pass, torch's shape and dtype errors (data that does not fit the
    model or the loss) become one clear DataError naming the shapes; later errors pass as they are.
    """
    if not first:
        yield
        return
    try:
        yield
    except (RuntimeError, ValueError, IndexError) as error:
        shapes = ", ".join(f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}" for t in batch)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"the data ({shapes}) does not fit the model or loss: {reason}") from None


def has_image_convolutions(model: nn.Module) -> bool:
    """Whether `model` convolves 4-D (B, C, H, W) images, the layers channels_last speeds up."""
    return any(isinstance(m, nn.Conv2d | nn.ConvTranspose2d) for m in model.modules())


def overrides(callback: Callback, hook: str) -> bool:
    """Whether `callback` implements `hook` (the Trainer calls only hooks that do something)."""
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def resolve_device(spec: str | torch.device) -> torch.device:
    """'auto' picks CUDA when present, else the CPU; asking for absent CUDA is a ConfigError."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {spec!r} (use auto, cpu, cuda or cuda:N)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no CUDA GPU is available here")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"device {spec!r}: this machine has {torch.cuda.device_count()} GPUs")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' asked for, but no Apple GPU is available here")
    return device


class Trainer:
    """Trains one model (or a GAN's pair, through its task) with a small, readable loop.

    Args:
        model: any `nn.Module`.
        optimizer: a name (`sgd`, `momentum`, `nesterov`, `rmsprop`, `adam`, `adamw`) or an
            optimizer already built on the model's parameters.
        loss: a loss name (`cross_entropy`, `bce`, `mse`, `mae`, `huber`), a callable
            `(y_hat, y) -> loss`, or a `Task` (reconstruction, VAE, GAN...).
        metrics: metric names or callables logged beside the loss (default: accuracy for
            classification losses).
        lr, weight_decay: for optimizers given by name.
        schedule: None, a schedule name (`step`, `cosine`, `onecycle`, `warmup`) or a
            `Schedule`, given to every optimizer; or a dict from optimizer names to schedules
            (a GAN's "generator" and "discriminator"). Every schedule steps once per batch,
            whatever number of optimizer steps the task takes in it, as Lightning's
            `interval="step"` does.
        callbacks: see `dllab.engine.callbacks`.
        device: "auto", "cpu", "cuda" or "cuda:N".
        grad_clip: None, `ClipNorm(max_norm, norm_type)` or `ClipValue(v)`.
        seed: fixes the data order and, on a fresh fit, dropout and augmentation. The initial
            weights were drawn when the model was built: seed them there, with
            `seed_everything(seed)` before building it (Keras: `keras.utils.set_random_seed`).
            The Trainer never re-initialises a model, which may hold pretrained weights.
        quiet: no progress display (always quiet on ranks other than 0).
        name: the model's name in history records.
        config: plain values saved in every checkpoint (the run's experiment config).
        compile: train through `torch.compile(model)` (True: the default inductor backend,
            which needs a C++ compiler on the CPU; or a backend name such as "aot_eager");
            the first step's compilation time is reported as `compile_time` in the first
            epoch record, apart from `time`.
        channels_last: store 4-D weights and image batches channels-last (NHWC), which
            oneDNN's CPU convolutions prefer: CNN classifiers train 1.1-1.7x faster, small
            autoencoders and GAN generators about as fast (bench/bench_engine.py, "layout").
            None (the default) turns it on for models with 2-D convolutions on the CPU.
        amp: None, "bf16" or "fp16": automatic mixed precision (autocast) for the training
            step; fp16 on CUDA also scales the loss (GradScaler) to keep small gradients.
        fuse: train each (Conv2d ->) ReLU -> BatchNorm2d -> MaxPool2d run of an nn.Sequential
            through one native kernel (`dllab.engine.fusion`): "auto" where it can run (the CPU,
            float32, a C compiler), True (a ConfigError where it cannot) or False (layer by
            layer). The state_dict, and so every checkpoint, is the plain model's either way.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: str | torch.optim.Optimizer = "adam",
        loss="cross_entropy",
        metrics=None,
        *,
        lr: float | None = None,
        weight_decay: float = 0.0,
        schedule: str | Schedule | dict[str, str | Schedule] | None = None,
        callbacks: list[Callback] = (),
        device: str | torch.device = "auto",
        grad_clip: ClipNorm | ClipValue | None = None,
        seed: int = 0,
        quiet: bool = False,
        name: str = "model",
        config: dict | None = None,
        compile: bool | str = False,
        channels_last: bool | None = None,
        amp: str | None = None,
        fuse: bool | str = "auto",
    ):
        self.device = resolve_device(device)
        if channels_last is None:
            channels_last = self.device.type == "cpu" and has_image_convolutions(model)
        self.channels_last = channels_last
        memory_format = torch.channels_last if channels_last else torch.preserve_format
        self.model = model.to(self.device, memory_format=memory_format)
        floats = (p.dtype for p in self.model.parameters() if p.is_floating_point())
        self.float_dtype = next(floats, torch.get_default_dtype())  # inputs are cast to it
        self.model = fuse_stages(self.model, fuse, self.device, self.float_dtype)
        self.task: Task = make_task(loss, metrics)
        self.optimizers = self.task.make_optimizers(
            self.model, lambda params: make_optimizer(optimizer, params, lr, weight_decay)
        )
        self.precision = Precision(amp, self.device)
        self.forward_model = self._wrap(self.model)
        self.compile = bool(compile)
        if compile:
            backend = "inductor" if compile is True else compile
            self.forward_model = torch.compile(self.forward_model, backend=backend)
        self.schedule = schedule
        self.schedulers: dict[str, LRScheduler] = {}
        self.grad_clip = grad_clip
        self.seed = seed
        self.name = name
        self.config = config or {}
        progress = [] if quiet or not distributed.is_main() else [progress_bar(name)]
        self.callbacks = sorted([*callbacks, *progress], key=lambda c: c.order)
        self.history = History()
        self.epoch = 0  # epochs completed
        self.step = 0  # optimizer steps taken
        self.num_epochs = 0
        self.steps_per_epoch = 0
        self.last_batch_size = 0
        self.stop_training = False
        self.checkpoint_folder: Path | None = None
        self.data_generator = torch.Generator().manual_seed(seed)
        self._batch_in_epoch = 0
        self._epoch_start_state: torch.Tensor | None = None
        self._epoch_sums: dict[str, float] = {}
        self._train_time = 0.0
        self._epoch_started = 0.0
        self._compile_time: float | None = None
        self._step_logs: dict[str, torch.Tensor] = {}
        self._unread: list[tuple] = []  # (epoch, step, n, rank weight, logged tensors) per step
        self._loss_scale = 1.0

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The main optimizer; a GAN's has none named "main", so its first one."""
        return self.optimizers.get("main") or next(iter(self.optimizers.values()))

    @property
    def scheduler(self) -> LRScheduler | None:
        """The main optimizer's schedule, or None."""
        return self.schedulers.get("main", next(iter(self.schedulers.values()), None))

    @property
    def layout(self) -> torch.memory_format | None:
        """The memory format image batches are stored in: channels_last, or None (as given)."""
        return torch.channels_last if self.channels_last else None

    def weights(self) -> dict[str, torch.Tensor]:
        """The plain module's weights (never DDP's `module.` names): they load anywhere."""
        return self.model.state_dict()

    def _wrap(self, model: nn.Module) -> nn.Module:
        """DistributedDataParallel around `model` under torchrun, else `model` itself."""
        if not distributed.is_distributed():
            return model
        own_step = type(self.task).training_step is not Task.training_step
        if own_step and not self.task.drives_forward_model:
            raise ConfigError(
                f"{type(self.task).__name__} drives its networks itself and trains in one "
                "process only; run it without torchrun"
            )
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    # ---- training -------------------------------------------------------------------------

    def fit(
        self,
        train_data,
        y=None,
        *,
        val_data=None,
        num_epochs: int = 1,
        batch_size: int | None = 32,
        resume: str | Path | None = None,
        shuffle: bool = True,
        validation_data=None,
        live_plot: bool = False,
    ) -> History:
        """Train `num_epochs` more epochs, as Keras' `fit` does (a second call continues).

        Args:
            train_data: (X, y) tensors or arrays, a TensorDataset, a DataLoader, or X alone.
            y: the targets, when X is given alone as in Keras' `fit(X, y)`.
            val_data: the same kinds as train_data; evaluated after every epoch as
                `val_<metric>`. `validation_data` is Keras' name for it.
            batch_size: None for full-batch gradient descent, 1 for per-sample SGD.
            resume: a checkpoint folder written by `save` / `ModelCheckpoint`: training
                continues exactly where it stopped (weights, optimizer, schedule, RNG, data order)
                up to `num_epochs` in all, the epochs already done included (Keras' `epochs`
                with `initial_epoch`), so that a resumed run ends where the original would.
            live_plot: in Jupyter, redraw the loss and metric curves in place after every
                epoch (`dllab.engine.live`); elsewhere a one-line note, and nothing else.
        """
        if num_epochs < 0:
            raise ConfigError(f"num_epochs must be >= 0, got {num_epochs}")
        train_data = _training_data(train_data, y)
        val_data = _validation_data(val_data, validation_data)
        default_threads()
        shard = (distributed.rank(), distributed.world_size())
        batches = make_batches(
            train_data, batch_size, shuffle, self.data_generator, self.device, shard, self.layout,
            self.float_dtype,
        )  # fmt: skip
        self.val_data = val_data
        # Resuming, the schedule spans the whole run (`load` restores its place in it); else the
        # epochs of this call.
        start = 0 if resume is not None else self.epoch
        end = num_epochs if resume is not None else self.epoch + num_epochs
        self.num_epochs, self.steps_per_epoch = end, len(batches)
        total_steps = (end - start) * len(batches)
        self.schedulers = {
            key: make_schedule(spec, self.optimizers[key], total_steps, len(batches))
            for key, spec in self._schedule_specs().items()
        }
        if resume is not None:
            self.load(resume, restore_rng=True)
        elif self.step == 0:
            torch.manual_seed(self.seed)
            self.task.seed(self.seed)
        self.stop_training = False
        self._input_checked = False
        self._step_logs = {}
        plot = make_live_plot() if live_plot else None  # for this fit only
        if plot is not None:
            self.callbacks = sorted([*self.callbacks, plot], key=lambda c: c.order)
        self._step_hooks = [c.on_step_end for c in self.callbacks if overrides(c, "on_step_end")]
        # Steps are read at the end of each epoch, unless a hook wants every step's record now;
        # under torchrun each step, so that every rank joins the same all-reduces.
        self._read_every_step = bool(self._step_hooks) or distributed.is_distributed()
        self._call("on_fit_start")
        try:
            with (
                ctrl_c_at_step_boundaries() as self._ctrl_c,
                flush_denormals(),
                warnings.catch_warnings(),
            ):
                # Schedules step once per batch by design, also before a GAN's generator (one
                # step in n_critic) or an fp16 step skipped by the scaler has stepped.
                warnings.filterwarnings(
                    "ignore", "Detected call of `lr_scheduler.step", UserWarning
                )
                while self.epoch < end and not self.stop_training:
                    self._train_epoch(batches)
                    self._stop_if_asked()
        except KeyboardInterrupt:
            if self.checkpoint_folder is not None:
                self.save(self.checkpoint_folder, tag="last")
            raise
        finally:
            self._read_steps()
            self._call("on_fit_end")
            if plot is not None:
                self.callbacks.remove(plot)
        return self.history

    def _schedule_specs(self) -> dict[str, str | Schedule]:
        """Optimizer name -> its schedule, from `schedule` (one spec for all, or a dict)."""
        if self.schedule is None:
            return {}
        if not isinstance(self.schedule, dict):
            return dict.fromkeys(self.optimizers, self.schedule)
        unknown = sorted(set(self.schedule) - set(self.optimizers))
        if unknown:
            raise ConfigError(unknown_name_message("optimizer", unknown[0], list(self.optimizers)))
        return self.schedule

    def _stop_if_asked(self) -> None:
        """Ctrl-C takes effect here, between two steps, where the state is whole."""
        if self._ctrl_c.asked:
            raise KeyboardInterrupt

    def _call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            if overrides(callback, hook):
                getattr(callback, hook)(self, *args)

    def _train_epoch(self, batches) -> None:
        self.model.train()
        if self._batch_in_epoch == 0:
            self._epoch_start_state = self.data_generator.get_state()
            self._epoch_sums = {}
        else:  # resuming mid-epoch: replay this epoch's permutation, skip the batches done
            self.data_generator.set_state(self._epoch_start_state)
        self._epoch_started = time.perf_counter()
        world = distributed.world_size()
        for batch in batches.epoch(skip=self._batch_in_epoch):
            n = len(batch[0])
            if world > 1:  # DDP averages gradients over ranks; weigh shards by their size
                total = self._global_batch_size(batches, n, world)
                self._loss_scale = n * world / total
                n = total
            logs = self._step(batch) if self._input_checked else self._first_step(batch)
            for scheduler in self.schedulers.values():
                scheduler.step()
            self.step += 1
            self._batch_in_epoch += 1
            self.last_batch_size = n
            self._unread.append((self.epoch + 1, self.step, n, n * self._loss_scale / world, logs))
            if self._read_every_step:
                self._read_steps()
                for hook in self._step_hooks:
                    hook(self, self.history.steps[-1])
            self._stop_if_asked()
        self._train_time += time.perf_counter() - self._epoch_started
        self.epoch += 1
        self._batch_in_epoch = 0
        self._read_steps()
        record = self._record_epoch()
        self._call("on_epoch_end", record)

    def _step(self, batch) -> dict[str, torch.Tensor]:
        """The task's training step; returns the logged tensors (loss, metrics, clipping),
        detached so that no step's graph outlives it while its record waits to be read."""
        with self.precision.autocast():
            logs = self.task.training_step(self, batch)
        if self._step_logs:  # clipping's gradient norms
            logs, self._step_logs = {**logs, **self._step_logs}, {}
        return {k: v.detach() for k, v in logs.items()}

    def _first_step(self, batch) -> dict[str, torch.Tensor]:
        """The first step of a fit: shape errors become a DataError, and when compiling, the
        step's compilation time is kept apart from the training time."""
        started = time.perf_counter()
        with fits_model(batch):
            logs = self._step(batch)
        self._input_checked = True
        if self.compile and self._compile_time is None:
            self._compile_time = time.perf_counter() - started
            self._epoch_started += self._compile_time
        return logs

    def _global_batch_size(self, batches, n: int, world: int) -> int:
        """The size of the global batch this rank's `n` samples belong to."""
        if isinstance(batches, TensorBatches):
            start = self._batch_in_epoch * batches.batch_size
            return min(batches.batch_size, batches.num_samples - start)
        return n * world

    def _read_steps(self) -> None:
        """The unread steps' logged tensors -> history records and epoch sums, in one read (one
        GPU sync; under torchrun one all-reduce of the shards' means, weighted by shard size)."""
        if not self._unread:
            return
        unread, self._unread = self._unread, []
        values = torch.stack([v for *_, logs in unread for v in logs.values()])  # promoted
        if distributed.is_distributed():
            weights = [w for *_, w, logs in unread for _ in logs]
            values = distributed.weighted_mean(values, values.new_tensor(weights))
        values = iter(values.tolist())
        sums, steps = self._epoch_sums, self.history.steps
        for epoch, step, n, _, logs in unread:
            record = {"epoch": epoch, "step": step}
            for key in logs:
                record[key] = value = next(values)
                if not key.startswith(STEP_ONLY):
                    sums[key] = sums.get(key, 0.0) + value * n
            sums["_count"] = sums.get("_count", 0) + n
            steps.append(record)

    def _record_epoch(self) -> dict:
        count = self._epoch_sums.pop("_count")
        means = {k: v / count for k, v in self._epoch_sums.items()}
        record = {
            "epoch": self.epoch,
            "step": self.step,
            "time": round(self._train_time, 4),
            "lr": self.optimizer.param_groups[0]["lr"],
            **{
                f"lr_{k}": o.param_groups[0]["lr"]
                for k, o in self.optimizers.items()
                if k != "main"
            },
            **means,
        }
        if self._compile_time is not None and self.epoch == 1:
            record["compile_time"] = round(self._compile_time, 4)
        if self.val_data is not None:
            val = self.evaluate(self.val_data)
            record.update({f"val_{k}": v for k, v in val.items()})
        self.history.epochs.append(record)
        return record

    def backward_step(self, loss: torch.Tensor, optimizer: str = "main") -> None:
        """Zero, backpropagate, guard against divergence, clip, and step one optimizer."""
        opt = self.optimizers[optimizer]
        opt.zero_grad(set_to_none=True)
        self.precision.backward(loss * self._loss_scale if self._loss_scale != 1.0 else loss)
        value = loss.item()  # one read, cheaper than torch.isfinite's kernels on small models
        if not math.isfinite(value):
            raise self._divergence("loss", value)
        self.precision.unscale(opt)
        if self.grad_clip is not None:
            params = [p for group in opt.param_groups for p in group["params"]]
            norm, factor = self.grad_clip(params)
            if not torch.isfinite(norm) and self.precision.scaler is None:  # fp16: step skipped
                raise self._divergence("gradient norm", norm.item())
            suffix = "" if optimizer == "main" else f"_{optimizer}"
            self._step_logs[f"grad_norm{suffix}"] = norm
            self._step_logs[f"clip_factor{suffix}"] = factor
        self.precision.step(opt)

    def _divergence(self, what: str, value: float) -> DivergenceError:
        lr = self.optimizer.param_groups[0]["lr"]
        where = f"step {self.step + 1} (epoch {self.epoch + 1})"
        advice = f"lower the learning rate (lr={lr:g}) or enable gradient clipping"
        kept = ""
        if self.checkpoint_folder is not None and (self.checkpoint_folder / "last.json").exists():
            kept = f"; the last good checkpoint is in {self.checkpoint_folder}"
        return DivergenceError(
            f"training diverged at {where}: the {what} is {value} (exploding gradients?); "
            f"{advice}{kept}"
        )

    # ---- inference ------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, data, batch_size: int | None = None) -> dict[str, float]:
        """Loss and metrics averaged over every sample of `data`."""
        self.model.eval()
        batches = make_batches(
            data, batch_size or 1024, False, None, self.device, layout=self.layout,
            float_dtype=self.float_dtype,
        )  # fmt: skip
        sums: dict[str, float] = {}
        count = 0
        for batch in batches.epoch():
            with fits_model(batch, first=count == 0):
                loss, logs = self.task.compute(self.model, batch)
            n = len(batch[0])
            count += n
            for key, value in {"loss": loss, **logs}.items():
                sums[key] = sums.get(key, 0.0) + float(value) * n
        return {k: v / count for k, v in sums.items()}

    @torch.no_grad()
    def predict(self, X, batch_size: int = 1024) -> torch.Tensor:
        """The model's outputs for a batch of inputs X, in order, on the CPU.

        Raises:
            DataError: for inputs that do not fit the model; for one sample given without its
                batch axis, the error says to add it (`X[None]`).
        """
        self.model.eval()
        batches = make_batches(
            X, batch_size, False, None, self.device, layout=self.layout,
            float_dtype=self.float_dtype,
        )  # fmt: skip
        outputs = []
        for batch in batches.epoch():
            if outputs:
                outputs.append(self.model(batch[0]).cpu())
                continue
            try:
                with fits_model(batch):
                    y_hat = self.model(batch[0])
                if y_hat.dim() == 0 or len(y_hat) != len(batch[0]):
                    raise DataError(
                        f"the model gave {tuple(y_hat.shape)} for inputs {tuple(batch[0].shape)}: "
                        "not one output per sample"
                    )
            except DataError as error:
                whole = batches.tensors[0] if isinstance(batches, TensorBatches) else batch[0]
                raise self._batch_axis_missing(whole) or error from None
            outputs.append(y_hat.cpu())
        return torch.cat(outputs)

    def _batch_axis_missing(self, X: torch.Tensor) -> DataError | None:
        """The error for inputs X that are one sample without its batch axis: the model takes
        X[None]. None when it does not (the inputs are wrong in another way)."""
        try:
            self.model(X[None])
        except Exception:  # any failure: X[None] is not the answer either
            return None
        return DataError(
            f"predict takes a batch of inputs, and X {tuple(X.shape)} is one sample: add a "
            "batch axis: `X[None]`"
        )

    # ---- checkpoints ----------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything but the weights, as tensors and plain values."""
        self._read_steps()
        rng = {"torch": torch.get_rng_state(), "data": self.data_generator.get_state()}
        if self._epoch_start_state is not None:
            rng["epoch_start"] = self._epoch_start_state
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "format": CHECKPOINT_FORMAT,
            "name": self.name,
            "config": self.config,
            "epoch": self.epoch,
            "step": self.step,
            "batch_in_epoch": self._batch_in_epoch,
            "epoch_sums": dict(self._epoch_sums),
            "train_time": self._train_time,
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "optimizer_classes": {k: type(o).__name__ for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "callbacks": {self._callback_key(i, c): c.state_dict() for i, c in self._stateful()},
            "rng": rng,
            "task": self.task.state_dict(),
            "history": {"epochs": self.history.epochs, "steps": self.history.steps},
        }

    def _stateful(self):
        """Numbered without the displays (progress bar, live plot), which only some fits (and
        ranks) have."""
        displays = (ProgressBar, LivePlot)
        return list(enumerate(c for c in self.callbacks if not isinstance(c, displays)))

    @staticmethod
    def _callback_key(index: int, callback: Callback) -> str:
        return f"{index}:{type(callback).__name__}"

    def save(self, folder: str | Path, tag: str = "last") -> Path:
        """Write weights (safetensors) and training state atomically under `folder`; under
        torchrun only rank 0 writes (every rank holds the same state)."""
        if not distributed.is_main():
            return Path(folder)
        return save_checkpoint(Path(folder), tag, self.weights(), self.state_dict())

    def _check_optimizers(self, folder: str | Path, state: dict) -> None:
        """Refuse a checkpoint of other optimizers before anything is loaded: torch would take
        Adam's state into SGD and fail at the next step (KeyError: 'momentum')."""
        classes = state.get("optimizer_classes", {})  # absent in checkpoints before 2026-12
        for key, opt in self.optimizers.items():
            saved = state.get("optimizers", {}).get(key)
            ours = type(opt).__name__
            theirs = classes.get(key)
            if theirs is None and saved is not None:  # the settings each optimizer keeps
                groups = saved.get("param_groups") or [{}]
                same = set(groups[0]) == set(opt.state_dict()["param_groups"][0])
                theirs = ours if same else "another optimizer"
            if saved is None or theirs != ours:
                what = "" if key == "main" else f" {key!r}"
                raise CheckpointError(
                    f"{folder}: the checkpoint's optimizer{what} is {theirs or 'missing'}, this "
                    f"Trainer's is {ours}; build the Trainer with the same optimizer to load it"
                )

    def load(self, folder: str | Path, tag: str = "last", restore_rng: bool = False) -> None:
        """Restore weights, optimizer, callbacks, history and counters from `folder`.

        Raises:
            CheckpointError: for a missing, corrupt or unsafe checkpoint, or one of another model.
        """
        weights, state = load_checkpoint(Path(folder), tag)
        if state.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"{folder}: not a dllab checkpoint (format {state.get('format')})"
            )
        self._check_optimizers(folder, state)
        load_weights(self.model, weights)
        try:
            for key, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][key])
            for key, scheduler in self.schedulers.items():
                scheduler.load_state_dict(state["schedulers"][key])
        except (KeyError, ValueError) as error:
            raise CheckpointError(f"{folder}: optimizer state does not fit: {error}") from None
        for i, callback in self._stateful():
            saved = state["callbacks"].get(self._callback_key(i, callback))
            if saved is not None:
                callback.load_state_dict(saved)
        self.epoch, self.step = state["epoch"], state["step"]
        self._batch_in_epoch = state["batch_in_epoch"]
        self._epoch_sums = dict(state["epoch_sums"])
        self._train_time = state["train_time"]
        self.history = History(list(state["history"]["epochs"]), list(state["history"]["steps"]))
        if restore_rng:
            rng = state["rng"]
            torch.set_rng_state(rng["torch"])
            self.data_generator.set_state(rng["data"])
            self._epoch_start_state = rng.get("epoch_start")
            self.task.load_state_dict(state.get("task", {}))
            if "cuda" in rng and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(rng["cuda"])


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (initialisation of models built after this call)."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _training_data(train_data, y):
    """Keras' `fit(X, y)` as dllab's `fit((X, y))`."""
    if y is None:
        return train_data
    if not _is_array(y):
        raise ConfigError(
            "fit's second argument is the targets y, as in Keras' fit(X, y); pass validation "
            "data as val_data=(X, y)"
        )
    if not _is_array(train_data):
        raise ConfigError("pass the training data as fit(X, y) or fit((X, y)), not both")
    return (train_data, y)


def _validation_data(val_data, validation_data):
    if val_data is not None and validation_data is not None:
        raise ConfigError("give val_data or validation_data (Keras' name for it), not both")
    return val_data if val_data is not None else validation_data


def _is_array(value) -> bool:
    return isinstance(value, torch.Tensor | np.ndarray)
