"""What the unit V experiments share: their data, the fit of an autoencoder, PCA."""

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from torch import nn

from dllab import data
from dllab.engine import EarlyStopping
from dllab.experiments.runner import Run

UNIT = 5


@dataclass
class AEData:
    name: Literal["digits", "mnist1d"] = "digits"  # 8x8 images in [0, 1] or 40-step signals


def load_ae_data(name: str) -> data.Dataset:
    """The digits' own train/val/test split, or MNIST-1D with 500 training signals for val."""
    return data.load("digits") if name == "digits" else data.load("mnist1d", n_val=500)


def fit_autoencoder(run: Run, name: str, model: nn.Module, task, ds, num_epochs: int, lr: float):
    """Adam with a cosine schedule on the inputs alone; keeps the weights of the best val loss."""
    trainer = run.trainer(
        name,
        model,
        checkpoint=False,
        optimizer="adam",
        loss=task,
        lr=lr,
        schedule="cosine",
        callbacks=[EarlyStopping("val_loss", patience=num_epochs)],
    )
    run.fit(trainer, ds.train[0], val_data=ds.val[0], num_epochs=num_epochs, batch_size=64)
    return trainer.model.eval()


@torch.no_grad()
def reconstruction_mse(model: nn.Module, X: torch.Tensor) -> float:
    """Mean squared error per pixel (or time step) of model(X) against X."""
    return F.mse_loss(model.eval()(X), X).item()


def fit_pca(X_train: torch.Tensor, k: int) -> PCA:
    return PCA(k, random_state=0).fit(X_train.flatten(1).numpy())


def pca_reconstruct(pca: PCA, X: torch.Tensor) -> torch.Tensor:
    flat = pca.inverse_transform(pca.transform(X.flatten(1).numpy()))  # (N, D)
    return torch.as_tensor(flat, dtype=X.dtype).reshape(X.shape)
