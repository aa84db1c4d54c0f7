"""Unit III experiments: recurrent networks, BPTT and truncated BPTT, vanishing and exploding
gradients and clipping, LSTM, GRU and bidirectional RNNs on sequence tasks."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from dllab import data
from dllab.config import param
from dllab.data.imdb import LABELS
from dllab.engine import ClipNorm
from dllab.engine.sequence import HiddenGradients, TeacherForcing, TruncatedBPTT, stream_chunks
from dllab.engine.tasks import Supervised
from dllab.errors import ConfigError, DivergenceError
from dllab.experiments.common import train_classifier
from dllab.experiments.registry import Reference, experiment
from dllab.experiments.runner import Run
from dllab.report import plots

Cell = Literal["rnn", "lstm", "gru"]
CELL_NAMES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}


def _steps_to_solve(steps: list[dict], threshold: float, window: int = 20) -> int | None:
    """The first optimizer step at which the running mean of the last `window` training losses
    falls below `threshold`, or None if it never does."""
    losses = np.array([s["loss"] for s in steps])
    if len(losses) < window:
        return None
    means = np.convolve(losses, np.ones(window) / window, mode="valid")  # (len - window + 1,)
    below = np.flatnonzero(means < threshold)
    return int(steps[below[0] + window - 1]["step"]) if len(below) else None


# ---- long-range memory: the adding problem and the copy task ---------------------------------


@dataclass
class MemoryConfig:
    T: int = param(100, ge=2)  # the sequence length whose numbers are the metrics
    sweep: tuple[int, ...] = param((50, 100, 200, 400), ge=2)  # further lengths for the figure
    cells: tuple[Cell, ...] = ("rnn", "lstm", "gru")  # rnn = Elman's tanh RNN
    num_hiddens: int = param(128, ge=1)  # hidden units of every cell
    num_train: int = param(10_000, ge=1)  # training sequences
    num_test: int = param(1_000, ge=1)  # test sequences
    num_epochs: int = param(10, ge=1)  # passes over the training sequences
    batch_size: int = param(64, ge=1)  # sequences per step
    lr: float = param(2e-3, gt=0)  # Adam learning rate
    clip: float = param(1.0, gt=0)  # gradient-norm clipping threshold (Pascanu et al. 2013)
    solved_below: float = param(0.01, gt=0)  # "solved": running training loss below this


@dataclass
class CopyConfig(MemoryConfig):
    sweep: tuple[int, ...] = param((50, 100, 200), ge=2)  # further lengths for the figure
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


def _memory_sweep(cfg: MemoryConfig, run: Run, task: str) -> dict[str, dict[int, dict]]:
    """Train every cell at every length: {cell: {T: {"test": metrics, "steps": n or None}}}."""
    results: dict[str, dict[int, dict]] = {cell: {} for cell in cfg.cells}
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
            )
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
            if T == cfg.T:
                metrics[f"train_time_s_{cell}"] = result["time"]
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
    plots.lines(
        curves,
        run.figure(f"training_loss_T{cfg.T}"),
        f"{title} at T = {cfg.T}: training loss per step",
        "optimizer step",
        f"training {ylabel}",
        log_y=True,
        hline=(baseline(cfg.T), "trivial baseline"),
    )


ADDING_BASELINE = 1 / 6  # Var(U1 + U2) = 2/12: the MSE of always answering 1


@experiment(
    "adding-problem",
    unit=3,
    title="The adding problem: tanh RNN vs LSTM vs GRU as T grows",
    topics=("LSTM", "GRU", "sequence tasks", "gradient clipping", "BPTT"),
    config=MemoryConfig,
    quick=MEMORY_QUICK,
    references={
        "baseline_mse": Reference(ADDING_BASELINE, "always answering 1 (Le et al. 2015, §4.1)"),
    },
    implements=("dllab.models.rnn.RecurrentNet", "dllab.data.sequences.adding"),
)
def adding_problem(cfg: MemoryConfig, run: Run) -> dict[str, float]:
    """Two of T random numbers are marked; the net must output their sum after the last step
    (Hochreiter & Schmidhuber 1997, §5.4; Le et al. 2015, §4.1). Always answering 1 scores MSE
    1/6 ≈ 0.167. The tanh RNN's gradient through T steps of tanh' · W_hh vanishes, so it stays
    near the baseline as T grows, while the LSTM's additive cell state and the GRU's
    interpolating update carry the marked numbers (and their gradients) across hundreds of
    steps. Every cell trains with Adam and gradient-norm clipping; `steps_to_solve_<cell>` is
    the first step whose 20-step running training MSE is below `solved_below`."""
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
    implements=("dllab.models.rnn.RecurrentNet", "dllab.data.sequences.copy"),
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


# ---- vanishing and exploding gradients -----------------------------------------------------


@dataclass
class VanishingConfig:
    T: int = param(50, ge=2)  # adding-problem length for the heat maps
    num_hiddens: int = param(64, ge=1)  # hidden units of every cell
    num_train: int = param(5_000, ge=1)  # training sequences
    num_epochs: int = param(6, ge=1)  # epochs per cell
    batch_size: int = param(50, ge=1)  # sequences per step
    lr: float = param(5e-3, gt=0)  # Adam learning rate
    record_every: int = param(10, ge=1)  # record ||dL/dh_t|| every this many steps
    explode_T: int = param(100, ge=2)  # sequence length of the exploding case
    explode_hiddens: int = param(32, ge=1)  # hidden units of the exploding IRNN
    explode_lr: float = param(1e-3, gt=0)  # SGD learning rate of the exploding case
    explode_epochs: int = param(3, ge=1)  # epochs of the exploding case
    clip: float = param(1.0, gt=0)  # gradient-norm threshold that tames it


# label -> (cell, nonlinearity)
GRADIENT_CELLS = {
    "RNN tanh": ("rnn", "tanh"),
    "RNN ReLU": ("rnn", "relu"),
    "LSTM": ("lstm", "tanh"),
    "GRU": ("gru", "tanh"),
}


def _key(label: str) -> str:
    return label.lower().replace(" ", "_")


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
    implements=(
        "dllab.nn.recurrent.ExplicitRecurrent",
        "dllab.engine.sequence.HiddenGradients",
        "dllab.engine.optim.ClipNorm",
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
    (Pascanu et al. 2013, Algorithm 1) the same run trains stably."""
    ds = data.load("adding", n=cfg.num_train, n_test=500, T=cfg.T)
    metrics, first, last = {}, {}, {}
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
        relative = norms / norms[:, -1:]  # ||dL/dh_t|| / ||dL/dh_T||
        plots.heatmap(
            np.maximum(relative, 1e-30),
            run.figure(f"grad_heatmap_{key}"),
            f"{label}: gradient through time on the adding problem",
            "time step t (the loss is read after step T)",
            "training step",
            "||dL/dh_t|| / ||dL/dh_T||  (log scale)",
            log=True,
            x=np.arange(1, cfg.T + 1),
            y=steps,
        )
        t = np.arange(1, cfg.T + 1)
        first[label] = (t, np.maximum(relative[0], 1e-30))
        last[label] = (t, np.maximum(relative[-1], 1e-30))
        metrics[f"log10_grad_ratio_{key}"] = float(np.log10(max(relative[0, 0], 1e-30)))
        metrics[f"log10_grad_ratio_trained_{key}"] = float(np.log10(max(relative[-1, 0], 1e-30)))
        metrics[f"test_mse_{key}"] = trainer.evaluate(ds.test)["loss"]
    for when, series in (("initialisation", first), ("end of training", last)):
        plots.lines(
            series,
            run.figure(f"grad_vs_time_{when.split()[0]}"),
            f"Gradient reaching step t, at {when} (T = {cfg.T})",
            "time step t",
            "||dL/dh_t|| / ||dL/dh_T||",
            log_y=True,
        )
    metrics.update(_exploding(cfg, run))
    return metrics


def _exploding(cfg: VanishingConfig, run: Run) -> dict[str, float]:
    """An IRNN under SGD without and with gradient-norm clipping; the loss and gradient norm
    per step of both (ClipNorm(inf) only measures the norm, it never rescales)."""
    ds = data.load("adding", n=cfg.num_train, n_test=500, T=cfg.explode_T, seed=1)
    metrics, losses, norms = {}, {}, {}
    for label, max_norm in (("without clipping", math.inf), (f"clipped at {cfg.clip}", cfg.clip)):
        key = "without_clipping" if max_norm == math.inf else "with_clipping"
        model = run.model("irnn", "rnn", num_hiddens=cfg.explode_hiddens, nonlinearity="relu")
        with torch.no_grad():  # IRNN (Le et al. 2015): identity recurrence, zero recurrent bias
            model.rnn.weight_hh_l0.copy_(torch.eye(cfg.explode_hiddens))
            model.rnn.bias_hh_l0.zero_()
        trainer = run.trainer(
            f"irnn-{key}",
            model,
            optimizer="sgd",
            lr=cfg.explode_lr,
            loss="mse",
            grad_clip=ClipNorm(max_norm),
        )
        try:
            run.fit(trainer, ds.train, num_epochs=cfg.explode_epochs, batch_size=cfg.batch_size)
            metrics[f"diverged_{key}"] = 0
            metrics[f"test_mse_{key}"] = trainer.evaluate(ds.test)["loss"]
            metrics[f"initial_loss_{key}"] = trainer.history.steps[0]["loss"]
        except DivergenceError:
            metrics[f"diverged_{key}"] = 1
            metrics[f"divergence_step_{key}"] = trainer.step + 1
            label += f" (NaN/inf at step {trainer.step + 1}: stopped)"
        steps = trainer.history.steps
        losses[label] = ([s["step"] for s in steps], [s["loss"] for s in steps])
        norms[label] = ([s["step"] for s in steps], [s["grad_norm"] for s in steps])
        if steps:
            metrics[f"max_grad_norm_{key}"] = max(s["grad_norm"] for s in steps)
        if max_norm != math.inf:
            metrics["clipped_fraction"] = float(np.mean([s["clip_factor"] < 1 for s in steps]))
    title = f"IRNN, adding problem T = {cfg.explode_T}, SGD"
    plots.lines(
        losses,
        run.figure("exploding_loss"),
        f"{title}: training loss",
        "optimizer step",
        "training MSE",
        log_y=True,
        hline=(ADDING_BASELINE, "trivial baseline"),
    )
    plots.lines(
        norms,
        run.figure("exploding_grad_norm"),
        f"{title}: gradient norm before clipping",
        "optimizer step",
        "||∇θ L||₂ (before clipping)",
        log_y=True,
        hline=(cfg.clip, "clipping threshold"),
    )
    return metrics


# ---- MNIST-1D as sequences -----------------------------------------------------------------


class RandomShift(Supervised):
    """Classification with each training signal rolled by a random offset in
    [-max_shift, max_shift] values (a translation; MNIST-1D's digits are already randomly
    placed). The roll acts on the signal read as one row, (B, T*D), so a sequence of patches
    (D values per step) moves by single values, not whole patches."""

    def __init__(self, max_shift: int):
        super().__init__("cross_entropy", ("accuracy",))
        self.max_shift = max_shift

    def compute(self, model, batch):
        X, y = batch
        if model.training and self.max_shift > 0:
            signal = X.flatten(1)  # (B, T*D)
            L = signal.shape[1]
            shift = torch.randint(-self.max_shift, self.max_shift + 1, (len(X), 1), device=X.device)
            index = (torch.arange(L, device=X.device)[None] - shift) % L  # (B, T*D)
            X = signal.gather(1, index).view_as(X)  # (B, T, D)
        return super().compute(model, (X, y))


@dataclass
class Mnist1dGruConfig:
    num_hiddens: int = param(192, ge=1)  # GRU hidden units
    patch: int = param(1, ge=1)  # values read per step (divides 40): T = 40 / patch steps
    bidirectional: bool = False  # read the signal both ways
    num_epochs: int = param(30, ge=1)  # passes over the 4000 training signals
    batch_size: int = param(32, ge=1)  # signals per step
    lr: float = param(4e-3, gt=0)  # AdamW peak learning rate (one-cycle schedule)
    max_shift: int = param(4, ge=0)  # augmentation: random roll by up to this many values


@experiment(
    "mnist1d-gru",
    unit=3,
    title="MNIST-1D read as a sequence by a GRU",
    topics=("GRU", "sequence tasks"),
    config=Mnist1dGruConfig,
    quick={"num_hiddens": 64, "num_epochs": 4, "batch_size": 64},
    references={"test_accuracy": Reference(0.91, "Greydanus 2020, MNIST-1D, GRU baseline")},
    implements=("dllab.models.rnn.gru",),
)
def mnist1d_gru(cfg: Mnist1dGruConfig, run: Run) -> dict[str, float]:
    """Each MNIST-1D signal, 40 numbers, is read `patch` numbers per step (X (N, 40 / patch,
    patch)) and the digit is classified from the GRU's last hidden state (many-to-one). The
    paper's GRU (6 units, bidirectional) scores 91%; a wide GRU trained with a one-cycle
    schedule and random shifts of the training signals goes well past it."""
    ds = data.load("mnist1d")
    length = ds.train[0].shape[-1]  # 40
    if length % cfg.patch:
        raise ConfigError(f"patch={cfg.patch} must divide the signal length {length}")
    steps = length // cfg.patch
    as_sequence = [(X.reshape(len(X), steps, cfg.patch), y) for X, y in (ds.train, ds.test)]
    model = run.model(
        "gru",
        "gru",
        input_size=cfg.patch,
        num_hiddens=cfg.num_hiddens,
        num_outputs=10,
        bidirectional=cfg.bidirectional,
    )
    trainer = run.trainer(
        "gru",
        model,
        optimizer="adamw",
        lr=cfg.lr,
        schedule="onecycle",
        loss=RandomShift(cfg.max_shift),
    )
    run.fit(trainer, as_sequence[0], num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
    X_test, y_test = as_sequence[1]
    predicted = trainer.predict(X_test).argmax(-1)
    accuracy = (predicted == y_test).float().mean().item()
    per_digit = {str(d): (predicted[y_test == d] == d).float().mean().item() for d in range(10)}
    plots.bars(
        per_digit,
        run.figure("accuracy_per_digit"),
        f"GRU ({cfg.num_hiddens} units) on MNIST-1D: test accuracy per digit",
        "test accuracy",
        reference=(0.91, "published GRU (91%)"),
    )
    return {"test_accuracy": accuracy, "train_time_s": trainer.history.epochs[-1]["time"]}


# ---- character-level language model with truncated BPTT ------------------------------------


@dataclass
class CharData:
    path: str | None = None  # a UTF-8 text file; None: the Python standard library's source
    max_chars: int = param(1_000_000, ge=1_000)  # characters read


@dataclass
class CharLMConfig:
    data: CharData = field(default_factory=CharData)
    cell: Literal["lstm", "gru"] = "lstm"  # the recurrent cell
    num_hiddens: int = param(256, ge=1)  # hidden units
    embed_size: int = param(32, ge=1)  # character embedding size
    batch_size: int = param(32, ge=1)  # parallel streams
    bptt: int = param(64, ge=1)  # k: steps of backpropagation through time per chunk
    num_epochs: int = param(4, ge=1)  # passes over the training text
    lr: float = param(2e-3, gt=0)  # Adam learning rate
    clip: float = param(1.0, gt=0)  # gradient-norm clipping
    temperatures: tuple[float, ...] = param((0.5, 0.8, 1.0), gt=0)  # for the samples
    sample_len: int = param(400, ge=1)  # characters per sample


@experiment(
    "char-lm",
    unit=3,
    title="A character-level language model trained by truncated BPTT",
    topics=("BPTT", "LSTM", "sequence tasks", "gradient clipping"),
    config=CharLMConfig,
    quick={
        "data": {"max_chars": 30_000},
        "num_hiddens": 64,
        "batch_size": 8,
        "bptt": 32,
        "num_epochs": 2,
        "lr": 5e-3,
        "sample_len": 80,
    },
    implements=("dllab.engine.sequence.TruncatedBPTT", "dllab.models.rnn.char_lstm"),
)
def char_lm(cfg: CharLMConfig, run: Run) -> dict[str, float]:
    """Next-character prediction on a long text (default: Python standard-library source) cut
    into `batch_size` parallel streams. Truncated BPTT (Williams & Peng 1990): the hidden state
    is carried across consecutive chunks of `bptt` characters but the graph is cut between
    them, so each update backpropagates at most `bptt` steps while the forward pass remembers
    further. Held-out bits per character (cross-entropy / ln 2) against a unigram model that
    knows only the character frequencies; samples at several temperatures are written to
    samples.txt in the run folder."""
    corpus = data.load_corpus(cfg.data.path, cfg.data.max_chars)
    vocab_size = len(corpus.vocab)
    train, val, test = (
        stream_chunks(s, cfg.batch_size, cfg.bptt) for s in (corpus.train, corpus.val, corpus.test)
    )
    model = run.model(
        cfg.cell,
        f"char_{cfg.cell}",
        vocab_size=vocab_size,
        num_hiddens=cfg.num_hiddens,
        input_size=cfg.embed_size,
    )
    trainer = run.trainer(
        cfg.cell, model, lr=cfg.lr, loss=TruncatedBPTT(), grad_clip=ClipNorm(cfg.clip)
    )
    run.fit(trainer, train, val_data=val, num_epochs=cfg.num_epochs, batch_size=1, shuffle=False)
    test = trainer.evaluate(test)
    test_bpc = test["loss"] / math.log(2)  # bits = nats / ln 2
    counts = torch.bincount(corpus.train, minlength=vocab_size).double() + 1  # add-one smoothing
    unigram_bpc = -torch.log2(counts / counts.sum())[corpus.test].mean().item()
    prime = corpus.test[:40]
    samples = sample_text(trainer.model, prime, cfg.temperatures, cfg.sample_len, run.seed)
    lines = [f"Primed with {corpus.decode(prime)!r}\n"]
    for temperature, ids in zip(cfg.temperatures, samples):
        lines.append(f"\n===== temperature {temperature:g} =====\n{corpus.decode(ids)}\n")
    (run.folder / "samples.txt").write_text("".join(lines), encoding="utf-8")
    val_bpc = {
        f"{cfg.cell.upper()}, validation": (
            [e["epoch"] for e in trainer.history.epochs],
            [e["val_loss"] / math.log(2) for e in trainer.history.epochs],
        )
    }
    plots.lines(
        val_bpc,
        run.figure("validation_bpc"),
        f"Character LM ({vocab_size} characters): held-out bits per character",
        "epoch",
        "bits per character",
        hline=(unigram_bpc, "unigram baseline"),
    )
    plots.bars(
        {"unigram": unigram_bpc, cfg.cell.upper(): test_bpc},
        run.figure("test_bpc"),
        "Test bits per character (lower is better)",
        "bits per character",
    )
    return {
        "test_bpc": test_bpc,
        "unigram_bpc": unigram_bpc,
        "test_accuracy": test["accuracy"],
        "vocab_size": vocab_size,
    }


@torch.no_grad()
def sample_text(model, prime: torch.Tensor, temperatures, length: int, seed: int) -> torch.Tensor:
    """One continuation of `prime` (L,) per temperature, sampled together: (len(temps), length).

    p(next) = softmax(logits / temperature): below 1 sharper (safer), above 1 flatter.
    """
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    temps = torch.tensor(temperatures, device=device)[:, None]  # (S, 1)
    x = prime.to(device)[None].expand(len(temperatures), -1)  # (S, L)
    state, out = None, []
    for _ in range(length):
        logits, state = model(x, state, return_state=True)  # (S, t, V)
        probs = torch.softmax(logits[:, -1] / temps, dim=-1).cpu()  # (S, V)
        x = torch.multinomial(probs, 1, generator=generator).to(device)  # (S, 1)
        out.append(x.cpu())
    return torch.cat(out, dim=1)


# ---- bidirectional tagging -----------------------------------------------------------------


@dataclass
class TagData:
    max_chars: int = param(200_000, ge=1_000)  # characters of standard-library source
    T: int = param(128, ge=2)  # characters per window


@dataclass
class BidirectionalConfig:
    data: TagData = field(default_factory=TagData)
    cells: tuple[Cell, ...] = ("rnn", "lstm", "gru")  # each trained one- and two-way
    num_hiddens: int = param(64, ge=1)  # hidden units per direction
    embed_size: int = param(16, ge=1)  # character embedding size
    num_epochs: int = param(8, ge=1)  # passes over the windows
    batch_size: int = param(32, ge=1)  # windows per step
    lr: float = param(3e-3, gt=0)  # Adam learning rate


@experiment(
    "bidirectional",
    unit=3,
    title="Tagging Python source by token type: one-way vs bidirectional RNNs",
    topics=("bidirectional RNNs", "LSTM", "GRU", "sequence tasks"),
    config=BidirectionalConfig,
    quick={"data": {"max_chars": 20_000}, "cells": ("gru",), "num_hiddens": 32, "num_epochs": 3},
    implements=("dllab.models.rnn.RecurrentNet", "dllab.data.text.python_token_tags"),
)
def bidirectional(cfg: BidirectionalConfig, run: Run) -> dict[str, float]:
    """Every character of Python source is labelled with the type of the token it belongs to
    by the standard `tokenize` module (name, operator, number, string, comment, other):
    real data, real labels (many-to-many). Some labels depend on what comes later — is the
    `r` in `r"..."` a name or the start of a string? is `1` part of `x1` or a number? — which
    a one-way RNN must guess, while a bidirectional RNN (Schuster & Paliwal 1997) reads both
    sides: per-character test accuracy, one-way vs bidirectional, for each cell."""
    ds = data.load("python_tags", max_chars=cfg.data.max_chars, T=cfg.data.T)
    metrics, uni, bi, per_tag = {}, [], [], {}
    for cell in cfg.cells:
        for bidirectional in (False, True):
            way = "bi" if bidirectional else "uni"
            model = run.model(
                f"{cell}-{way}",
                cell,
                input_size=cfg.embed_size,
                embedding=len(ds.vocab),
                num_hiddens=cfg.num_hiddens,
                num_outputs=len(ds.classes),
                pattern="many-to-many",
                bidirectional=bidirectional,
            )
            trainer, test = train_classifier(
                run,
                f"{cell}-{way}",
                model,
                ds,
                num_epochs=cfg.num_epochs,
                batch_size=cfg.batch_size,
                lr=cfg.lr,
            )
            metrics[f"test_accuracy_{way}_{cell}"] = test["accuracy"]
            (bi if bidirectional else uni).append(test["accuracy"])
            if cell == cfg.cells[-1]:
                X, y = ds.test
                right = trainer.predict(X).argmax(-1) == y  # (N, T)
                label = f"{CELL_NAMES[cell]}, {'bidirectional' if bidirectional else 'one-way'}"
                per_tag[label] = [
                    right[y == k].float().mean().item() for k in range(len(ds.classes))
                ]
    metrics["test_accuracy_uni"], metrics["test_accuracy_bi"] = max(uni), max(bi)
    metrics["majority_accuracy"] = torch.bincount(ds.test[1].flatten()).max().item() / (
        ds.test[1].numel()
    )
    plots.grouped_bars(
        {"one-way": uni, "bidirectional": bi},
        [CELL_NAMES[c] for c in cfg.cells],
        run.figure("accuracy_by_cell"),
        "Token-type tagging: per-character test accuracy",
        "test accuracy",
    )
    counts = torch.bincount(ds.test[1].flatten(), minlength=len(ds.classes)).tolist()
    plots.grouped_bars(
        per_tag,
        [f"{name}\n({n} chars)" for name, n in zip(ds.classes, counts)],
        run.figure("accuracy_by_tag"),
        f"{CELL_NAMES[cfg.cells[-1]]}: test accuracy per token type",
        "test accuracy",
    )
    return metrics


# ---- sequence to sequence ------------------------------------------------------------------

PAD, BOS, EOS, DIGIT0 = 0, 1, 2, 3  # token ids; digits d are DIGIT0 + d


@dataclass
class Seq2SeqConfig:
    task: Literal["reverse", "sort"] = "reverse"  # what the decoder must write
    min_len: int = param(3, ge=1)  # shortest source sequence
    max_len: int = param(10, ge=1)  # longest source sequence
    num_train: int = param(20_000, ge=1)  # training pairs
    num_test: int = param(2_000, ge=1)  # test pairs
    num_hiddens: int = param(128, ge=1)  # encoder and decoder hidden units
    embed_size: int = param(32, ge=1)  # token embedding size
    num_epochs: int = param(12, ge=1)  # passes over the training pairs
    batch_size: int = param(64, ge=1)  # pairs per step
    lr: float = param(3e-3, gt=0)  # Adam learning rate


def digit_pairs(cfg: Seq2SeqConfig, n: int, seed: int):
    """Random digit strings of random lengths and their reversed (or sorted) versions.

    Returns:
        src (n, max_len) front-padded ids, tgt_in (n, max_len + 1) = BOS + target,
        tgt (n, max_len + 1) = target + EOS then PAD, and the lengths (n,).
    """
    rng = np.random.default_rng(seed)
    L = cfg.max_len
    lengths = rng.integers(cfg.min_len, L + 1, n)  # (n,)
    digits = rng.integers(0, 10, (n, L))  # (n, L), the first `length` of each row used
    pos = np.arange(L)[None]  # (1, L)
    real = pos < lengths[:, None]  # (n, L)
    if cfg.task == "reverse":  # output[i] = digits[length - 1 - i]
        out = np.take_along_axis(digits, np.clip(lengths[:, None] - 1 - pos, 0, L - 1), 1)
    else:  # sorted: pad positions sort last
        out = np.sort(np.where(real, digits, 10), axis=1)
    j = pos - (L - lengths[:, None])  # source position p holds digit j (right-aligned)
    src = np.where(j >= 0, np.take_along_axis(digits, np.clip(j, 0, L - 1), 1) + DIGIT0, PAD)
    tgt = np.full((n, L + 1), PAD)
    tgt[:, :L] = np.where(real, out + DIGIT0, PAD)
    tgt[np.arange(n), lengths] = EOS
    tgt_in = np.concatenate([np.full((n, 1), BOS), tgt[:, :-1]], axis=1)
    tgt_in[tgt_in == EOS] = PAD
    as_long = [torch.from_numpy(a.astype(np.int64)) for a in (src, tgt_in, tgt, lengths)]
    return tuple(as_long)


@experiment(
    "seq2seq",
    unit=3,
    title="Encoder-decoder LSTM: reversing digit strings of variable length",
    topics=("LSTM", "sequence tasks"),
    config=Seq2SeqConfig,
    quick={"max_len": 5, "num_train": 3_000, "num_test": 500, "num_hiddens": 64, "num_epochs": 4},
    implements=("dllab.models.seq2seq.Seq2Seq", "dllab.engine.sequence.TeacherForcing"),
)
def seq2seq(cfg: Seq2SeqConfig, run: Run) -> dict[str, float]:
    """Many-to-many with different lengths: an LSTM encoder reads a digit string of 3 to 10
    digits into its final state, and an LSTM decoder writes the string reversed (or sorted)
    followed by an end token (Sutskever et al. 2014). Training uses teacher forcing (the true
    previous token as input); testing decodes greedily from the model's own previous token,
    and a sequence counts only if every digit and the end token are right (exact match)."""
    src, tgt_in, tgt, _ = digit_pairs(cfg, cfg.num_train, run.seed)
    test_src, _, test_tgt, test_lengths = digit_pairs(cfg, cfg.num_test, run.seed + 1)
    model = run.model(
        "seq2seq",
        "seq2seq_lstm",
        src_vocab=DIGIT0 + 10,
        tgt_vocab=DIGIT0 + 10,
        embed_size=cfg.embed_size,
        num_hiddens=cfg.num_hiddens,
        start_token=BOS,
    )
    trainer = run.trainer("seq2seq", model, lr=cfg.lr, loss=TeacherForcing(PAD))
    run.fit(trainer, (src, tgt_in, tgt), num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
    model.eval()
    decoded = model.generate(test_src.to(trainer.device), cfg.max_len + 1).cpu()  # (N, L + 1)
    checked = test_tgt != PAD  # positions up to and including EOS
    right = (decoded == test_tgt) | ~checked  # (N, L + 1)
    exact = right.all(1)  # (N,)
    lengths = list(range(cfg.min_len, cfg.max_len + 1))
    by_length = [exact[test_lengths == n].float().mean().item() for n in lengths]
    plots.lines(
        {"greedy decoding": (lengths, by_length)},
        run.figure("exact_match_by_length"),
        f"Seq2seq LSTM, {cfg.task} task: exact-match accuracy by source length",
        "source length (digits)",
        "exact-match accuracy (test)",
    )
    (run.folder / "examples.txt").write_text(_examples(test_src, test_tgt, decoded), "utf-8")
    return {
        "exact_match": exact.float().mean().item(),
        "token_accuracy": (decoded == test_tgt)[checked].float().mean().item(),
    }


def _examples(src: torch.Tensor, tgt: torch.Tensor, decoded: torch.Tensor, n: int = 20) -> str:
    """The first n test pairs as text, each sequence read up to its first end token."""

    def text(ids: list[int]) -> str:
        ids = ids[: ids.index(EOS) + 1] if EOS in ids else ids
        return "".join(str(i - DIGIT0) if i >= DIGIT0 else "$" if i == EOS else "" for i in ids)

    rows = [
        f"{text(s):>12}  ->  {text(d):<12} (target {text(t)})"
        for s, t, d in zip(src[:n].tolist(), tgt[:n].tolist(), decoded[:n].tolist())
    ]
    return "source -> decoded (target); $ = end token\n" + "\n".join(rows) + "\n"


# ---- forecasting ---------------------------------------------------------------------------


@dataclass
class ForecastConfig:
    length: int = param(3_000, ge=200)  # samples of the Mackey-Glass series (tau = 17)
    window: int = param(50, ge=2)  # past values the forecaster sees
    horizon: int = param(50, ge=1)  # steps of the multi-step (recursive) forecast
    ar_order: int = param(10, ge=1)  # lags of the linear autoregressive baseline
    cell: Cell = "gru"  # the recurrent forecaster
    num_hiddens: int = param(64, ge=1)  # hidden units
    num_epochs: int = param(40, ge=1)  # passes over the training windows
    batch_size: int = param(64, ge=1)  # windows per step
    lr: float = param(3e-3, gt=0)  # Adam learning rate


def recursive_forecast(one_step, X: torch.Tensor, horizon: int) -> torch.Tensor:
    """Feed one-step forecasts back as inputs: X (N, W, 1) -> forecasts (N, horizon)."""
    out = []
    for _ in range(horizon):
        y_hat = one_step(X)  # (N, 1)
        out.append(y_hat)
        X = torch.cat([X[:, 1:], y_hat[:, :, None]], dim=1)  # slide the window (N, W, 1)
    return torch.cat(out, dim=1)


@experiment(
    "forecasting",
    unit=3,
    title="Forecasting the Mackey-Glass series: RNN vs last value vs linear AR",
    topics=("sequence tasks", "GRU"),
    config=ForecastConfig,
    quick={"length": 800, "horizon": 10, "num_hiddens": 16, "num_epochs": 30, "window": 20},
    implements=("dllab.data.sequences.mackey_glass",),
)
def forecasting(cfg: ForecastConfig, run: Run) -> dict[str, float]:
    """One-step and multi-step forecasts of the chaotic Mackey-Glass series (tau = 17): a
    recurrent net reads the last `window` values (many-to-one) and predicts the next;
    multi-step forecasts feed each prediction back as the newest input. Baselines: the last
    value (a random walk's best guess) and a linear autoregressive model of order `ar_order`
    fitted by least squares. RMSE on the held-out last 20% of the series. (No dependency
    ships a real time series, so Mackey-Glass is the only one.)"""
    ds = data.load("mackey_glass", length=cfg.length, window=cfg.window)
    multi = data.load("mackey_glass", length=cfg.length, window=cfg.window, horizon=cfg.horizon)
    X, y = ds.train
    mean, std = X.mean(), X.std()  # the net sees the series standardised: z = (x - mean) / std
    scaled = data.Dataset(
        "mackey_glass", train=((X - mean) / std, (y - mean) / std), test=ds.test, val=None
    )
    model = run.model(cfg.cell, cfg.cell, input_size=1, num_hiddens=cfg.num_hiddens, num_outputs=1)
    trainer = run.trainer(cfg.cell, model, lr=cfg.lr, loss="mse", schedule="cosine")
    run.fit(trainer, scaled.train, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
    lags = X[:, -cfg.ar_order :, 0].double()  # (N, p)
    design = torch.cat([lags, torch.ones(len(lags), 1, dtype=torch.float64)], 1)  # (N, p + 1)
    coef = torch.linalg.lstsq(design, y.double()).solution  # (p + 1, 1)
    forecasters = {  # metric key -> (label, one-step forecast (N, W, 1) -> (N, 1))
        "rnn": (CELL_NAMES[cfg.cell], lambda x: trainer.predict((x - mean) / std) * std + mean),
        "ar": (
            f"linear AR({cfg.ar_order})",
            lambda x: (x[:, -cfg.ar_order :, 0].double() @ coef[:-1] + coef[-1]).float(),
        ),
        "last_value": ("last value", lambda x: x[:, -1]),
    }
    X_test, y_test = multi.test  # (N, W, 1), (N, horizon)
    i = len(X_test) // 3  # the window drawn as an example
    past, ahead = np.arange(-cfg.window + 1, 1), np.arange(1, cfg.horizon + 1)
    example = {"true series": (np.r_[past, ahead], np.r_[X_test[i, :, 0], y_test[i]])}
    metrics, by_horizon = {}, {}
    for key, (label, one_step) in forecasters.items():
        forecast = recursive_forecast(one_step, X_test, cfg.horizon)  # (N, horizon)
        rmse = (forecast - y_test).pow(2).mean(0).sqrt()  # (horizon,)
        metrics[f"rmse_one_step_{key}"] = rmse[0].item()
        metrics[f"rmse_multi_step_{key}"] = (forecast - y_test).pow(2).mean().sqrt().item()
        by_horizon[label] = (ahead, rmse.numpy())
        example[label] = (ahead, forecast[i].numpy())
    plots.lines(
        by_horizon,
        run.figure("rmse_by_horizon"),
        "Mackey-Glass: test RMSE of recursive forecasts",
        "steps ahead (each forecast fed back as input)",
        "RMSE",
        log_y=True,
    )
    plots.lines(
        example,
        run.figure("forecast_example"),
        f"Mackey-Glass: a {cfg.horizon}-step forecast of one test window",
        "time step (0 = the last value seen)",
        "x(t)",
    )
    return metrics


# ---- sentiment -----------------------------------------------------------------------------


@dataclass
class ImdbData:
    dir: str | None = None  # the aclImdb folder (or its parent); None: see `synthetic`
    synthetic: bool = False  # write a small synthetic review folder into the run and use it
    vocab_size: int = param(20_000, ge=1)  # most frequent training words kept
    T: int = param(200, ge=1)  # words read per review
    max_reviews: int | None = param(None, ge=1)  # per label and split; None: all 12,500


@dataclass
class SentimentConfig:
    data: ImdbData = field(default_factory=ImdbData)
    cell: Cell = "gru"  # the recurrent cell
    bidirectional: bool = True  # read reviews both ways
    num_hiddens: int = param(64, ge=1)  # hidden units per direction
    embed_size: int = param(64, ge=1)  # word embedding size
    num_epochs: int = param(4, ge=1)  # passes over the training reviews
    batch_size: int = param(64, ge=1)  # reviews per step
    lr: float = param(2e-3, gt=0)  # Adam learning rate


POSITIVE = ("great", "wonderful", "loved", "excellent", "moving", "brilliant", "superb")
NEGATIVE = ("awful", "boring", "hated", "terrible", "dull", "worst", "waste")
FILLER = (
    "the",
    "movie",
    "film",
    "plot",
    "actor",
    "was",
    "and",
    "a",
    "story",
    "scene",
    "this",
    "it",
    "of",
    "in",
    "director",
    "music",
    "ending",
    "characters",
    "i",
    "with",
)


def write_synthetic_reviews(root: Path, per_label: int, seed: int) -> Path:
    """An aclImdb-shaped folder of short made-up reviews: filler words with two sentiment
    words of the review's polarity at random places. Returns the aclImdb folder."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for label, words in zip(LABELS, (NEGATIVE, POSITIVE)):
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_label):
                review = list(rng.choice(FILLER, rng.integers(15, 40)))
                for word in rng.choice(words, 2):
                    review.insert(int(rng.integers(0, len(review) + 1)), str(word))
                (folder / f"{i}_{label}.txt").write_text(" ".join(review) + ".", "utf-8")
    return root / "aclImdb"


@experiment(
    "sentiment",
    unit=3,
    title="IMDB review sentiment with a bidirectional GRU (needs the corpus offline)",
    topics=("bidirectional RNNs", "GRU", "sequence tasks"),
    config=SentimentConfig,
    quick={
        "data": {"synthetic": True, "T": 48},
        "num_hiddens": 16,
        "embed_size": 16,
        "num_epochs": 8,
        "batch_size": 32,
        "lr": 1e-2,
    },
    implements=("dllab.data.imdb.imdb", "dllab.models.rnn.bigru"),
)
def sentiment(cfg: SentimentConfig, run: Run) -> dict[str, float]:
    """Positive or negative from the words of a movie review (Maas et al. 2011), read by a
    (bidirectional) GRU over word embeddings, many-to-one. dllab is offline and ships no
    corpus: give the unpacked aclImdb folder with `--set data.dir=...`; without it the run
    stops with a one-line message. `data.synthetic=true` (the quick config) instead writes a
    small made-up corpus in the IMDB layout into the run folder and trains on that, flagged by
    the metric `synthetic_data` = 1: it checks the pipeline, not sentiment analysis."""
    folder = cfg.data.dir
    if cfg.data.synthetic and folder is None:
        folder = str(write_synthetic_reviews(run.folder / "synthetic_imdb", 200, run.seed))
    ds = data.load(
        "imdb",
        dir=folder,
        vocab_size=cfg.data.vocab_size,
        T=cfg.data.T,
        max_reviews=cfg.data.max_reviews,
    )
    model = run.model(
        "sentiment",
        cfg.cell,
        input_size=cfg.embed_size,
        embedding=len(ds.vocab),
        num_hiddens=cfg.num_hiddens,
        num_outputs=2,
        bidirectional=cfg.bidirectional,
    )
    trainer, test = train_classifier(
        run,
        "sentiment",
        model,
        ds,
        num_epochs=cfg.num_epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        grad_clip=ClipNorm(1.0),
    )
    X, y = ds.test
    probs = F.softmax(trainer.predict(X), dim=-1)[:, 1].numpy()
    plots.histograms(
        {f"true {name}": probs[y.numpy() == k] for k, name in enumerate(LABELS)},
        run.figure("predicted_positive"),
        "Test reviews: predicted probability of a positive review",
        "P(positive)",
    )
    return {
        "test_accuracy": test["accuracy"],
        "synthetic_data": int(cfg.data.dir is None),
        "num_test_reviews": len(y),
    }
