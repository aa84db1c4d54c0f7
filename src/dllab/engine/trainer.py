"""The Trainer: Keras' compile / fit / evaluate / predict / save / load over plain PyTorch.

    seed_everything(0)                   # the initial weights, as keras.utils.set_random_seed
    trainer = Trainer(model, optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    history = trainer.fit(X, y, val_data=(X_val, y_val), num_epochs=10, batch_size=32)
    trainer.evaluate((X_test, y_test))   # {"loss": ..., "accuracy": ...}

As in Keras, a second `fit` trains `num_epochs` more; inputs are cast to the model's float type,
integer labels to int64; one CPU thread unless chosen (`dllab.engine.speed.default_threads`).

Each epoch is `dllab.engine.loop.train_epoch`, the loop one writes by hand; the Trainer prepares
the model (`prepare.py`), builds the objects that loop is handed, calls the callbacks between
epochs, and saves and restores its state (`resume.py`).
"""

import time
from pathlib import Path

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from dllab.engine import distributed, inference, loop, optim
from dllab.engine.batches import keras_training_data, keras_validation_data, make_batches
from dllab.engine.callbacks import Callback, overrides
from dllab.engine.checkpoint import save_checkpoint
from dllab.engine.checks import FirstStep
from dllab.engine.distributed import Shards
from dllab.engine.fusion import fuse_stages
from dllab.engine.guard import DivergenceGuard
from dllab.engine.history import History, StepLog
from dllab.engine.interrupt import CtrlC, ctrl_c_at_step_boundaries
from dllab.engine.live import make_live_plot
from dllab.engine.optim import ClipNorm, ClipValue, Schedule
from dllab.engine.prepare import forward_model, place, resolve_device, uses_channels_last
from dllab.engine.progress import progress_bar
from dllab.engine.resume import DataOrder, restore, training_state
from dllab.engine.speed import Precision, default_threads, flush_denormals
from dllab.engine.tasks import Task, make_task
from dllab.errors import ConfigError


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
            `Schedule` for every optimizer; or a dict from optimizer names (a GAN's "generator",
            "discriminator") to schedules. Each steps once per batch (Lightning's "step").
        callbacks: see `dllab.engine.callbacks`.
        device: "auto", "cpu", "cuda" or "cuda:N".
        grad_clip: None, `ClipNorm(max_norm, norm_type)` or `ClipValue(v)`.
        seed: fixes the data order and, on a fresh fit, dropout and augmentation; never the
            initial weights (the model may be pretrained): `seed_everything(seed)` before
            building the model, as Keras' `keras.utils.set_random_seed`.
        quiet: no progress display (always quiet on ranks other than 0).
        name: the model's name in history records.
        config: plain values saved in every checkpoint (the run's experiment config).
        compile: train through `torch.compile(model)` (True: inductor, which needs a C++
            compiler on the CPU, or a backend name); compiling is the first epoch's `compile_time`.
        channels_last: 4-D weights and image batches channels-last (NHWC), as oneDNN's CPU
            convolutions prefer; None: on for models with 2-D convolutions on the CPU.
        amp: None, "bf16" or "fp16": automatic mixed precision (autocast) for the training
            step; fp16 on CUDA also scales the loss (GradScaler) to keep small gradients.
        fuse: "auto", True or False: train each (Conv2d ->) ReLU -> BatchNorm2d -> MaxPool2d
            run of an nn.Sequential through one native kernel (see `dllab.engine.fusion`);
            every checkpoint is the plain model's either way.
    """

    backward_step = loop.backward_step  # a task's update: trainer.backward_step(loss, "main")

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
        self.task: Task = make_task(loss, metrics)
        self._prepare_model(model, channels_last, compile, fuse)
        self.optimizers = self.task.make_optimizers(
            self.model, lambda params: optim.make_optimizer(optimizer, params, lr, weight_decay)
        )
        self.schedule = schedule
        self.schedulers: dict[str, LRScheduler] = {}
        self.grad_clip, self.seed, self.name, self.config = grad_clip, seed, name, config or {}
        progress = [] if quiet or not distributed.is_main() else [progress_bar(name)]
        self.callbacks = sorted([*callbacks, *progress], key=lambda c: c.order)
        # What the loop (dllab.engine.loop) is handed, beside the task and the optimizers:
        self.precision = Precision(amp, self.device)
        self.guard = DivergenceGuard(self)
        self.log = StepLog()
        self.order = DataOrder(seed)
        self.shards, self.first_step = None, None  # each fit's (Shards, FirstStep)
        self.ctrl_c = CtrlC()
        self.epoch, self.step = 0, 0  # epochs completed, optimizer steps taken
        self.num_epochs, self.steps_per_epoch = 0, 0  # the epoch the running fit ends at
        self.stop_training = False
        self.checkpoint_folder: Path | None = None
        self.val_data = None
        self.train_time = 0.0  # seconds spent in training epochs, compilation apart
        self.compile_time: float | None = None  # the first step's, with `compile`

    def _prepare_model(self, model: nn.Module, channels_last: bool | None, compile, fuse) -> None:
        """The model on its device and in its memory layout, its stages fused where asked
        (`model`: weights, checkpoints, evaluation), then what a training step calls
        (`forward_model`: DDP under torchrun, `torch.compile`)."""
        self.channels_last = uses_channels_last(channels_last, model, self.device)
        self.model = place(model, self.device, self.channels_last)
        floats = (p.dtype for p in self.model.parameters() if p.is_floating_point())
        self.float_dtype = next(floats, torch.get_default_dtype())  # inputs are cast to it
        self.model = fuse_stages(self.model, fuse, self.device, self.float_dtype)
        self.compile = bool(compile)
        self.forward_model = forward_model(self.model, self.task, self.device, compile)

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The main optimizer; a GAN's has none named "main", so its first one."""
        return optim.main_optimizer(self.optimizers)

    @property
    def scheduler(self) -> LRScheduler | None:
        """The main optimizer's schedule, or None."""
        return self.schedulers.get("main", next(iter(self.schedulers.values()), None))

    @property
    def layout(self) -> torch.memory_format | None:
        """The memory format image batches are stored in: channels_last, or None (as given)."""
        return torch.channels_last if self.channels_last else None

    @property
    def history(self) -> History:
        """The epoch and step records (`history.history["loss"]`, as in Keras)."""
        return self.log.history

    @property
    def last_batch_size(self) -> int:
        """Samples in the last step's batch (over all ranks)."""
        return self.log.last_batch_size

    def weights(self) -> dict[str, torch.Tensor]:
        """The plain module's weights (never DDP's `module.` names): they load anywhere."""
        return self.model.state_dict()

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
        train_data = keras_training_data(train_data, y)
        val_data = keras_validation_data(val_data, validation_data)
        batches = self._start(train_data, val_data, num_epochs, batch_size, shuffle, resume)
        plot = make_live_plot() if live_plot else None  # for this fit only
        if plot is not None:
            self.callbacks = sorted([*self.callbacks, plot], key=lambda c: c.order)
        self.log.start([c.on_step_end for c in self.callbacks if overrides(c, "on_step_end")])
        self._call("on_fit_start")
        try:
            with (
                ctrl_c_at_step_boundaries() as self.ctrl_c,
                flush_denormals(),
                optim.schedules_step_per_batch(),
            ):
                while self.epoch < self.num_epochs and not self.stop_training:
                    self._run_epoch(batches)
                    self.ctrl_c.check()
        except KeyboardInterrupt:
            if self.checkpoint_folder is not None:
                self.save(self.checkpoint_folder, tag="last")
            raise
        finally:
            self.log.read()
            self._call("on_fit_end")
            if plot is not None:
                self.callbacks.remove(plot)
        return self.history

    def _start(self, train_data, val_data, num_epochs: int, batch_size, shuffle: bool, resume):
        """A fit's batches, schedules and counters; resuming, the checkpoint's state."""
        default_threads()
        shard = (distributed.rank(), distributed.world_size())
        batches = self._batches(train_data, batch_size, shuffle, self.order.generator, shard)
        self.val_data = val_data
        # Resuming, the schedule spans the whole run (`load` restores its place); else this fit.
        start = 0 if resume is not None else self.epoch
        self.num_epochs = num_epochs if resume is not None else self.epoch + num_epochs
        self.steps_per_epoch = len(batches)
        steps = (self.num_epochs - start) * len(batches)
        self.schedulers = optim.make_schedules(self.schedule, self.optimizers, steps, len(batches))
        if resume is not None:
            self.load(resume, restore_rng=True)
        elif self.step == 0:
            torch.manual_seed(self.seed)
            self.task.seed(self.seed)
        self.stop_training = False
        self.shards = Shards(self.precision, batches)
        self.first_step = FirstStep(timed=self.compile and self.compile_time is None)
        return batches

    def _call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            if overrides(callback, hook):
                getattr(callback, hook)(self, *args)

    def _run_epoch(self, batches) -> None:
        """One epoch of the loop, timed, then its record handed to the callbacks."""
        started = time.perf_counter()
        with self.first_step.explained():
            loop.train_epoch(self, self.first_step.watch(self.order.epoch(batches)))
        if self.first_step.seconds is not None and self.compile_time is None:
            self.compile_time = self.first_step.seconds  # compilation, apart from training
            started += self.compile_time
        self.train_time += time.perf_counter() - started
        self.epoch += 1
        self.order.batches_done = 0
        self._call("on_epoch_end", self.log.end_epoch(self))

    def evaluate(self, data, batch_size: int | None = None) -> dict[str, float]:
        """Loss and metrics averaged over every sample of `data`."""
        return inference.evaluate(self.model, self.task, self._batches(data, batch_size or 1024))

    def predict(self, X, batch_size: int = 1024) -> torch.Tensor:
        """The model's outputs for a batch of inputs X, in order, on the CPU (see
        `dllab.engine.inference.predict` for the errors)."""
        return inference.predict(self.model, self._batches(X, batch_size))

    def _batches(self, data, batch_size, shuffle=False, generator=None, shard=(0, 1)):
        """`data` as batches on the device, in the model's float type and memory layout."""
        return make_batches(
            data, batch_size, shuffle, generator, self.device, shard, self.layout, self.float_dtype
        )

    def state_dict(self) -> dict:
        """Everything but the weights, as tensors and plain values (`dllab.engine.resume`)."""
        return training_state(self)

    def save(self, folder: str | Path, tag: str = "last") -> Path:
        """Write weights (safetensors) and training state atomically under `folder`; under
        torchrun only rank 0 writes (every rank holds the same state)."""
        if not distributed.is_main():
            return Path(folder)
        return save_checkpoint(Path(folder), tag, self.weights(), self.state_dict())

    def load(self, folder: str | Path, tag: str = "last", restore_rng: bool = False) -> None:
        """Restore weights, optimizer, callbacks, history and counters from `folder`.

        Raises:
            CheckpointError: for a missing, corrupt or unsafe checkpoint, or one of another model.
        """
        restore(self, folder, tag, restore_rng)
