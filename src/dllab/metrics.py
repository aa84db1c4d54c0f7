"""Metrics of generative models, as small functions of tensors.

- 2-D mixtures: modes captured and the fraction of high-quality samples, within 3 standard
  deviations of a mode (VEEGAN, Srivastava et al., 2017, §5.1; PacGAN, Lin et al., 2018, §5).
- Images: the Fréchet distance between Gaussians fitted to features (Heusel et al., 2017, eq. 6)
  in the feature space of a classifier trained by the project ("classifier FID"), precision and
  recall of samples in that space (Kynkäänniemi et al., 2019, k-NN balls), and the entropy of the
  predicted-class histogram.
"""

import numpy as np
import torch


def mode_coverage(
    X: torch.Tensor, centres: np.ndarray, std: float, min_count: int = 1
) -> dict[str, float]:
    """Modes captured and high-quality fraction of samples X (N, 2) of a Gaussian mixture.

    A sample is high quality when it lies within 3 std of its nearest mode (`centres` (K, 2),
    e.g. from `dllab.data.mixture_modes`); a mode is captured when at least `min_count`
    high-quality samples fall on it (1, as in the code behind the PacGAN tables, which score
    2,500 samples).

    Returns:
        {"modes_captured", "num_modes", "high_quality_fraction"}.
    """
    modes = torch.as_tensor(centres, dtype=X.dtype)
    distance, nearest = torch.cdist(X, modes).min(dim=1)  # (N,)
    good = distance <= 3 * std
    counts = torch.bincount(nearest[good], minlength=len(modes))  # (K,)
    return {
        "modes_captured": int((counts >= min_count).sum()),
        "num_modes": len(modes),
        "high_quality_fraction": good.float().mean().item(),
    }


def gaussian_stats(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), in float64."""
    F = features.double().numpy()
    return F.mean(0), np.cov(F, rowvar=False)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||μ1 - μ2||² + Tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½)  (Dowson & Landau, 1982; Heusel et al., eq. 6).

    Tr (Σ1 Σ2)^½ is the sum of square roots of the eigenvalues of Σ1 Σ2, which are those of the
    symmetric Σ1^½ Σ2 Σ1^½ (real and >= 0).
    """
    values, vectors = np.linalg.eigh(cov1)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T  # Σ1^½ (D, D)
    middle = np.linalg.eigvalsh(root1 @ cov2 @ root1)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * trace_root)


def feature_frechet_distance(features1: torch.Tensor, features2: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (N1, D) and (N2, D)."""
    return frechet_distance(*gaussian_stats(features1), *gaussian_stats(features2))


def _kth_neighbour_radius(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point (N, D) to its k-th nearest other point (N,)."""
    distances = torch.cdist(features, features)  # (N, N)
    return distances.kthvalue(k + 1, dim=1).values  # k+1: the point itself is at distance 0


def _inside_manifold(points: torch.Tensor, support: torch.Tensor, radii: torch.Tensor):
    """Whether each point (M, D) lies in some ball of `support` (N, D) with radius `radii` (N,)."""
    return (torch.cdist(points, support) <= radii[None, :]).any(dim=1)  # (M,)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019, eqs. 1-3) of features (N, D).

    Precision: the fraction of fake samples inside the union of k-NN balls of the real ones
    (quality); recall: the fraction of real samples inside the fake samples' balls (coverage).
    """
    real, fake = real.double(), fake.double()
    precision = _inside_manifold(fake, real, _kth_neighbour_radius(real, k)).double().mean()
    recall = _inside_manifold(real, fake, _kth_neighbour_radius(fake, k)).double().mean()
    return {"precision": precision.item(), "recall": recall.item()}


def precision_recall_by_class(
    real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor, fake_labels: torch.Tensor
) -> dict[int, dict[str, float]]:
    """`precision_recall` within each class c of `real_labels` (N,), on equal numbers of real
    (N, D) and fake (M, D) features of that class: {c: {"precision", "recall"}}."""
    scores = {}
    for c in real_labels.unique().tolist():
        ours, theirs = real[real_labels == c], fake[fake_labels == c]
        n = min(len(ours), len(theirs))
        scores[c] = precision_recall(ours[:n], theirs[:n])
    return scores


def mean_over_classes(by_class: dict[int, dict[str, float]]) -> dict[str, float]:
    """`precision_recall_by_class`'s scores averaged over the classes: {"precision", "recall"}."""
    scores = by_class.values()
    return {name: float(np.mean([s[name] for s in scores])) for name in ("precision", "recall")}


def sample_diversity(samples: torch.Tensor, real: torch.Tensor) -> float:
    """Mean pairwise distance between samples (N, ...) over the same for real data (M, ...):
    about 1 when generated samples differ from one another as much as real ones do, near 0 when
    they are copies of one image (mode collapse), which FID alone can hide."""
    spread = torch.pdist(samples.flatten(1).double()).mean()
    return float(spread / torch.pdist(real.flatten(1).double()).mean())


def class_histogram_entropy(predictions: torch.Tensor, num_classes: int) -> float:
    """Entropy (nats) of the histogram of predicted classes (N,): log K when all K are equal.

    A generator that covers every class of a balanced data set scores close to log K; one that
    collapses onto a single class scores 0.
    """
    p = torch.bincount(predictions.long(), minlength=num_classes).double()
    p = p / p.sum()
    p = p[p > 0]
    return float(-(p * p.log()).sum()) + 0.0  # + 0.0: no "-0.0" for one class


def psnr(X_hat: torch.Tensor, X: torch.Tensor, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(peak² / MSE), for images in [0, peak]."""
    mse = torch.mean((X_hat - X) ** 2).item()
    return float(10 * np.log10(peak**2 / max(mse, 1e-12)))


def roc_auc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties counting
    half (the Mann-Whitney U statistic, Hanley & McNeil, 1982), from average ranks."""
    scores = torch.as_tensor(scores, dtype=torch.float64).flatten()
    positive = torch.as_tensor(positive).flatten().bool()
    order = scores.argsort()
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=torch.float64)
    values, inverse = scores.unique(return_inverse=True)  # ties share their average rank
    sums = torch.zeros(len(values), dtype=torch.float64).index_add_(0, inverse, ranks)
    ranks = (sums / torch.bincount(inverse, minlength=len(values)))[inverse]
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def linear_probe_accuracy(
    codes_train: torch.Tensor, y_train: torch.Tensor, codes_test: torch.Tensor, y_test: torch.Tensor
) -> float:
    """Test accuracy of a logistic-regression classifier fitted on frozen codes (standardised):
    how linearly the representation separates the classes (Donahue et al., 2017, §4)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(codes_train.numpy(), y_train.numpy())
    return float(probe.score(codes_test.numpy(), y_test.numpy()))
