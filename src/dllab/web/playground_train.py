"""What the playground trains: a 2-D classifier (TensorFlow Playground's view) and a 2-D GAN
(GAN Lab's view), one optimizer step at a time, and the small frames the browser draws.

Both use the package's own parts: the data of `dllab.data.toy2d`, the `mlp`,
`gan_generator_2d` and `gan_discriminator_2d` models, the engine's optimizers, and for the GAN
the losses of `GANTask` (minimax, non-saturating, WGAN-GP, PacGAN packing) and
`metrics.mode_coverage`. The loop itself is plain torch: the Trainer works in epochs with
callbacks and files, and the playground needs one step at a time, under 5 ms.

Settings are typed dataclasses validated by `apply_overrides`, as an experiment's `--set` is.
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dllab.config import param
from dllab.data import toy2d
from dllab.engine.optim import make_optimizer
from dllab.errors import ConfigError
from dllab.metrics import mode_coverage
from dllab.models import create_model
from dllab.models.gan import GAN, GANTask, frozen, set_adam_betas
from dllab.nn import init_for_activation_

GRID = 40  # cells per side of the decision surface sent each frame
TILE = 16  # cells per side of a hidden unit's tile
MAX_LAYERS = 6
MAX_POINTS = 2000
CURVE_POINTS = 300  # loss-curve points kept (halved by dropping every other when full)
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "prelu")  # the notes' six
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")


@dataclass
class ClassifierSettings:
    # the points: five generated sets, or custom: the ones you click in
    data: Literal["xor", "circles", "moons", "spirals", "blobs", "custom"] = "circles"
    noise: float = param(0.1, ge=0, le=0.5)  # Gaussian noise on the points (blobs: their spread)
    num_points: int = param(400, ge=20, le=MAX_POINTS)  # training and test points together
    train_fraction: float = param(0.5, ge=0.1, le=0.9)  # the share of the points trained on
    num_hiddens: tuple[int, ...] = param((4, 2), ge=1, le=8, allow_empty=True)  # units per layer
    activation: Literal[ACTIVATIONS] = "tanh"  # of every hidden unit
    optimizer: Literal[OPTIMIZERS] = "sgd"  # the engine's, by name
    lr: float = param(0.03, gt=0, le=10)  # learning rate
    batch_size: int = param(10, ge=1, le=MAX_POINTS)  # points per step
    l2: float = param(0.0, ge=0, le=1)  # L2 penalty on the weights (weight decay)
    seed: int = param(0, ge=0, lt=2**31)  # of the points and the initial weights


@dataclass
class GanSettings:
    data: Literal["ring8", "grid25", "drawn"] = "ring8"  # ring of 8, grid of 25, or your drawing
    # the GAN's loss; PacGAN is the non-saturating loss with a packed discriminator
    method: Literal["minimax", "non_saturating", "wgan_gp", "pacgan"] = "non_saturating"
    num_hiddens: int = param(64, ge=4, le=256)  # units per hidden layer of G and D
    num_layers: int = param(2, ge=1, le=4)  # hidden layers of G and D
    lr: float = param(1e-3, gt=0, le=0.1)  # Adam (β1 = 0.5) for both networks
    batch_size: int = param(64, ge=8, le=1024)  # discriminator inputs per step
    pack: int = param(2, ge=2, le=8)  # PacGAN: samples the discriminator judges at once
    n_critic: int = param(5, ge=1, le=10)  # WGAN-GP: critic steps per generator step
    seed: int = param(0, ge=0, lt=2**31)  # of the data, noise and initial weights


# settings a running session takes as they are; any other change starts it again
LIVE = {"lr", "batch_size", "l2"}


def check_layers(settings: ClassifierSettings) -> None:
    layers = len(settings.num_hiddens)
    if layers > MAX_LAYERS:
        raise ConfigError(f"--set num_hiddens: at most {MAX_LAYERS} hidden layers, got {layers}")


def _quantise(values: torch.Tensor, scale: float) -> list[int]:
    return [int(v) for v in (values * scale).round().flatten().tolist()]


def _grid(extent: tuple[float, float, float, float], n: int) -> torch.Tensor:
    """Cell centres (n * n, 2) over extent (x0, x1, y0, y1), row by row from the top."""
    x0, x1, y0, y1 = extent
    xs = x0 + (torch.arange(n) + 0.5) * (x1 - x0) / n
    ys = y1 - (torch.arange(n) + 0.5) * (y1 - y0) / n
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.flatten(), yy.flatten()], dim=1)


def _square_extent(X: np.ndarray, pad: float = 0.15) -> tuple[float, float, float, float]:
    lo, hi = X.min(0), X.max(0)
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * (1 + pad) or 1.0
    x, y = float(centre[0]), float(centre[1])
    return (x - half, x + half, y - half, y + half)


def _curve_append(curve: dict[str, list], **values: float) -> None:
    for key, value in values.items():
        curve[key].append(round(value, 5) if math.isfinite(value) else None)
    if len(curve["step"]) > CURVE_POINTS:
        for key in curve:
            curve[key] = curve[key][::2]


def classifier_points(s: ClassifierSettings, custom: list[list[float]]):
    """(X_train, y_train, X_test, y_test) as arrays, and the plane's extent."""
    n_train = max(1, round(s.num_points * s.train_fraction))
    n_test = max(1, s.num_points - n_train)
    if s.data == "custom":
        points = np.asarray(custom, dtype=np.float64).reshape(-1, 3)
        order = np.random.default_rng(s.seed).permutation(len(points))
        cut = round(len(points) * s.train_fraction)
        train, test = points[order[:cut]], points[order[cut:]]
        extent = (-1.5, 1.5, -1.5, 1.5)
        return train[:, :2], train[:, 2], test[:, :2], test[:, 2], extent
    if s.data == "xor":
        per_point = math.ceil(max(n_train, n_test) / 4)
        ds = toy2d.truth_table("xor", n_per_point=per_point, noise=s.noise, seed=s.seed)
    elif s.data == "blobs":
        ds = toy2d.blobs(n_train, 0, n_test, centers=2, std=0.3 + 3 * s.noise, box=3.0, seed=s.seed)
    else:
        loader = {"circles": toy2d.circles, "moons": toy2d.moons, "spirals": toy2d.spirals}[s.data]
        ds = loader(n=n_train, n_val=0, n_test=n_test, noise=s.noise, seed=s.seed)
    (X, y), (Xt, yt) = ds.train, ds.test
    X, y, Xt, yt = (
        X[:n_train].numpy(),
        y[:n_train].numpy(),
        Xt[:n_test].numpy(),
        yt[:n_test].numpy(),
    )
    return X, y, Xt, yt, _square_extent(np.concatenate([X, Xt]))


class ClassifierLab:
    """An MLP learning to separate two classes of points in the plane."""

    kind = "classifier"

    def __init__(self, settings: ClassifierSettings, custom: list[list[float]] | None = None):
        self.s, self.custom = settings, custom or []
        self.reset()

    def reset(self) -> None:
        s = self.s
        X, y, Xt, yt, self.extent = classifier_points(s, self.custom)
        x0, x1, y0, y1 = self.extent
        self.centre = torch.tensor([(x0 + x1) / 2, (y0 + y1) / 2])
        self.half = (x1 - x0) / 2
        self.raw = {"train": (X, y), "test": (Xt, yt)}
        self.X, self.y = self._inputs(X), torch.as_tensor(y, dtype=torch.float32)
        self.Xt, self.yt = self._inputs(Xt), torch.as_tensor(yt, dtype=torch.float32)
        torch.manual_seed(s.seed)
        self.model = create_model(
            "mlp", in_features=2, num_hiddens=s.num_hiddens, num_outputs=1, activation=s.activation
        )
        init_for_activation_(self.model, s.activation)
        self.optimizer = make_optimizer(s.optimizer, self.model.parameters(), s.lr, s.l2)
        self.generator = torch.Generator().manual_seed(s.seed)
        self.step_count, self.epoch, self._order, self._at = (
            0,
            0,
            torch.empty(0, dtype=torch.long),
            0,
        )
        self.curve: dict[str, list] = {"step": [], "train": [], "test": []}

    def _inputs(self, X: np.ndarray) -> torch.Tensor:
        """Points mapped from the plane's extent to [-1, 1]², what the network sees."""
        X = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 2)
        return (X - self.centre) / self.half

    @property
    def trainable(self) -> bool:
        return len(self.y) > 0

    def adjust(self, settings: ClassifierSettings) -> None:
        """Take a change of the live settings (lr, batch size, L2) without starting again."""
        self.s = settings
        for group in self.optimizer.param_groups:
            group["lr"], group["weight_decay"] = settings.lr, settings.l2

    def train_step(self) -> None:
        """One mini-batch step; an epoch is one pass over a fresh permutation of the points."""
        n = len(self.y)
        if self._at >= len(self._order):
            self._order, self._at = torch.randperm(n, generator=self.generator), 0
        batch = self._order[self._at : self._at + self.s.batch_size]
        self._at += self.s.batch_size
        logits = self.model(self.X[batch]).squeeze(1)  # (B,)
        loss = F.binary_cross_entropy_with_logits(logits, self.y[batch])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step_count += 1
        self.epoch += self._at >= n

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> float:
        if len(y) == 0:
            return float("nan")
        return F.binary_cross_entropy_with_logits(self.model(X).squeeze(1), y).item()

    @torch.no_grad()
    def frame(self) -> dict:
        train_loss, test_loss = self._loss(self.X, self.y), self._loss(self.Xt, self.yt)
        if not self.curve["step"] or self.curve["step"][-1] != self.step_count:
            _curve_append(self.curve, step=self.step_count, train=train_loss, test=test_loss)
        surface = torch.sigmoid(self.model(self._inputs(_grid(self.extent, GRID).numpy())))
        return {
            "step": self.step_count,
            "epoch": self.epoch,
            "train_loss": train_loss if math.isfinite(train_loss) else None,
            "test_loss": test_loss if math.isfinite(test_loss) else None,
            "surface": _quantise(surface, 255),  # p(class 1), GRID x GRID from the top left
            "units": self._unit_tiles(),
            "weights": [
                [[round(w, 3) for w in row] for row in layer.weight.tolist()]
                for layer in self.model.modules()
                if isinstance(layer, nn.Linear)
            ],
            "curve": self.curve,
        }

    def _unit_tiles(self) -> list[list[list[int]]]:
        """For every hidden layer, each unit's output over a TILE x TILE grid, scaled by the
        unit's largest magnitude to [-100, 100]: the unit's own boundary."""
        h = self._inputs(_grid(self.extent, TILE).numpy())
        layers = []
        for module in self.model.net:
            h = module(h)
            if not isinstance(module, nn.Linear | nn.Flatten):  # after an activation
                scale = h.abs().amax(0).clamp_min(1e-6)  # (units,)
                layers.append([_quantise(unit, 100) for unit in (h / scale).T])
        return layers

    def points(self) -> dict:
        def rows(X, y):
            return [[round(float(a), 3), round(float(b), 3), int(c)] for (a, b), c in zip(X, y)]

        return {
            "extent": self.extent,
            "train": rows(*self.raw["train"]),
            "test": rows(*self.raw["test"]),
        }


class GanLab:
    """A generator learning a 2-D distribution against a discriminator."""

    kind = "gan"
    EXTENTS = {"ring8": 3.0, "grid25": 6.0, "drawn": 3.0}
    SAMPLES = 512  # generated points drawn and scored each frame
    ARROWS = 96

    def __init__(self, settings: GanSettings, custom: list[list[float]] | None = None):
        self.s, self.custom = settings, custom or []
        self.reset()

    def reset(self) -> None:
        s = self.s
        half = self.EXTENTS[s.data]
        self.extent = (-half, half, -half, half)
        rng = np.random.default_rng(s.seed)
        if s.data == "drawn":
            drawn = np.asarray(self.custom, dtype=np.float64).reshape(-1, 3)[:, :2]
            jitter = 0.03 * half * rng.standard_normal((4096, 2))
            pool = drawn[rng.integers(len(drawn), size=4096)] + jitter if len(drawn) else drawn
            self.modes = None
        else:
            loader = toy2d.ring8 if s.data == "ring8" else toy2d.grid25
            pool = loader(n=4096, n_test=1, seed=s.seed).train[0].numpy()
            self.modes = toy2d.mixture_modes(s.data)
        self.real = torch.as_tensor(pool, dtype=torch.float32).reshape(-1, 2)
        loss = "non_saturating" if s.method == "pacgan" else s.method
        self.pack = s.pack if s.method == "pacgan" else 1
        self.n_critic = s.n_critic if s.method == "wgan_gp" else 1
        self.task = GANTask(loss, n_critic=self.n_critic, pack=self.pack)
        torch.manual_seed(s.seed)
        size = {"num_hiddens": s.num_hiddens, "num_layers": s.num_layers}
        G = create_model("gan_generator_2d", latent_dim=2, **size)
        D = create_model("gan_discriminator_2d", pack=self.pack, **size)
        self.gan = GAN(G, D, latent_dim=2, ema=False)
        self.opt_d = make_optimizer("adam", D.parameters(), s.lr, 0.0)
        self.opt_g = make_optimizer("adam", G.parameters(), s.lr, 0.0)
        set_adam_betas([self.opt_d, self.opt_g])
        self.generator = torch.Generator().manual_seed(s.seed)
        self.z = torch.randn(self.SAMPLES, 2, generator=self.generator)  # the samples drawn
        self.step_count = 0
        self.losses = (float("nan"), float("nan"))
        self.curve: dict[str, list] = {"step": [], "d": [], "g": []}

    @property
    def trainable(self) -> bool:
        return len(self.real) > 0

    def adjust(self, settings: GanSettings) -> None:
        self.s = settings
        for optimizer in (self.opt_d, self.opt_g):
            for group in optimizer.param_groups:
                group["lr"] = settings.lr

    def train_step(self) -> None:
        """One discriminator update, and a generator update every `n_critic` of them."""
        G, D = self.gan.generator, self.gan.discriminator
        n = self.s.batch_size * self.pack
        real = self.real[torch.randint(len(self.real), (n,), generator=self.generator)]
        fake = G(torch.randn(n, 2, generator=self.generator))  # (n, 2)
        loss_d, _ = self.task.discriminator_loss(self.gan, real, fake.detach(), None)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        self.step_count += 1
        if self.step_count % self.n_critic == 0:
            with frozen(D):  # G's step needs gradients through D, not of D's weights
                loss_g, _ = self.task.generator_step_loss(self.gan, fake, real, None)
                self.opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                self.opt_g.step()
            self.losses = (loss_d.item(), loss_g.item())

    def frame(self) -> dict:
        G, D = self.gan.generator, self.gan.discriminator
        with torch.no_grad():
            samples = G(self.z)  # (SAMPLES, 2)
            cells = _grid(self.extent, GRID)
            scores = D(cells.repeat(1, self.pack)).squeeze(1)  # a point packed with itself
            if self.task.loss == "wgan_gp":  # unbounded critic: its range over the plane
                lo, hi = scores.min(), scores.max()
                surface = (scores - lo) / (hi - lo).clamp_min(1e-6)
            else:
                surface = torch.sigmoid(scores)  # D's probability that a point is real
        # where the generator's loss pushes each sample: -∂J_G/∂x, per sample
        fake = samples[: self.ARROWS - self.ARROWS % self.pack].clone().requires_grad_(True)
        loss_g, _ = self.task.generator_step_loss(self.gan, fake, None, None)
        (grad,) = torch.autograd.grad(loss_g, fake)
        push = -grad / grad.norm(dim=1).max().clamp_min(1e-12)  # longest arrow = 1
        d, g = self.losses
        if self.step_count and (
            not self.curve["step"] or self.curve["step"][-1] != self.step_count
        ):
            _curve_append(self.curve, step=self.step_count, d=d, g=g)
        frame = {
            "step": self.step_count,
            "samples": [[round(a, 3), round(b, 3)] for a, b in samples.tolist()],
            "surface": _quantise(surface, 255),
            "arrows": [
                [round(x, 3), round(y, 3), round(dx, 4), round(dy, 4)]
                for (x, y), (dx, dy) in zip(fake.detach().tolist(), push.tolist())
            ],
            "curve": self.curve,
            "loss_name": "critic" if self.task.loss == "wgan_gp" else "discriminator",
        }
        if self.modes is not None and torch.isfinite(samples).all():
            frame["coverage"] = mode_coverage(samples, *self.modes)
        return frame

    def points(self) -> dict:
        shown = self.real[:1000].tolist()
        return {"extent": self.extent, "real": [[round(a, 3), round(b, 3)] for a, b in shown]}
