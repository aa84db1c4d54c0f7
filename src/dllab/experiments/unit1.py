"""Unit I experiments: feed-forward networks, their training and backpropagation."""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from dllab import data, scratch
from dllab.config import param
from dllab.engine import GradientNormMonitor, Trainer
from dllab.engine.multiseed import train_seeds
from dllab.experiments.common import (
    boundary_panel,
    confusion_matrix,
    grid_over,
    train_classifier,
)
from dllab.experiments.registry import Reference, experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.models import create_model
from dllab.nn import init_for_activation_
from dllab.report import plots

# torch: the PyTorch engine; scratch: also the NumPy engine `dllab.scratch`, from the same
# initial weights with the same optimizer and batches of the same size, reporting both
Engine = Literal["torch", "scratch"]


@dataclass
class XorConfig:
    num_epochs: int = param(600, ge=1)  # full-batch epochs per network
    lr: float = param(0.1, gt=0)  # Adam learning rate
    num_hiddens: int = param(2, ge=1)  # hidden units of the MLP (the notes' 2-2-1 network: 2)
    activation: Literal["sigmoid", "tanh", "relu"] = "tanh"  # the MLP's hidden units
    restarts: int = param(8, ge=1)  # MLP initialisations per gate; about half get stuck
    engine: Engine = "torch"  # scratch: train every network in dllab.scratch as well
    seeds: int = param(0, ge=0)  # > 0: also train this many XOR MLPs at once (vectorised)


@experiment(
    "perceptron-xor",
    unit=1,
    title="Perceptron vs MLP on XOR and XNOR",
    topics=("perceptron vs MLP on XOR/XNOR",),
    config=XorConfig,
    quick={"num_epochs": 400, "restarts": 5},
    references={"perceptron_xor_accuracy": Reference(0.75, "Minsky & Papert 1969 (at most 3/4)")},
    implements=("dllab.models.mlp.perceptron", "dllab.models.mlp.xor_mlp"),
    headline=("perceptron_xor_accuracy", "mlp_xor_accuracy"),
)
def perceptron_xor(cfg: XorConfig, run: Run) -> dict[str, float]:
    """A single-layer perceptron draws one straight line, so it learns AND and OR but not XOR or
    XNOR (Minsky & Papert, 1969). A 2-2-1 MLP trained by backpropagation solves both: its hidden
    layer maps the four corners to points that one line separates (Rumelhart et al., 1986).
    Gradient descent on so small a network gets stuck in a local minimum from about half of
    its random initialisations: each gate is trained from several, the one with the lowest
    training loss is kept, and the fraction that solved the gate is reported. With
    `engine=scratch` the same networks also train in the NumPy engine from the same initial
    weights, and every accuracy is reported for both engines (`scratch_...`)."""
    metrics, panels, hidden_panels = {}, [], []
    for gate in ("and", "or", "xor", "xnor"):
        table = data.load(gate)
        trainer, net, _ = _fit_gate(cfg, run, f"perceptron-{gate}", table, "perceptron")
        accuracy = trainer.evaluate(table.test)["accuracy"]
        metrics[f"perceptron_{gate}_accuracy"] = accuracy
        if net is not None:
            metrics[f"scratch_perceptron_{gate}_accuracy"] = _scratch_accuracy(net, table.test)
        panels.append(
            boundary_panel(
                trainer, *table.train, f"perceptron, {gate.upper()}: accuracy {accuracy:.2f}"
            )
        )
    for gate in ("xor", "xnor"):
        table = data.load(gate)
        fits = [
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
        trainers = [trainer for trainer, _, _ in fits]
        solved = [t.evaluate(table.test)["accuracy"] == 1.0 for t in trainers]
        best = min(trainers, key=lambda t: t.history.epochs[-1]["loss"])
        accuracy = best.evaluate(table.test)["accuracy"]
        metrics[f"mlp_{gate}_accuracy"] = accuracy
        metrics[f"mlp_{gate}_solved_fraction"] = sum(solved) / len(solved)
        if cfg.engine == "scratch":
            solved = [_scratch_accuracy(net, table.test) == 1.0 for _, net, _ in fits]
            best_net = min(fits, key=lambda fit: fit[2][-1])[1]  # lowest final training loss
            metrics[f"scratch_mlp_{gate}_accuracy"] = _scratch_accuracy(best_net, table.test)
            metrics[f"scratch_mlp_{gate}_solved_fraction"] = sum(solved) / len(solved)
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
            xlabel="hidden unit $h_1$",
            ylabel="hidden unit $h_2$",
        )
    if cfg.engine == "scratch":
        _draw_engines(run, metrics)
    if cfg.seeds:
        metrics.update(_many_seeds(cfg, run))
    return metrics


def _many_seeds(cfg: XorConfig, run: Run) -> dict[str, float]:
    """`cfg.seeds` XOR MLPs trained in one vectorised pass: how many solve it, and when —
    the notes' "stuck in a local minimum" made measurable."""
    result = train_seeds(
        lambda: create_model("xor_mlp", num_hiddens=cfg.num_hiddens, activation=cfg.activation),
        [derive_seed(run.seed, f"mlp-xor-seed{i}") for i in range(cfg.seeds)],
        data.load("xor").train,
        loss="bce",
        optimizer="adam",
        lr=cfg.lr,
        num_epochs=cfg.num_epochs,
        device=run.device,
    )
    solved = result.epochs_to_solve[result.solved]
    what = f"{cfg.seeds} XOR networks (2-{cfg.num_hiddens}-1, {cfg.activation})"
    plots.histograms(
        {f"solved: {len(solved)} of {cfg.seeds}": solved.numpy()},
        run.figure("epochs_to_solve"),
        f"{what}: epochs until all four corners are right",
        "epochs to solve (full-batch Adam)",
        bins=30,
    )
    final = result.loss[-1]  # (seeds,)
    plots.histograms(
        {
            "solved": final[result.solved].numpy(),
            "stuck (never 4/4)": final[~result.solved].numpy(),
        },
        run.figure("final_loss_by_seed"),
        f"{what}: training loss after {cfg.num_epochs} epochs",
        "final cross-entropy loss (nats)",
        bins=30,
    )
    median = float(solved.float().median()) if len(solved) else float(cfg.num_epochs)
    return {
        "mlp_xor_seeds_solved_fraction": result.solved_fraction,
        "mlp_xor_epochs_to_solve_median": median,
    }


def _fit_gate(cfg: XorConfig, run: Run, name: str, table, model_name: str, **kwargs):
    """Full-batch Adam on a truth table with the sigmoid cross-entropy loss.

    Returns:
        The trainer; with engine=scratch also the NumPy twin trained the same way from the same
        initial weights and its epoch losses (else None and []).
    """
    model = run.model(name, model_name, **kwargs)
    net = _scratch_twin(run, name, model) if cfg.engine == "scratch" else None
    trainer = run.trainer(name, model, optimizer="adam", lr=cfg.lr, loss="bce")
    run.fit(trainer, table.train, num_epochs=cfg.num_epochs, batch_size=None)
    losses = []
    if net is not None:
        num_rows = len(table.train[0])  # full batch
        losses = _fit_scratch(run, name, net, table.train, "bce", cfg.num_epochs, num_rows, cfg.lr)
    return trainer, net, losses


def _scratch_twin(run: Run, name: str, model: torch.nn.Module) -> scratch.Sequential:
    """The NumPy engine's copy of `model` as built, before either engine trains."""
    return scratch.from_torch(model, rng=np.random.default_rng(derive_seed(run.seed, name)))


def _fit_scratch(
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


def _scratch_accuracy(net: scratch.Sequential, test: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Test accuracy of the NumPy twin: argmax of the logits, or logit > 0 for one output."""
    X, y = test
    logits = scratch.predict(net, X.double().numpy())  # (N, C)
    y_pred = logits.argmax(1) if logits.shape[1] > 1 else (logits[:, 0] > 0).astype(np.int64)
    return float((y_pred == y.numpy()).mean())


def _draw_engines(run: Run, metrics: dict[str, float]) -> None:
    """Every accuracy measured in both engines, side by side."""
    keys = [k for k in metrics if f"scratch_{k}" in metrics]
    plots.grouped_bars(
        {
            "PyTorch engine": [metrics[k] for k in keys],
            "scratch engine (NumPy)": [metrics[f"scratch_{k}"] for k in keys],
        },
        [k.removesuffix("_accuracy").replace("_", " ") for k in keys],
        run.figure("engines"),
        "The same networks from the same initial weights in both engines",
        "test accuracy, or fraction of initialisations solved",
    )


def _hidden_space_panel(model, X: torch.Tensor, y: torch.Tensor, gate: str) -> dict:
    """The four corners mapped to hidden space, with the output unit's line there."""
    layers = list(model.net)  # Flatten, Linear, activation, Linear
    hidden = torch.nn.Sequential(*layers[:3])
    output = layers[3]
    with torch.no_grad():
        H = hidden(X)  # (4, 2)
        tanh_range = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])  # corners of hidden space
        xx, yy, grid = grid_over(tanh_range, resolution=150, margin=0.3)
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
    headline=("test_accuracy_full_batch_gd", "test_accuracy_adam"),
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
    headline=("train_error_d1_w128", "test_error_d1_w128"),
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
    init: Literal["matched", "torch"] = "matched"  # He for ReLU-like, Glorot for sigmoid/tanh


@experiment(
    "activations",
    unit=1,
    title="Hidden-unit activations in a deep MLP: accuracy and gradient flow",
    topics=("hidden units and capacity", "deep feed-forward networks"),
    config=ActivationsConfig,
    quick={"num_epochs": 4, "num_layers": 6},
    headline=("test_accuracy_sigmoid", "test_accuracy_relu"),
    implements=("dllab.nn.activation",),
)
def activations(cfg: ActivationsConfig, run: Run) -> dict[str, float]:
    """A deep MLP on the digits with sigmoid, tanh, ReLU, Leaky ReLU and ELU hidden units, trained
    by plain SGD: the per-layer gradient norms show sigmoid's gradient vanishing towards the
    input (its derivative is at most 1/4), while ReLU-like units keep it flowing. Each net starts
    from the initialisation made for its activation (`init=torch` shows what torch's default
    does to a deep net)."""
    digits = data.load("digits", flatten=True)
    metrics, per_layer, curves = {}, {}, {}
    for act in ACTIVATIONS:
        model = run.model(
            act, "mlp", num_hiddens=(cfg.num_hiddens,) * cfg.num_layers, activation=act
        )
        if cfg.init == "matched":
            init_for_activation_(model, act)
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
    engine: Engine = "torch"  # scratch: train the same MLP in dllab.scratch as well


def _mlp_classifier(cfg: ClassifierConfig, run: Run, dataset: str, model_name: str) -> dict:
    """Train a registered MLP on a dataset; confusion matrix and test accuracy."""
    ds = data.load(dataset, flatten=True)
    kwargs = {"dropout": cfg.dropout} if model_name == "digits_mlp" else {}
    model = run.model(model_name, model_name, **kwargs)
    twin = _scratch_twin(run, model_name, model) if cfg.engine == "scratch" else None
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
    metrics = {"test_accuracy": test["accuracy"], "test_loss": test["loss"]}
    if twin is not None:
        metrics.update(_scratch_classifier(cfg, run, model_name, twin, trainer, ds))
    return metrics


def _scratch_classifier(
    cfg: ClassifierConfig, run: Run, name: str, twin, trainer: Trainer, ds: data.Dataset
) -> dict[str, float]:
    """Train the NumPy twin as the trainer trained the model: Adam, the same batch size and the
    trainer's own learning-rate schedule; its test accuracy, and both engines' loss curves."""
    multiplier = trainer.scheduler.lr_lambdas[0]  # the trainer's cosine schedule (a LambdaLR)
    losses = _fit_scratch(
        run,
        name,
        twin,
        ds.train,
        "cross_entropy",
        cfg.num_epochs,
        cfg.batch_size,
        cfg.lr,
        lr_schedule=lambda step: cfg.lr * multiplier(step),
    )
    epochs = trainer.history.epochs
    plots.lines(
        {
            "PyTorch engine": ([r["epoch"] for r in epochs], [r["loss"] for r in epochs]),
            "scratch engine (NumPy)": (list(range(1, len(losses) + 1)), losses),
        },
        run.figure("engines_loss"),
        "The same MLP from the same initial weights in both engines",
        "epoch",
        "training loss (cross-entropy, epoch mean)",
        log_y=True,
    )
    return {
        "scratch_test_accuracy": _scratch_accuracy(twin, ds.test),
        "scratch_train_loss": losses[-1],
        "train_loss": epochs[-1]["loss"],
    }


@experiment(
    "digits-mlp",
    unit=1,
    title="A deep feed-forward classifier on the 8x8 digits",
    topics=("deep feed-forward networks",),
    config=ClassifierConfig,
    quick={"num_epochs": 15},
    implements=("dllab.models.mlp.digits_mlp",),
)
def digits_mlp(cfg: ClassifierConfig, run: Run) -> dict[str, float]:
    """A 64-128-64-10 ReLU network on scikit-learn's real handwritten 8x8 digits. With
    `engine=scratch` the same network, from the same initial weights, also trains in the NumPy
    engine `dllab.scratch` (hand-written backward passes) and both test accuracies are reported."""
    return _mlp_classifier(cfg, run, "digits", "digits_mlp")


@experiment(
    "mnist1d-mlp",
    unit=1,
    title="The MNIST-1D MLP baseline",
    topics=("deep feed-forward networks",),
    config=ClassifierConfig,
    quick={"num_epochs": 25},
    references={"test_accuracy": Reference(0.68, "Greydanus 2020, MNIST-1D MLP")},
    implements=("dllab.models.mlp.mnist1d_mlp",),
)
def mnist1d_mlp(cfg: ClassifierConfig, run: Run) -> dict[str, float]:
    """The MNIST-1D paper's 40-100-100-10 MLP (Greydanus, 2020, "Scaling down deep learning")."""
    return _mlp_classifier(cfg, run, "mnist1d", "mnist1d_mlp")
