"""The perceptron against a 2-2-1 MLP on the logic gates: one line separates AND and OR but not
XOR or XNOR (Minsky & Papert, 1969, "Perceptrons"), while a hidden layer trained by
backpropagation maps XOR's corners to separable points (Rumelhart, Hinton & Williams, 1986,
"Learning representations by back-propagating errors"); with restarts, many seeds at once, and
the NumPy engine as a second witness."""

from dataclasses import dataclass
from typing import Literal

import torch

from dllab import data
from dllab.config import param
from dllab.engine.multiseed import train_seeds
from dllab.experiments.common import boundary_panel, grid_over
from dllab.experiments.registry import Claim, Reference, experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.experiments.unit1.shared import Engine, fit_scratch, scratch_accuracy, scratch_twin
from dllab.models import create_model
from dllab.report import plots


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
    tour={"num_epochs": 250, "restarts": 6},
    tour_seconds=13,
    references={"perceptron_xor_accuracy": Reference(0.75, "Minsky & Papert 1969 (at most 3/4)")},
    headline=("perceptron_xor_accuracy", "mlp_xor_accuracy"),
    claims=(
        Claim(
            "one line (the perceptron) separates AND and OR, not XOR or XNOR",
            lambda m: (
                min(m["perceptron_and_accuracy"], m["perceptron_or_accuracy"]) == 1
                and max(m["perceptron_xor_accuracy"], m["perceptron_xnor_accuracy"]) <= 0.75
            ),
        ),
        Claim(
            "a hidden layer solves both, from some starts: others get stuck",
            lambda m: (
                min(m["mlp_xor_accuracy"], m["mlp_xnor_accuracy"]) == 1
                and 0 < m["mlp_xor_solved_fraction"] + m["mlp_xnor_solved_fraction"] < 2
            ),
        ),
    ),
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
    curves = {"perceptron": {}}  # panel -> {label: Line} of training loss per epoch
    for gate in ("and", "or", "xor", "xnor"):
        table = data.load(gate)
        trainer, net, _ = _fit_gate(cfg, run, f"perceptron-{gate}", table, "perceptron")
        curves["perceptron"][gate.upper()] = _loss_line(trainer)
        accuracy = trainer.evaluate(table.test)["accuracy"]
        metrics[f"perceptron_{gate}_accuracy"] = accuracy
        if net is not None:
            metrics[f"scratch_perceptron_{gate}_accuracy"] = scratch_accuracy(net, table.test)
        panels.append(
            boundary_panel(
                trainer.predict,
                *table.train,
                f"perceptron, {gate.upper()}: accuracy {accuracy:.2f}",
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
        curves[f"2-{cfg.num_hiddens}-1 MLP, {gate.upper()}"] = _restart_lines(trainers, solved)
        best = min(trainers, key=lambda t: t.history.epochs[-1]["loss"])
        accuracy = best.evaluate(table.test)["accuracy"]
        metrics[f"mlp_{gate}_accuracy"] = accuracy
        metrics[f"mlp_{gate}_solved_fraction"] = sum(solved) / len(solved)
        if cfg.engine == "scratch":
            solved = [scratch_accuracy(net, table.test) == 1.0 for _, net, _ in fits]
            best_net = min(fits, key=lambda fit: fit[2][-1])[1]  # lowest final training loss
            metrics[f"scratch_mlp_{gate}_accuracy"] = scratch_accuracy(best_net, table.test)
            metrics[f"scratch_mlp_{gate}_solved_fraction"] = sum(solved) / len(solved)
        panels.append(
            boundary_panel(
                best.predict,
                *table.train,
                f"2-{cfg.num_hiddens}-1 MLP, {gate.upper()}: accuracy {accuracy:.2f}",
            )
        )
        if cfg.num_hiddens == 2:
            hidden_panels.append(_hidden_space_panel(best.model, *table.train, gate))
    plots.line_panels(
        curves,
        run.figure("training_curves"),
        "Training loss: the perceptron learns AND and OR only; the MLP solves XOR and XNOR "
        "from some starts and gets stuck from others",
        "epoch",
        "training loss (binary cross-entropy, nats)",
        sharey=True,
    )
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


def _loss_line(trainer) -> plots.Line:
    epochs = trainer.history.epochs
    return plots.Line([r["epoch"] for r in epochs], [r["loss"] for r in epochs])


def _restart_lines(trainers: list, solved: list[bool]) -> dict[str, plots.Line]:
    """One line per initialisation, coloured by outcome; one legend entry per outcome (the
    others' labels start with "_", which legends leave out)."""
    lines, named = {}, set()
    for i, (trainer, ok) in enumerate(zip(trainers, solved)):
        outcome = "solved" if ok else "stuck"
        label = outcome if outcome not in named else f"_{outcome}{i}"
        named.add(outcome)
        line = _loss_line(trainer)
        lines[label] = plots.Line(line.x, line.y, key=outcome)
    return lines


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
    net = scratch_twin(run, name, model) if cfg.engine == "scratch" else None
    trainer = run.trainer(name, model, optimizer="adam", lr=cfg.lr, loss="bce")
    run.fit(trainer, table.train, num_epochs=cfg.num_epochs, batch_size=None)
    losses = []
    if net is not None:
        num_rows = len(table.train[0])  # full batch
        losses = fit_scratch(run, name, net, table.train, "bce", cfg.num_epochs, num_rows, cfg.lr)
    return trainer, net, losses


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
