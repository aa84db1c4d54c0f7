"""Losses for the NumPy engine: each returns the mean loss and its gradient w.r.t. the prediction.

Mean reduction over every element, as torch's defaults (`F.cross_entropy`, `F.mse_loss`,
`F.binary_cross_entropy_with_logits`). Backpropagation starts from this gradient (Rumelhart,
Hinton & Williams, 1986).
"""

import numpy as np

from dllab.errors import DataError
from dllab.scratch.layers import sigmoid


def _check_shapes(y_hat: np.ndarray, y: np.ndarray) -> None:
    if y_hat.shape != y.shape:
        raise DataError(f"prediction shape {y_hat.shape} does not match target shape {y.shape}")


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Cross-entropy of softmax(logits) (B, C) against class indices y (B,).

    L = mean_b(logsumexp(z_b) - z_{b, y_b});  dL/dz = (softmax(z) - onehot(y)) / B.
    """
    B, C = logits.shape
    if y.shape != (B,) or y.min() < 0 or y.max() >= C:
        raise DataError(f"labels must be {B} class indices in [0, {C}), got shape {y.shape}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (B, C)
    loss = -log_probs[np.arange(B), y].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(B), y] -= 1.0
    return float(loss), dlogits / B


def mse(y_hat: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """L = mean((ŷ - y)²);  dL/dŷ = 2(ŷ - y) / N."""
    _check_shapes(y_hat, y)
    diff = y_hat - y
    return float((diff**2).mean()), 2.0 * diff / diff.size


def bce_with_logits(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy of σ(z) against targets y in [0, 1], stable for any z.

    L = mean(max(z, 0) - z y + log(1 + e^{-|z|}));  dL/dz = (σ(z) - y) / N.
    """
    _check_shapes(logits, y)
    loss = np.maximum(logits, 0.0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
    return float(loss.mean()), (sigmoid(logits) - y) / logits.size
