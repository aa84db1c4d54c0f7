"""Long-range memory: the adding problem and the copy task, tanh RNN vs LSTM vs GRU as the
sequence length T grows (Hochreiter & Schmidhuber 1997, §5.4; Arjovsky et al. 2016, §4.1)."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from dllab import data
from dllab.config import param
from dllab.engine import Callback, ClipNorm
from dllab.experiments.common import train_classifier
from dllab.experiments.registry import Claim, Reference, experiment
from dllab.experiments.runner import Run
from dllab.experiments.unit3.shared import ADDING_BASELINE, CELL_NAMES, Cell
from dllab.nn.recurrent import chrono_init_
from dllab.report import plots


def _steps_to_solve(steps: list[dict], threshold: float, window: int = 20) -> int | None:
    """The first optimizer step at which the running mean of the last `window` training losses
    falls below `threshold`, or None if it never does."""
    losses = np.array([s["loss"] for s in steps])
    if len(losses) < window:
        return None
    means = np.convolve(losses, np.ones(window) / window, mode="valid")  # (len - window + 1,)
    below = np.flatnonzero(means < threshold)
    return int(steps[below[0] + window - 1]["step"]) if len(below) else None


@dataclass
class MemoryConfig:
    T: int = param(100, ge=2)  # the sequence length whose numbers are the metrics
    sweep: tuple[int, ...] = param(  # further lengths for the figure
        (50, 100, 200, 400), ge=2, allow_empty=True
    )
    cells: tuple[Cell, ...] = ("rnn", "lstm", "gru")  # rnn = Elman's tanh RNN
    num_hiddens: int = param(64, ge=1)  # hidden units of every cell
    lstm_init: Literal["torch", "chrono"] = "chrono"  # chrono: forget-gate biases ~ log U(1, T)
    num_train: int = param(10_000, ge=1)  # training sequences
    num_test: int = param(1_000, ge=1)  # test sequences
    num_epochs: int = param(20, ge=1)  # at most this many passes over the training sequences
    batch_size: int = param(64, ge=1)  # sequences per step
    lr: float = param(1e-2, gt=0)  # Adam learning rate (at 2e-3 the LSTM's plateau is longer)
    clip: float = param(1.0, gt=0)  # gradient-norm clipping threshold (Pascanu et al. 2013)
    solved_below: float = param(0.01, gt=0)  # "solved": running training loss below this
    stop_when_solved: bool = True  # end a cell's training after an epoch with mean loss below it
    time_budget_s: float | None = param(None, gt=0)  # per cell and T; None: num_epochs only
    hs97_every: int = param(100, ge=1)  # steps between checks of the 1997 criterion (adding)
    stop_when_hs97: bool = False  # end a cell's training once the 1997 criterion is met (adding)


@dataclass
class CopyConfig(MemoryConfig):
    sweep: tuple[int, ...] = param(  # further lengths for the figure
        (50, 100, 200), ge=2, allow_empty=True
    )
    num_hiddens: int = param(128, ge=1)  # hidden units of every cell
    num_epochs: int = param(50, ge=1)  # at most this many passes over the training sequences
    lr: float = param(1e-2, gt=0)  # Adam learning rate (2e-3 stayed at the baseline at T = 50)
    copy_len: int = param(10, ge=1)  # K symbols to remember
    num_symbols: int = param(8, ge=1)  # S symbols to choose from


MEMORY_QUICK = {
    "T": 20,
    "sweep": (),
    "num_hiddens": 32,
    "num_train": 2_000,
    "num_test": 500,
    "num_epochs": 8,
    "batch_size": 32,
    "lr": 1e-2,
}


HS97_TOLERANCE = 0.04  # a sum counts as right within this (Hochreiter & Schmidhuber 1997, Exp. 4)


class Hs97Criterion(Callback):
    """Hochreiter & Schmidhuber's (1997, Experiment 4) criterion on the adding problem: every
    one of a set of held-out sequences answered within 0.04 of its sum. Checked every `every`
    steps; `sequences` is the number of training sequences seen when it was first met (None if
    never), to set beside the 74k / 209k / 853k their LSTM needed at T = 100 / 500 / 1000.
    With `stop`, training ends once it is met."""

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        every: int = 100,
        stop: bool = False,
    ):
        self.X, self.y, self.batch_size, self.every, self.stop = X, y, batch_size, every, stop
        self.sequences: int | None = None

    def on_step_end(self, trainer, record: dict) -> None:
        # all within 0.04 needs a mean squared error far below 1e-3: check only from there
        due = trainer.step % self.every == 0 and record["loss"] < 1e-3
        if self.sequences is None and due:
            training = trainer.model.training
            right = hs97_correct(trainer.predict(self.X), self.y)
            trainer.model.train(training)
            if right == 1.0:
                self.sequences = trainer.step * self.batch_size
                trainer.stop_training |= self.stop

    def state_dict(self) -> dict:
        return {"sequences": self.sequences}

    def load_state_dict(self, state: dict) -> None:
        self.sequences = state["sequences"]


def hs97_correct(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of sums answered within 0.04 (y_hat, y: (N,) or (N, 1))."""
    return ((y_hat.reshape(-1) - y.reshape(-1)).abs() < HS97_TOLERANCE).float().mean().item()


class SolvedOrOutOfTime(Callback):
    """Stop after the first epoch whose mean training loss is below `threshold` (if given), or
    before an epoch that would end past `budget_s` seconds of training (if given)."""

    def __init__(self, threshold: float | None, budget_s: float | None):
        self.threshold, self.budget_s = threshold, budget_s

    def on_epoch_end(self, trainer, record: dict) -> None:
        solved = self.threshold is not None and record["loss"] < self.threshold
        per_epoch = record["time"] / record["epoch"]
        late = self.budget_s is not None and record["time"] + per_epoch > self.budget_s
        trainer.stop_training |= solved or late


def _memory_sweep(cfg: MemoryConfig, run: Run, task: str) -> dict[str, dict[int, dict]]:
    """Train every cell at every length: {cell: {T: {"test": metrics, "steps": n or None}}}."""
    results: dict[str, dict[int, dict]] = {cell: {} for cell in cfg.cells}
    threshold = cfg.solved_below if cfg.stop_when_solved else None
    for T in sorted({cfg.T, *cfg.sweep}):
        if task == "adding":
            ds = data.load("adding", n=cfg.num_train, n_test=cfg.num_test, T=T)
            shape = {"input_size": 2, "num_outputs": 1}
            loss, metrics = "mse", ()
        else:
            ds = data.load(
                "copy",
                n=cfg.num_train,
                n_test=cfg.num_test,
                T=T,
                copy_len=cfg.copy_len,
                num_symbols=cfg.num_symbols,
            )
            shape = {"input_size": cfg.num_symbols + 2, "num_outputs": cfg.num_symbols + 1}
            shape["pattern"] = "many-to-many"
            loss, metrics = "cross_entropy", ("accuracy",)
        for cell in cfg.cells:
            name = f"{cell}-T{T}"
            model = run.model(name, cell, num_hiddens=cfg.num_hiddens, **shape)
            if cell == "lstm" and cfg.lstm_init == "chrono":
                chrono_init_(model.rnn, T)
            watch = []
            if task == "adding":  # the 1997 criterion on the first 2000 test sequences
                X_check, y_check = (t[:2000] for t in ds.test)
                watch.append(
                    Hs97Criterion(
                        X_check, y_check, cfg.batch_size, cfg.hs97_every, cfg.stop_when_hs97
                    )
                )
            trainer, test = train_classifier(
                run,
                name,
                model,
                ds,
                num_epochs=cfg.num_epochs,
                batch_size=cfg.batch_size,
                lr=cfg.lr,
                loss=loss,
                metrics=metrics,
                grad_clip=ClipNorm(cfg.clip),
                callbacks=[SolvedOrOutOfTime(threshold, cfg.time_budget_s), *watch],
            )
            if task == "adding":
                test["hs97_correct"] = hs97_correct(trainer.predict(ds.test[0]), ds.test[1])
                test["hs97_sequences"] = watch[0].sequences
            if task == "copy":  # accuracy on the K recalled symbols only
                X, y = ds.test
                recalled = trainer.predict(X)[:, -cfg.copy_len :].argmax(-1)  # (N, K)
                test["recall_accuracy"] = (recalled == y[:, -cfg.copy_len :]).float().mean().item()
            steps = _steps_to_solve(trainer.history.steps, cfg.solved_below)
            results[cell][T] = {
                "test": test,
                "steps": steps,
                "history": trainer.history.steps,
                "time": trainer.history.epochs[-1]["time"],
                "num_steps": trainer.step,
            }
    return results


def _memory_metrics(cfg: MemoryConfig, results: dict, out: str) -> dict[str, float]:
    """The test loss per cell as `out`_<cell> at cfg.T, suffixed _T<T> at the other lengths;
    training time and steps to solve at cfg.T."""
    metrics = {}
    for cell, by_T in results.items():
        for T, result in by_T.items():
            suffix = "" if T == cfg.T else f"_T{T}"
            metrics[f"{out}_{cell}{suffix}"] = result["test"]["loss"]
            if "recall_accuracy" in result["test"]:
                metrics[f"recall_accuracy_{cell}{suffix}"] = result["test"]["recall_accuracy"]
            if "hs97_correct" in result["test"]:
                metrics[f"hs97_correct_{cell}{suffix}"] = result["test"]["hs97_correct"]
            if result["test"].get("hs97_sequences") is not None:
                metrics[f"hs97_sequences_{cell}{suffix}"] = result["test"]["hs97_sequences"]
            if T == cfg.T:
                metrics[f"train_time_s_{cell}"] = result["time"]
                metrics[f"train_steps_{cell}"] = result["num_steps"]
            if T == cfg.T and result["steps"] is not None:
                metrics[f"steps_to_solve_{cell}"] = result["steps"]
    return metrics


def _draw_memory(
    cfg: MemoryConfig, run: Run, results: dict, ylabel: str, baseline: Callable, title: str
) -> None:
    """Test metric against T per cell (with the baseline), and training loss at cfg.T."""
    if len({cfg.T, *cfg.sweep}) > 1:
        lengths = sorted({cfg.T, *cfg.sweep})
        series = {
            CELL_NAMES[c]: (lengths, [results[c][T]["test"]["loss"] for T in lengths])
            for c in results
        }
        series["trivial baseline"] = (lengths, [baseline(T) for T in lengths])
        plots.lines(
            series,
            run.figure("test_loss_vs_length"),
            f"{title}: test {ylabel} against sequence length",
            "sequence length T (steps)",
            f"test {ylabel}",
            log_x=True,
            log_y=True,
        )
    curves = {
        CELL_NAMES[c]: (
            [s["step"] for s in results[c][cfg.T]["history"]],
            [s["loss"] for s in results[c][cfg.T]["history"]],
        )
        for c in results
    }
    solved = {CELL_NAMES[c]: results[c][cfg.T]["steps"] is not None for c in results}
    learned = " and ".join(name for name, ok in solved.items() if ok) or "no cell"
    stuck = " and ".join(name for name, ok in solved.items() if not ok)
    lesson = f"{learned} learn{'s' * (' and ' not in learned)} it"
    if stuck and learned != "no cell":
        lesson += f"; the {stuck} stay{'s' * (' and ' not in stuck)} at the baseline"
    only = "" if len({cfg.T, *cfg.sweep}) > 1 else " (one length; the full run sweeps T)"
    plots.lines(
        curves,
        run.figure(f"training_loss_T{cfg.T}"),
        f"{title} at T = {cfg.T}{only}: {lesson}",
        "optimizer step",
        f"training {ylabel}",
        log_y=True,
        hline=(baseline(cfg.T), "trivial baseline"),
    )


@experiment(
    "adding-problem",
    unit=3,
    title="The adding problem: tanh RNN vs LSTM vs GRU as T grows",
    topics=("LSTM", "GRU", "sequence tasks", "gradient clipping", "BPTT"),
    config=MemoryConfig,
    quick=MEMORY_QUICK,
    tour={"T": 50, "num_hiddens": 64, "num_train": 5000, "batch_size": 64},
    tour_seconds=28,
    references={
        "baseline_mse": Reference(ADDING_BASELINE, "always answering 1 (Le et al. 2015, §4.1)"),
    },
    headline=("test_mse_rnn", "test_mse_lstm", "test_mse_gru"),
    claims=(
        Claim(
            "the LSTM and the GRU learn the sum: test MSE under a tenth of the baseline's",
            lambda m: max(m["test_mse_lstm"], m["test_mse_gru"]) < ADDING_BASELINE / 10,
        ),
        Claim(
            "the tanh RNN does not: its test MSE stays near the baseline's",
            lambda m: m["test_mse_rnn"] > 0.8 * ADDING_BASELINE,
        ),
    ),
)
def adding_problem(cfg: MemoryConfig, run: Run) -> dict[str, float]:
    """Two of T random numbers are marked; the net must output their sum after the last step
    (Hochreiter & Schmidhuber 1997, §5.4; Le et al. 2015, §4.1). Always answering 1 scores MSE
    1/6 ≈ 0.167. The tanh RNN's gradient through T steps of tanh' · W_hh vanishes, so it stays
    near the baseline as T grows, while the LSTM's additive cell state and the GRU's
    interpolating update carry the marked numbers (and their gradients) across hundreds of
    steps. Beside the MSE, Hochreiter & Schmidhuber's criterion (1997, Experiment 4, Table 7):
    `hs97_correct_<cell>` is the fraction of test sequences answered within 0.04 (their LSTM
    missed 1, 0 and 1 of 2,560 at T = 100, 500, 1000), `hs97_sequences_<cell>` the training
    sequences seen when the first 2,000 test sequences were all within it (theirs: 74k, 209k,
    853k; `stop_when_hs97` ends a cell's training with the epoch in which it is met). Every
    cell trains with Adam and gradient-norm clipping, for `num_epochs` at most
    (`time_budget_s` can cap the seconds), and stops after the first epoch whose mean training
    MSE is below `solved_below`; `steps_to_solve_<cell>` is the first step whose 20-step running
    training MSE is below it, `train_steps_<cell>` the steps taken. The LSTM starts from the
    chrono initialisation (Tallec & Ollivier 2018), forget gates that keep their cells for
    1 to T steps, without which it sits at the baseline for thousands of steps at T = 200."""
    results = _memory_sweep(cfg, run, "adding")
    metrics = _memory_metrics(cfg, results, "test_mse")
    metrics["baseline_mse"] = ADDING_BASELINE
    _draw_memory(cfg, run, results, "MSE", lambda T: ADDING_BASELINE, "Adding problem")
    return metrics


def _copy_baseline(cfg: CopyConfig) -> Callable[[int], float]:
    # Forgetting the symbols but knowing where they go: K·ln(S) nats over T + 2K steps.
    return lambda T: cfg.copy_len * math.log(cfg.num_symbols) / (T + 2 * cfg.copy_len)


@experiment(
    "copy-task",
    unit=3,
    title="The copy task: remember K symbols across T blank steps",
    topics=("LSTM", "GRU", "sequence tasks", "BPTT"),
    config=CopyConfig,
    quick={**MEMORY_QUICK, "copy_len": 3, "num_symbols": 4, "num_epochs": 10},
    headline=("recall_accuracy_rnn", "recall_accuracy_lstm", "recall_accuracy_gru"),
)
def copy_task(cfg: CopyConfig, run: Run) -> dict[str, float]:
    """K symbols, T - 1 blanks, a delimiter, then the net must write the K symbols back
    (Arjovsky et al. 2016, §4.1), tagged step by step (many-to-many). A net that forgets the
    symbols but outputs blanks in the right places scores K·ln(S)/(T + 2K) nats per step, the
    baseline; `recall_accuracy_<cell>` is the accuracy on the K recalled symbols (1/S by
    chance)."""
    results = _memory_sweep(cfg, run, "copy")
    baseline = _copy_baseline(cfg)
    metrics = _memory_metrics(cfg, results, "test_loss")
    metrics["baseline_loss"] = baseline(cfg.T)
    metrics["chance_recall_accuracy"] = 1 / cfg.num_symbols
    _draw_memory(cfg, run, results, "cross-entropy (nats/step)", baseline, "Copy task")
    return metrics
