"""GANs across scales: LAPGAN (Denton et al., 2015), a Laplacian pyramid of conditional GANs,
and SRGAN-style super-resolution (Ledig et al., 2017)."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dllab import data
from dllab.config import param
from dllab.experiments.common import ImageScorer, classifier_features, scoring_classifier
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.metrics import (
    psnr,
)
from dllab.models.gan import GAN, GANTask
from dllab.models.lapgan import downsample, laplacian_pyramid, reconstruct, upsample
from dllab.models.srgan import SuperResolutionTask
from dllab.report import plots


@dataclass
class LapganConfig:
    num_epochs: int = param(200, ge=1)  # passes over the training digits, per level
    batch_size: int = param(64, ge=2)  # digits per step
    lr: float = param(2e-4, gt=0)  # Adam learning rate (β1 = 0.5)
    latent_dim: int = param(16, ge=1)  # noise per level
    classifier_epochs: int = param(40, ge=1)  # training of the CNN that scores the samples
    num_samples: int = param(1000, ge=20)  # generated digits scored


@experiment(
    "lapgan",
    unit=4,
    title="LAPGAN: a Laplacian pyramid of GANs, coarse to fine",
    topics=("LAPGAN",),
    config=LapganConfig,
    quick={"num_epochs": 2, "classifier_epochs": 2, "num_samples": 200},
    headline=("real_classifier_fid", "classifier_fid"),
)
def lapgan(cfg: LapganConfig, run: Run) -> dict[str, float]:
    """Denton et al. (2015) split image generation into easier steps: a GAN draws a 4x4
    digit, then a conditional GAN, given that image upsampled, draws the 8x8 residual (the
    detail the upsampling lacks: a level of the Laplacian pyramid). Each GAN is trained on the
    pyramid of the real digits; sampling runs coarse to fine. Scored as `gan-digits`."""
    digits = data.load("digits")
    classifier, classifier_accuracy = scoring_classifier(run, digits, cfg.classifier_epochs)
    residual, coarse = laplacian_pyramid(digits.train[0], 2)  # (N, 1, 8, 8), (N, 1, 4, 4)
    levels = {}
    specs = [  # level: (generator, discriminator, training data, conditioned on the coarse image)
        (
            "lapgan_residual_generator",
            "lapgan_residual_discriminator",
            (residual, upsample(coarse)),
            True,
        ),
        ("lapgan_coarse_generator", "lapgan_coarse_discriminator", coarse, False),
    ]
    for level, (G_name, D_name, train, vector) in enumerate(specs):
        G = run.model(f"level{level}-G", G_name, latent_dim=cfg.latent_dim)
        D = run.model(f"level{level}-D", D_name)
        model = GAN(G, D, cfg.latent_dim, vector_condition=vector)
        trainer = run.trainer(f"level{level}", model, loss=GANTask(label_smoothing=0.1), lr=cfg.lr)
        run.fit(trainer, train, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
        levels[level] = model
    coarse_fake = levels[1].sample(levels[1].noise(cfg.num_samples))  # (N, 1, 4, 4)
    context = upsample(coarse_fake)  # (N, 1, 8, 8)
    residual_fake = levels[0].sample(levels[0].noise(cfg.num_samples, context))
    fake = reconstruct([residual_fake, coarse_fake]).clamp(0, 1)  # (N, 1, 8, 8)
    scorer = ImageScorer.of(classifier, digits)
    metrics = {
        "classifier_test_accuracy": classifier_accuracy,
        **scorer.scores(scorer.embed(fake)),
    }
    shown = 10
    rows = [coarse_fake[:shown], context[:shown], (residual_fake[:shown] + 1) / 2, fake[:shown]]
    plots.image_grid(
        torch.cat([F.interpolate(r, size=8) for r in rows]).numpy(),  # 4x4 shown as blocks
        run.figure("pyramid-samples"),
        "LAPGAN sampling, coarse to fine (residuals shown as 0.5 + h/2)",
        nrow=shown,
        row_labels=["4x4 sample", "upsampled", "8x8 residual", "sum = digit"],
    )
    return metrics


@dataclass
class SrganConfig:
    num_epochs: int = param(100, ge=1)  # passes over the training digits, per model
    batch_size: int = param(64, ge=2)  # digits per step
    lr: float = param(1e-3, gt=0)  # Adam learning rate (β1 = 0.5)
    adversarial_weight: float = param(1e-3, ge=0)  # w of the adversarial term (Ledig et al.)
    classifier_epochs: int = param(40, ge=1)  # training of the CNN whose features are compared


@experiment(
    "srgan",
    unit=4,
    title="SRGAN: 4x4 -> 8x8 super-resolution with a content loss in classifier features",
    topics=("SRGAN",),
    config=SrganConfig,
    quick={"num_epochs": 2, "classifier_epochs": 2},
    headline=("bicubic_psnr", "srresnet_psnr", "srgan_psnr"),
)
def srgan(cfg: SrganConfig, run: Run) -> dict[str, float]:
    """Ledig et al. (2017) train a residual generator to upscale images with a content loss
    measured in the feature space of a pretrained VGG network plus a small adversarial loss, so
    that outputs look sharp rather than averaged. VGG weights cannot be downloaded here: the
    content loss compares the features of a CNN the project trains on the same digits. Each
    8x8 test digit is reduced to 4x4 (2x2 averages) and upscaled by bicubic interpolation, by
    SRResNet (the same generator trained on pixel MSE) and by SRGAN; PSNR is measured against
    the original, and the classifier's accuracy on the upscaled digits tells whether they are
    still readable."""
    digits = data.load("digits")
    classifier, classifier_accuracy = scoring_classifier(run, digits, cfg.classifier_epochs)
    classifier.requires_grad_(False)

    def feature_loss(X_hat: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        # l_VGG/i,j = mean (φ(X̂) - φ(X))²  (Ledig et al., eq. 5), φ = the classifier's features
        return F.mse_loss(
            classifier.pool(classifier.features(X_hat)), classifier.pool(classifier.features(X))
        )

    def pixel_loss(X_hat: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(X_hat, X)

    X_train, X_test = digits.train[0], digits.test[0]
    low_train, low_test = downsample(X_train), downsample(X_test)  # (N, 1, 4, 4)
    outputs = {"bicubic": F.interpolate(low_test, scale_factor=2, mode="bicubic").clamp(0, 1)}
    for name, content, weight in (
        ("SRResNet", pixel_loss, 0.0),
        ("SRGAN", feature_loss, cfg.adversarial_weight),
    ):
        G = run.model(f"{name}-G", "srgan_generator_digits")
        D = run.model(f"{name}-D", "dcgan_discriminator_digits")
        model = GAN(G, D, latent_dim=0, ema=False)
        task = SuperResolutionTask(content, adversarial_weight=weight)
        trainer = run.trainer(name, model, loss=task, lr=cfg.lr)
        run.fit(trainer, (X_train, low_train), num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
        outputs[name] = model.sample(low_test, use_ema=False)
    metrics = {"classifier_test_accuracy": classifier_accuracy}
    for name, X_hat in outputs.items():
        key = name.lower()
        metrics[f"{key}_psnr"] = psnr(X_hat, X_test)
        _, predicted = classifier_features(classifier, X_hat)
        metrics[f"{key}_classifier_accuracy"] = (predicted == digits.test[1]).float().mean().item()
    shown = 10
    rows = [
        F.interpolate(low_test[:shown], size=8),
        *(X[:shown] for X in outputs.values()),
        X_test[:shown],
    ]
    plots.image_grid(
        torch.cat(rows).numpy(),
        run.figure("super-resolution"),
        "4x4 -> 8x8 test digits (PSNR against the originals, over the whole test set)",
        nrow=shown,
        row_labels=[
            "4x4 input",
            *(f"{name}: {metrics[f'{name.lower()}_psnr']:.1f} dB" for name in outputs),
            "original 8x8",
        ],
    )
    return metrics
