"""The training engine: the loop (loop.py) and the Trainer around it, tasks (step functions),
callbacks, checkpoints, optimizers."""

from dllab.engine.augmented import Augmented
from dllab.engine.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormMonitor,
    HistoryLogger,
    ModelCheckpoint,
    TensorBoardLogger,
)
from dllab.engine.gan import GAN, GANTask, SampleSnapshots
from dllab.engine.history import History
from dllab.engine.optim import ClipNorm, ClipValue, Schedule, make_optimizer, make_schedule
from dllab.engine.prepare import resolve_device
from dllab.engine.resume import seed_everything
from dllab.engine.tasks import Reconstruction, Supervised, Task
from dllab.engine.trainer import Trainer

__all__ = [
    "Augmented",
    "Callback",
    "ClipNorm",
    "ClipValue",
    "EarlyStopping",
    "GAN",
    "GANTask",
    "GradientNormMonitor",
    "History",
    "HistoryLogger",
    "ModelCheckpoint",
    "Reconstruction",
    "SampleSnapshots",
    "Schedule",
    "Supervised",
    "Task",
    "TensorBoardLogger",
    "Trainer",
    "make_optimizer",
    "make_schedule",
    "resolve_device",
    "seed_everything",
]
