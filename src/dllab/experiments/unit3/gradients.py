"""Gradients through time: vanishing (Bengio et al. 1994) and exploding (Pascanu et al. 2013)
gradients made visible, and gradient clipping."""

import math
from dataclasses import dataclass

import numpy as np
import torch

from dllab import data
from dllab.config import param
from dllab.engine import ClipNorm, ClipValue
from dllab.engine.tasks import Supervised
from dllab.errors import DivergenceError
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.experiments.unit3.shared import ADDING_BASELINE
from dllab.models.rnn import HiddenGradients
from dllab.report import plots


@dataclass
class VanishingConfig:
    T: int = param(50, ge=2)  # adding-problem length for the heat maps
    num_hiddens: int = param(64, ge=1)  # hidden units of every cell
    num_train: int = param(5_000, ge=1)  # training sequences
    num_epochs: int = param(6, ge=1)  # epochs per cell
    batch_size: int = param(50, ge=1)  # sequences per step
    lr: float = param(1e-2, gt=0)  # Adam learning rate (at 5e-3 the LSTM's plateau is longer)
    record_every: int = param(10, ge=1)  # record ||dL/dh_t|| every this many steps
    explode_T: int = param(100, ge=2)  # sequence length of the exploding case
    explode_hiddens: int = param(32, ge=1)  # hidden units of the exploding IRNN
    explode_lr: float = param(1e-3, gt=0)  # SGD learning rate of the exploding case
    explode_epochs: int = param(5, ge=1)  # epochs of the exploding case
    clip: float = param(1.0, gt=0)  # gradient-norm threshold that tames it
    clip_value: float = param(0.01, gt=0)  # elementwise threshold of clipping by value


RATIO_FLOOR = 1e-10  # ratios below this are drawn at it: one colour scale for every cell

# label -> (cell, nonlinearity)
GRADIENT_CELLS = {
    "tanh RNN": ("rnn", "tanh"),
    "ReLU RNN": ("rnn", "relu"),
    "LSTM": ("lstm", "tanh"),
    "GRU": ("gru", "tanh"),
}


def _key(label: str) -> str:
    """The metric suffix of a cell: rnn_tanh, rnn_relu, lstm, gru."""
    return "_".join(reversed(label.lower().split())) if " " in label else label.lower()


@experiment(
    "vanishing-gradients",
    unit=3,
    title="Gradients through time: vanishing, exploding, and clipping",
    topics=("vanishing and exploding gradients", "gradient clipping", "BPTT", "LSTM", "GRU"),
    config=VanishingConfig,
    quick={
        "T": 30,
        "num_hiddens": 16,
        "num_train": 1_000,
        "num_epochs": 2,
        "record_every": 2,
        "explode_epochs": 2,
    },
    tour={
        "num_hiddens": 64,
        "num_train": 4000,
        "num_epochs": 4,
        "record_every": 10,
        "explode_epochs": 5,
    },
    tour_seconds=36,
    headline=("log10_grad_ratio_trained_rnn_tanh", "log10_grad_ratio_trained_lstm"),
    claims=(
        Claim(
            "the gated cells learn the task: LSTM and GRU beat the 0.167 baseline",
            lambda m: max(m["test_mse_lstm"], m["test_mse_gru"]) < 0.5 * ADDING_BASELINE,
        ),
        Claim(
            "the tanh RNN does not learn it: its test MSE stays at the baseline",
            lambda m: m["test_mse_rnn_tanh"] > 0.9 * ADDING_BASELINE,
        ),
        Claim(
            "after training, the gradient reaching t = 1 is 100x larger in the gated cells",
            lambda m: (
                min(m["log10_grad_ratio_trained_lstm"], m["log10_grad_ratio_trained_gru"])
                > m["log10_grad_ratio_trained_rnn_tanh"] + 2
            ),
        ),
        Claim(
            "without clipping SGD diverges; with the norm clipped it falls to the baseline",
            lambda m: (
                m["diverged_without_clipping"] == 1
                and m["diverged_with_clipping"] == 0
                and m["test_mse_with_clipping"] < 1.25 * ADDING_BASELINE
            ),
        ),
    ),
)
def vanishing_gradients(cfg: VanishingConfig, run: Run) -> dict[str, float]:
    """BPTT made visible. On the adding problem the loss depends on the last hidden state
    only, so dL/dh_t for t < T is the gradient carried back through T - t steps:
    dL/dh_t = dL/dh_T · Π_k ∂h_k/∂h_{k-1} (Bengio et al. 1994; Pascanu et al. 2013). The
    explicit cells record ||dL/dh_t|| at every step t during training: heat maps with t across
    and the training step up. At initialisation every cell's product of Jacobians shrinks
    geometrically (the gradient vanishes before it reaches the first marked number). Training
    can open a gated cell's direct path — ∂h_t/∂h_{t-1} ≈ z_t for the GRU, ∂c_t/∂c_{t-1} = f_t
    for the LSTM — and when a cell learns the task its heat map lights up back to t = 1; the
    tanh and ReLU RNNs have no such path. `log10_grad_ratio_<cell>` is
    log10(||dL/dh_1|| / ||dL/dh_T||) at the first step, `..._trained_<cell>` at the last.

    The exploding case: an IRNN (ReLU RNN with W_hh = I, Le et al. 2015) trained by plain SGD.
    Without clipping the first gradient is so large that one step sends the weights to
    overflow and the engine's divergence guard stops training (recorded as
    `diverged_without_clipping` and the step); with the gradient norm clipped to `clip`
    (Pascanu et al. 2013, Algorithm 1) the same run trains stably, and so it does with every
    gradient element clipped to ±`clip_value` (`..._clip_by_value`), which bounds the step but
    also changes its direction. The gradient norm before clipping is logged at every step."""
    ds = data.load("adding", n=cfg.num_train, n_test=500, T=cfg.T)
    metrics, maps, first, last = {}, {}, {}, {}
    t = np.arange(1, cfg.T + 1)
    for label, (cell, nonlinearity) in GRADIENT_CELLS.items():
        key = _key(label)
        model = run.model(
            key, cell, num_hiddens=cfg.num_hiddens, nonlinearity=nonlinearity, fused=False
        )
        task = HiddenGradients(Supervised("mse", ()), every=cfg.record_every)
        trainer = run.trainer(key, model, lr=cfg.lr, loss=task, grad_clip=ClipNorm(cfg.clip))
        run.fit(trainer, ds.train, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
        steps = [s for s, _ in task.records]
        norms = torch.stack([n for _, n in task.records]).numpy()  # (records, T)
        relative = np.maximum(norms / norms[:, -1:], RATIO_FLOOR)  # ||dL/dh_t|| / ||dL/dh_T||
        test_mse = trainer.evaluate(ds.test)["loss"]
        maps[f"{label} (test MSE {test_mse:.3f})"] = (relative, t, steps)
        first[label], last[label] = (t, relative[0]), (t, relative[-1])
        metrics[f"log10_grad_ratio_{key}"] = float(np.log10(relative[0, 0]))
        metrics[f"log10_grad_ratio_trained_{key}"] = float(np.log10(relative[-1, 0]))
        metrics[f"test_mse_{key}"] = test_mse
    plots.heatmap_grid(
        maps,
        run.figure("grad_heatmaps"),
        f"Gradient reaching step t of the adding problem (T = {cfg.T}): it vanishes in the "
        "RNNs; the trained LSTM and GRU carry it back",
        "time step t (the loss is read after step T)",
        "training step",
        f"||dL/dh_t|| / ||dL/dh_T||  (log; below {RATIO_FLOOR:g} drawn at it)",
    )
    plots.line_panels(
        {"at initialisation": first, "after training": last},
        run.figure("grad_vs_time"),
        f"Gradient reaching step t (T = {cfg.T}): training opens the gated cells' path",
        "time step t",
        "||dL/dh_t|| / ||dL/dh_T||",
        log_y=True,
        sharey=True,
    )
    metrics.update(_exploding(cfg, run))
    return metrics


# key -> (label, clipping); ClipNorm(inf) only measures the norm, it never rescales
def _clippings(cfg: VanishingConfig) -> dict[str, tuple[str, ClipNorm | ClipValue]]:
    return {
        "without_clipping": ("without clipping", ClipNorm(math.inf)),
        "with_clipping": (f"norm clipped at {cfg.clip:g}", ClipNorm(cfg.clip)),
        "clip_by_value": (f"values clipped at ±{cfg.clip_value:g}", ClipValue(cfg.clip_value)),
    }


def _exploding(cfg: VanishingConfig, run: Run) -> dict[str, float]:
    """An IRNN under SGD without clipping, with its gradient norm clipped, and with every
    gradient element clipped; the loss and the pre-clip gradient norm per step of each.

    Clipping by norm (Pascanu et al. 2013, Algorithm 1) shortens g and keeps its direction:
    g <- g · min(1, c / ||g||). Clipping by value clamps each element, g_i <- clamp(g_i, -v, v)
    (Mikolov 2012, §3.2.2): it bounds the step too (||g|| <= v·sqrt(#params)) but turns it
    toward the sign vector of g. `clipped_fraction[_by_value]` is the share of steps changed.
    """
    ds = data.load("adding", n=cfg.num_train, n_test=500, T=cfg.explode_T, seed=1)
    metrics, losses, norms, diverged = {}, {}, {}, {}
    for key, (label, clipping) in _clippings(cfg).items():
        model = run.model("irnn", "rnn", num_hiddens=cfg.explode_hiddens, nonlinearity="relu")
        with torch.no_grad():  # IRNN (Le et al. 2015): identity recurrence, zero recurrent bias
            model.rnn.weight_hh_l0.copy_(torch.eye(cfg.explode_hiddens))
            model.rnn.bias_hh_l0.zero_()
        trainer = run.trainer(
            f"irnn-{key}", model, optimizer="sgd", lr=cfg.explode_lr, loss="mse", grad_clip=clipping
        )
        try:
            run.fit(trainer, ds.train, num_epochs=cfg.explode_epochs, batch_size=cfg.batch_size)
            metrics[f"diverged_{key}"] = 0
            metrics[f"test_mse_{key}"] = trainer.evaluate(ds.test)["loss"]
            metrics[f"initial_loss_{key}"] = trainer.history.steps[0]["loss"]
        except DivergenceError:
            metrics[f"diverged_{key}"] = 1
            metrics[f"divergence_step_{key}"] = trainer.step + 1
            diverged[label] = trainer.step + 1
        steps = trainer.history.steps
        losses[label] = ([s["step"] for s in steps], [s["loss"] for s in steps])
        norms[label] = ([s["step"] for s in steps], [s["grad_norm"] for s in steps])
        if steps:
            metrics[f"max_grad_norm_{key}"] = max(s["grad_norm"] for s in steps)
        if key != "without_clipping":
            clipped = float(np.mean([s["clip_factor"] < 1 for s in steps])) if steps else 0.0
            metrics["clipped_fraction" + ("_by_value" if key == "clip_by_value" else "")] = clipped
    plots.line_panels(
        {"training loss": losses, "gradient norm before clipping": norms},
        run.figure("exploding"),
        f"IRNN on the adding problem (T = {cfg.explode_T}), plain SGD: unclipped, one step "
        "overflows; clipped, the loss falls to the baseline and stays finite",
        "optimizer step",
        ("training MSE", "||∇θ L||₂ before clipping"),
        log_y=True,
        hlines={
            "training loss": (ADDING_BASELINE, "baseline: always answer 1"),
            "gradient norm before clipping": (cfg.clip, "norm-clipping threshold"),
        },
        diverged=diverged,
    )
    return metrics
