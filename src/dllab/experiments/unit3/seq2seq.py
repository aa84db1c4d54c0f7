"""Sequences out: an encoder-decoder LSTM with teacher forcing (Sutskever et al. 2014) and
recursive multi-step forecasting of the Mackey-Glass series."""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from dllab import data
from dllab.config import param
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.experiments.unit3.shared import CELL_NAMES, Cell
from dllab.models.seq2seq import TeacherForcing
from dllab.report import plots

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
    tour={},
    tour_seconds=2,
    headline="exact_match",
    claims=(
        Claim(
            "the encoder-decoder reverses most strings exactly",
            lambda m: m["exact_match"] > 0.8,
        ),
    ),
)
def seq2seq(cfg: Seq2SeqConfig, run: Run) -> dict[str, float]:
    """Many-to-many with different lengths: an LSTM encoder reads a digit string of `min_len` to
    `max_len` digits (3 to 10 by default) into its final state, and an LSTM decoder writes the
    string reversed (or sorted) followed by an end token (Sutskever et al. 2014). Training uses
    teacher forcing (the true previous token as input); testing decodes greedily from the
    model's own previous token, and a sequence counts only if every digit and the end token are
    right (exact match)."""
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
        f"Seq2seq LSTM, {cfg.task} task on {cfg.min_len} to {cfg.max_len} digits: the longer "
        "the string, the more its one fixed-size state must hold",
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
    headline=("rmse_multi_step_last_value", "rmse_multi_step_ar", "rmse_multi_step_rnn"),
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
