"""What the unit I experiments that train in both engines share: the `engine` switch, and the
NumPy engine `dllab.scratch`'s twin of a PyTorch model (built from the same initial weights,
trained by Adam with batches of the same size, and scored the same way)."""

from typing import Literal

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from dllab import scratch
from dllab.experiments.runner import Run, derive_seed

# torch: the PyTorch engine; scratch: also the NumPy engine `dllab.scratch`, from the same
# initial weights with the same optimizer and batches of the same size, reporting both
Engine = Literal["torch", "scratch"]


def scratch_twin(run: Run, name: str, model: torch.nn.Module) -> scratch.Sequential:
    """The NumPy engine's copy of `model` as built, before either engine trains."""
    return scratch.from_torch(model, rng=np.random.default_rng(derive_seed(run.seed, name)))


def fit_scratch(
    run: Run,
    name: str,
    net: scratch.Sequential,
    train: tuple[torch.Tensor, torch.Tensor],
    loss: Literal["bce", "cross_entropy"],
    num_epochs: int,
    batch_size: int,
    lr: float,
    lr_schedule=None,
) -> list[float]:
    """Adam in the NumPy engine (float64), with BLAS held to torch's thread count.

    Returns:
        The mean training loss of every epoch.
    """
    X, y = train
    if loss == "bce":
        y_np, loss_fn = y.double().numpy()[:, None], scratch.bce_with_logits  # (N, 1) as logits
    else:
        y_np, loss_fn = y.numpy(), scratch.softmax_cross_entropy
    rng = np.random.default_rng(derive_seed(run.seed, f"{name}-scratch-batches"))
    optimizer = scratch.Adam(net, lr=lr)
    with threadpool_limits(torch.get_num_threads(), user_api="blas"):
        return scratch.fit(
            net,
            loss_fn,
            optimizer,
            X.double().numpy(),
            y_np,
            num_epochs,
            batch_size,
            rng,
            lr_schedule=lr_schedule,
        )


def scratch_accuracy(net: scratch.Sequential, test: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Test accuracy of the NumPy twin: argmax of the logits, or logit > 0 for one output."""
    X, y = test
    logits = scratch.predict(net, X.double().numpy())  # (N, C)
    y_pred = logits.argmax(1) if logits.shape[1] > 1 else (logits[:, 0] > 0).astype(np.int64)
    return float((y_pred == y.numpy()).mean())
