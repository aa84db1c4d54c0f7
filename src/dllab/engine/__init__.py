"""The training engine, generic to every lesson: the loop (loop.py) and the Trainer around it,
the Task base with its supervised and reconstruction tasks, callbacks, checkpoints, optimizers.
A lesson's own objective (the ELBO, the GAN's updates, truncated BPTT) is a Task beside its
model in `dllab.models`."""

from dllab.engine.augmented import Augmented
from dllab.engine.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormMonitor,
    HistoryLogger,
    ModelCheckpoint,
    TensorBoardLogger,
)
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
    "GradientNormMonitor",
    "History",
    "HistoryLogger",
    "ModelCheckpoint",
    "Reconstruction",
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
