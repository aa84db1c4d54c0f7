"""Unit I experiments: feed-forward networks, their training and backpropagation."""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from dllab import data
from dllab.config import param
from dllab.engine import GradientNormMonitor
from dllab.experiments.common import boundary_panel, confusion_matrix, train_classifier
from dllab.experiments.registry import Reference, experiment
from dllab.experiments.runner import Run
from dllab.report import plots


@dataclass
class XorConfig:
    num_epochs: int = param(600, ge=1)  # full-batch epochs per network
    lr: float = param(0.1, gt=0)  # Adam learning rate
    num_hiddens: int = param(2, ge=1)  # hidden units of the MLP (the notes' 2-2-1 network: 2)
    activation: Literal["sigmoid", "tanh", "relu"] = "tanh"  # the MLP's hidden units
    restarts: int = param(8, ge=1)  # MLP initialisations per gate; about half get stuck


@experiment(
    "perceptron-xor",
    unit=1,
    title="Perceptron vs MLP on XOR and XNOR",
    topics=("perceptron vs MLP on XOR/XNOR",),
    config=XorConfig,
    quick={"num_epochs": 400, "restarts": 5},
    references={"perceptron_xor_accuracy": Reference(0.75, "Minsky & Papert 1969 (at most 3/4)")},
    implements=("dllab.models.mlp.perceptron", "dllab.models.mlp.xor_mlp"),
)
def perceptron_xor(cfg: XorConfig, run: Run) -> dict[str, float]:
    """A single-layer perceptron draws one straight line, so it learns AND and OR but not XOR or
    XNOR (Minsky & Papert, 1969). A 2-2-1 MLP trained by backpropagation solves both: its hidden
    layer maps the four corners to points that one line separates (Rumelhart et al., 1986).
    Gradient descent on so small a network gets stuck in a local minimum from about half of
    its random initialisations: each gate is trained from several, the one with the lowest
    training loss is kept, and the fraction that solved the gate is reported."""
    metrics, panels, hidden_panels = {}, [], []
    for gate in ("and", "or", "xor", "xnor"):
        table = data.load(gate)
        trainer = _fit_gate(cfg, run, f"perceptron-{gate}", table, "perceptron")
        accuracy = trainer.evaluate(table.test)["accuracy"]
        metrics[f"perceptron_{gate}_accuracy"] = accuracy
        panels.append(
            boundary_panel(
                trainer, *table.train, f"perceptron, {gate.upper()}: accuracy {accuracy:.2f}"
            )
        )
    for gate in ("xor", "xnor"):
        table = data.load(gate)
        trainers = [
            _fit_gate(
                cfg,
                run,
                f"mlp-{gate}-init{i}",
                table,
                "xor_mlp",
                num_hiddens=cfg.num_hiddens,
                activation=cfg.activation,
            )
            for i in range(cfg.restarts)
        ]
        solved = [t.evaluate(table.test)["accuracy"] == 1.0 for t in trainers]
        best = min(trainers, key=lambda t: t.history.epochs[-1]["loss"])
        accuracy = best.evaluate(table.test)["accuracy"]
        metrics[f"mlp_{gate}_accuracy"] = accuracy
        metrics[f"mlp_{gate}_solved_fraction"] = sum(solved) / len(solved)
        panels.append(
            boundary_panel(
                best,
                *table.train,
                f"2-{cfg.num_hiddens}-1 MLP, {gate.upper()}: accuracy {accuracy:.2f}",
            )
        )
        if cfg.num_hiddens == 2:
            hidden_panels.append(_hidden_space_panel(best.model, *table.train, gate))
    plots.decision_boundaries(
        panels,
        run.figure("decision_boundaries"),
        "Decision boundaries: one line (perceptron) vs an MLP",
    )
    if hidden_panels:
        plots.decision_boundaries(
            hidden_panels,
            run.figure("hidden_representation"),
            "The MLP's hidden layer h = f(W1 x + b1): XOR becomes linearly separable",
        )
    return metrics


def _fit_gate(cfg: XorConfig, run: Run, name: str, table, model_name: str, **kwargs):
    """Full-batch Adam on a truth table with the sigmoid cross-entropy loss."""
    model = run.model(name, model_name, **kwargs)
    trainer = run.trainer(name, model, optimizer="adam", lr=cfg.lr, loss="bce")
    run.fit(trainer, table.train, num_epochs=cfg.num_epochs, batch_size=None)
    return trainer


def _hidden_space_panel(model, X: torch.Tensor, y: torch.Tensor, gate: str) -> dict:
    """The four corners mapped to hidden space, with the output unit's line there."""
    layers = list(model.net)  # Flatten, Linear, activation, Linear
    hidden = torch.nn.Sequential(*layers[:3])
    output = layers[3]
    with torch.no_grad():
        H = hidden(X)  # (4, 2)
        xx, yy = np.meshgrid(np.linspace(-1.3, 1.3, 150), np.linspace(-1.3, 1.3, 150))
        grid = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
        probs = torch.sigmoid(output(grid))[:, 0].numpy()
    title = f"{gate.upper()}: the four corners in hidden space"
    return {"title": title, "xx": xx, "yy": yy, "probs": probs, "X": H.numpy(), "y": y.numpy()}


@dataclass
class OptimizersConfig:
    num_epochs: int = param(15, ge=1)  # epochs per optimizer
    per_sample_epochs: int = param(3, ge=1)  # per-sample SGD takes 1257 steps an epoch


# name -> (optimizer, lr, batch size: None = full batch, 1 = per sample)
OPTIMIZER_RUNS = {
    "full-batch GD": ("sgd", 0.5, None),
    "mini-batch SGD": ("sgd", 0.05, 32),
    "per-sample SGD": ("sgd", 0.01, 1),
    "momentum": ("momentum", 0.02, 32),
    "Nesterov": ("nesterov", 0.02, 32),
    "RMSProp": ("rmsprop", 1e-3, 32),
    "Adam": ("adam", 1e-3, 32),
}


@experiment(
    "optimizers",
    unit=1,
    title="Gradient descent and its variants on the digits MLP",
    topics=("SGD and its variants",),
    config=OptimizersConfig,
    quick={"num_epochs": 3, "per_sample_epochs": 1},
    implements=("dllab.engine.optim.make_optimizer",),
)
def optimizers(cfg: OptimizersConfig, run: Run) -> dict[str, float]:
    """Full-batch gradient descent, mini-batch and per-sample SGD, momentum, Nesterov, RMSProp
    and Adam train the same digits MLP from the same initialisation: training loss against
    optimizer steps and against wall-clock time."""
    digits = data.load("digits", flatten=True)
    metrics, by_step, by_time = {}, {}, {}
    for label, (name, lr, batch_size) in OPTIMIZER_RUNS.items():
        key = label.lower().replace(" ", "_").replace("-", "_")
        model = run.model("digits-mlp", "digits_mlp")  # the same initial weights for all
        epochs = cfg.per_sample_epochs if batch_size == 1 else cfg.num_epochs
        trainer, test = train_classifier(
            run,
            key,
            model,
            digits,
            num_epochs=epochs,
            batch_size=batch_size,
            optimizer=name,
            lr=lr,
        )
        steps = trainer.history.steps
        by_step[label] = ([r["step"] for r in steps], [r["loss"] for r in steps])
        epochs_done = trainer.history.epochs
        by_time[label] = ([r["time"] for r in epochs_done], [r["loss"] for r in epochs_done])
        metrics[f"test_accuracy_{key}"] = test["accuracy"]
        metrics[f"train_loss_{key}"] = epochs_done[-1]["loss"]
    plots.lines(
        by_step,
        run.figure("loss_vs_steps"),
        "Training loss against optimizer steps",
        "optimizer step",
        "training loss (cross-entropy)",
        log_x=True,
        log_y=True,
    )
    plots.lines(
        by_time,
        run.figure("loss_vs_time"),
        "Training loss against wall-clock time",
        "training time (s)",
        "epoch-mean training loss",
        log_y=True,
    )
    return metrics


@dataclass
class CapacityConfig:
    widths: tuple[int, ...] = param((1, 2, 4, 8, 16, 32, 64, 128, 256), ge=1)  # hidden units
    depths: tuple[int, ...] = param((1, 2, 4), ge=1)  # hidden layers
    num_train: int = param(80, ge=4)  # a small training set makes over-fitting visible
    noise: float = param(0.35, ge=0)  # Gaussian noise on the two moons
    num_epochs: int = param(1500, ge=1)  # full-batch Adam epochs, no regularisation


@experiment(
    "capacity",
    unit=1,
    title="Hidden units, depth and capacity: under- and over-fitting",
    topics=("hidden units and capacity", "architecture design"),
    config=CapacityConfig,
    quick={"widths": (1, 8, 128), "depths": (1, 2), "num_epochs": 300},
    implements=("dllab.models.mlp.MLP",),
)
def capacity(cfg: CapacityConfig, run: Run) -> dict[str, float]:
    """MLPs of growing width and depth fit a small noisy two-moons set: too few hidden units
    under-fit (high training and test error), many over-fit (training error near zero while test
    error rises): the capacity trade-off, with the train/test gap drawn against width."""
    moons = data.load("moons", n=cfg.num_train, n_test=2000, noise=cfg.noise)
    X, y = moons.train
    metrics, train_err, test_err, panels = {}, {}, {}, []
    for depth in cfg.depths:
        train_err[depth], test_err[depth] = [], []
        for width in cfg.widths:
            name = f"mlp-d{depth}-w{width}"
            model = run.model(
                name, "mlp", in_features=2, num_hiddens=(width,) * depth, num_outputs=2
            )
            trainer, test = train_classifier(
                run,
                name,
                model,
                moons,
                num_epochs=cfg.num_epochs,
                batch_size=None,
                optimizer="adam",
                lr=0.01,
                checkpoint=False,
            )
            train_acc = trainer.evaluate(moons.train)["accuracy"]
            train_err[depth].append(1 - train_acc)
            test_err[depth].append(1 - test["accuracy"])
            metrics[f"train_error_d{depth}_w{width}"] = 1 - train_acc
            metrics[f"test_error_d{depth}_w{width}"] = 1 - test["accuracy"]
            if depth == cfg.depths[-1]:
                panels.append(boundary_panel(trainer, X, y, f"{depth}x{width} hidden units"))
    series = {}
    for depth in cfg.depths:
        series[f"train, {depth} layer(s)"] = (list(cfg.widths), train_err[depth])
        series[f"test, {depth} layer(s)"] = (list(cfg.widths), test_err[depth])
    plots.lines(
        series,
        run.figure("error_vs_width"),
        f"Capacity: error against hidden units ({cfg.num_train} noisy training points)",
        "hidden units per layer",
        "classification error",
        log_x=True,
    )
    plots.decision_boundaries(
        panels, run.figure("boundaries_by_width"), "Decision boundaries from under- to over-fitting"
    )
    best = min(cfg.widths, key=lambda w: test_err[cfg.depths[0]][cfg.widths.index(w)])
    metrics["best_width_one_layer"] = best
    return metrics


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")


@dataclass
class ActivationsConfig:
    num_layers: int = param(8, ge=1)  # hidden layers of the deep MLP
    num_hiddens: int = param(64, ge=1)  # units per hidden layer
    num_epochs: int = param(20, ge=1)
    lr: float = param(0.05, gt=0)  # plain SGD, so that vanishing gradients show


@experiment(
    "activations",
    unit=1,
    title="Hidden-unit activations in a deep MLP: accuracy and gradient flow",
    topics=("hidden units and capacity", "deep feed-forward networks"),
    config=ActivationsConfig,
    quick={"num_epochs": 2, "num_layers": 6},
    implements=("dllab.nn.activation",),
)
def activations(cfg: ActivationsConfig, run: Run) -> dict[str, float]:
    """A deep MLP on the digits with sigmoid, tanh, ReLU, Leaky ReLU and ELU hidden units, trained
    by plain SGD: the per-layer gradient norms show sigmoid's gradient vanishing towards the
    input (its derivative is at most 1/4), while ReLU-like units keep it flowing."""
    digits = data.load("digits", flatten=True)
    metrics, per_layer, curves = {}, {}, {}
    for act in ACTIVATIONS:
        model = run.model(
            act, "mlp", num_hiddens=(cfg.num_hiddens,) * cfg.num_layers, activation=act
        )
        trainer, test = train_classifier(
            run,
            act,
            model,
            digits,
            num_epochs=cfg.num_epochs,
            batch_size=32,
            optimizer="sgd",
            lr=cfg.lr,
            callbacks=[GradientNormMonitor()],
        )
        first = trainer.history.epochs[0]
        norms = [v for k, v in first.items() if k.startswith("grad_norm/")]
        per_layer[act] = (list(range(1, len(norms) + 1)), norms)
        curves[act] = (
            [r["epoch"] for r in trainer.history.epochs],
            [r["val_accuracy"] for r in trainer.history.epochs],
        )
        metrics[f"test_accuracy_{act}"] = test["accuracy"]
        metrics[f"grad_ratio_first_last_{act}"] = norms[0] / norms[-1]
    plots.lines(
        per_layer,
        run.figure("gradient_norm_per_layer"),
        "Gradient norm per layer after the first epoch (layer 1 = input side)",
        "layer",
        "‖∂L/∂W‖ (L2)",
        log_y=True,
    )
    plots.lines(
        curves,
        run.figure("validation_accuracy"),
        "Validation accuracy by activation",
        "epoch",
        "validation accuracy",
    )
    return metrics


@dataclass
class ClassifierConfig:
    num_epochs: int = param(60, ge=1)
    batch_size: int = param(64, ge=1)
    lr: float = param(2e-3, gt=0)  # Adam, cosine schedule
    dropout: float = param(0.1, ge=0, lt=1)


def _mlp_classifier(cfg: ClassifierConfig, run: Run, dataset: str, model_name: str) -> dict:
    """Train a registered MLP on a dataset; confusion matrix and test accuracy."""
    ds = data.load(dataset, flatten=True)
    kwargs = {"dropout": cfg.dropout} if model_name == "digits_mlp" else {}
    model = run.model(model_name, model_name, **kwargs)
    trainer, test = train_classifier(
        run,
        model_name,
        model,
        ds,
        num_epochs=cfg.num_epochs,
        batch_size=cfg.batch_size,
        optimizer="adam",
        lr=cfg.lr,
        schedule="cosine",
    )
    X_test, y_test = ds.test
    y_pred = trainer.predict(X_test).argmax(-1)
    counts = confusion_matrix(y_test, y_pred, ds.num_classes)
    plots.heatmap(
        counts,
        run.figure("confusion_matrix"),
        f"{dataset} test set: confusion matrix (accuracy {test['accuracy']:.3f})",
        "predicted class",
        "true class",
        "test samples",
    )
    return {"test_accuracy": test["accuracy"], "test_loss": test["loss"]}


@experiment(
    "digits-mlp",
    unit=1,
    title="A deep feed-forward classifier on the 8x8 digits",
    topics=("deep feed-forward networks",),
    config=ClassifierConfig,
    quick={"num_epochs": 5},
    implements=("dllab.models.mlp.digits_mlp",),
)
def digits_mlp(cfg: ClassifierConfig, run: Run) -> dict[str, float]:
    """A 64-128-64-10 ReLU network on scikit-learn's real handwritten 8x8 digits."""
    return _mlp_classifier(cfg, run, "digits", "digits_mlp")


@experiment(
    "mnist1d-mlp",
    unit=1,
    title="The MNIST-1D MLP baseline",
    topics=("deep feed-forward networks",),
    config=ClassifierConfig,
    quick={"num_epochs": 3},
    references={"test_accuracy": Reference(0.68, "Greydanus 2020, MNIST-1D MLP")},
    implements=("dllab.models.mlp.mnist1d_mlp",),
)
def mnist1d_mlp(cfg: ClassifierConfig, run: Run) -> dict[str, float]:
    """The MNIST-1D paper's 40-100-100-10 MLP (Greydanus, 2020, "Scaling down deep learning")."""
    return _mlp_classifier(cfg, run, "mnist1d", "mnist1d_mlp")


@dataclass
class BackpropConfig:
    x1: float = 1.0  # the input (an XOR corner)
    x2: float = 0.0
    target: float = 1.0  # XOR(1, 0)
    lr: float = param(0.5, gt=0)  # one gradient-descent step


# The 2-2-1 sigmoid network's starting weights, small and asymmetric so every number differs.
BACKPROP_WEIGHTS = {
    "W1": [[0.15, 0.20], [0.25, 0.30]],  # (hidden, input)
    "b1": [0.35, 0.35],
    "w2": [0.40, 0.45],  # (hidden,)
    "b2": [0.60],
}


def chain_rule(x: torch.Tensor, y: torch.Tensor, p: dict[str, torch.Tensor]) -> tuple[dict, dict]:
    """Forward and backward pass of a 2-2-1 sigmoid network with L = ½(ŷ - y)², by hand.

    Returns:
        (values of the forward pass, gradients dL/dθ for every parameter θ).
    """
    z1 = p["W1"] @ x + p["b1"]  # (2,) hidden pre-activations
    h = torch.sigmoid(z1)
    z2 = p["w2"] @ h + p["b2"]  # (1,)
    y_hat = torch.sigmoid(z2)
    loss = 0.5 * ((y_hat - y) ** 2).sum()
    dy_hat = y_hat - y  # dL/dŷ
    dz2 = dy_hat * y_hat * (1 - y_hat)  # σ'(z) = σ(z)(1 - σ(z))
    dh = dz2 * p["w2"]  # dL/dh = dL/dz2 · w2
    dz1 = dh * h * (1 - h)
    grads = {"W1": torch.outer(dz1, x), "b1": dz1, "w2": dz2 * h, "b2": dz2}
    values = {
        "z1": z1,
        "h": h,
        "z2": z2,
        "y_hat": y_hat,
        "loss": loss,
        "dL/dy_hat": dy_hat,
        "dL/dz2": dz2,
        "dL/dh": dh,
        "dL/dz1": dz1,
    }
    return values, grads


@experiment(
    "backprop",
    unit=1,
    title="Backpropagation by hand: the chain rule on a 2-2-1 network",
    topics=("backpropagation",),
    config=BackpropConfig,
    quick={},
    implements=("dllab.experiments.unit1.chain_rule",),
)
def backprop(cfg: BackpropConfig, run: Run) -> dict[str, float]:
    """One forward pass of a 2-2-1 sigmoid network, the squared-error loss, every gradient by the
    chain rule (Rumelhart, Hinton & Williams, 1986) checked against PyTorch autograd, and one
    gradient-descent step that lowers the loss. The steps are written to backprop.txt."""
    x = torch.tensor([cfg.x1, cfg.x2], dtype=torch.float64)
    y = torch.tensor([cfg.target], dtype=torch.float64)
    params = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for k, v in BACKPROP_WEIGHTS.items()
    }
    values, grads = chain_rule(x, y, {k: v.detach() for k, v in params.items()})
    autograd_loss = chain_rule(x, y, params)[0]["loss"]
    autograd_loss.backward()
    errors = {k: (grads[k] - params[k].grad).abs().max().item() for k in params}
    updated = {k: (v.detach() - cfg.lr * grads[k]) for k, v in params.items()}
    loss_after = chain_rule(x, y, updated)[0]["loss"].item()
    lines = ["Forward pass"] + [f"  {k} = {v.tolist()}" for k, v in values.items()]
    lines += ["Gradients: chain rule | autograd | |difference|"]
    lines += [
        f"  dL/d{k} = {grads[k].tolist()} | {params[k].grad.tolist()} | {errors[k]:.2e}"
        for k in params
    ]
    lines += [
        f"Update θ <- θ - {cfg.lr} dL/dθ: loss {values['loss'].item():.6f} -> {loss_after:.6f}"
    ]
    (run.folder / "backprop.txt").write_text("\n".join(lines) + "\n")
    _draw_backprop(run, x, y, values, params, grads, loss_after)
    flat_hand = torch.cat([grads[k].reshape(-1) for k in params]).numpy()
    flat_auto = torch.cat([params[k].grad.reshape(-1) for k in params]).numpy()
    names = [f"{k}[{i}]" for k in params for i in range(params[k].numel())]
    plots.grouped_bars(
        {"chain rule": flat_hand, "autograd": flat_auto},
        names,
        run.figure("gradients"),
        "Every gradient: chain rule vs autograd",
        "dL/dθ",
    )
    return {
        "loss_before": values["loss"].item(),
        "loss_after": loss_after,
        "max_abs_error_vs_autograd": max(errors.values()),
    }


def _draw_backprop(run: Run, x, y, values: dict, params: dict, grads: dict, loss_after) -> None:
    """The 2-2-1 network with every activation, weight and gradient written on it."""
    W1, w2 = params["W1"].detach(), params["w2"].detach()
    h, y_hat, dz1, dz2 = values["h"], values["y_hat"], values["dL/dz1"], values["dL/dz2"]
    layers = [
        [f"$x_{i + 1}$ = {x[i]:.2f}" for i in range(2)],
        [f"$h_{j + 1}$ = {h[j]:.3f}\n∂L/∂$z_{j + 1}$ = {dz1[j]:.3g}" for j in range(2)],
        [f"$\\hat y$ = {y_hat[0]:.3f}\ny = {y[0]:.0f}\n∂L/∂z = {dz2[0]:.3g}"],
    ]
    edges = [
        (0, i, j, f"w={W1[j, i]:.2f}\n∂={grads['W1'][j, i]:.3g}")
        for i in range(2)
        for j in range(2)
    ]
    edges += [(1, j, 0, f"w={w2[j]:.2f}\n∂={grads['w2'][j]:.3g}") for j in range(2)]
    title = (
        f"Backpropagation on a 2-2-1 network: L = ½(ŷ - y)² = {values['loss'].item():.4f}, "
        f"{loss_after:.4f} after one step"
    )
    plots.network_diagram(
        layers,
        edges,
        run.figure("network"),
        title,
        layer_names=("input x", "hidden h = σ(W1 x + b1)", "output ŷ = σ(w2·h + b2)"),
    )
