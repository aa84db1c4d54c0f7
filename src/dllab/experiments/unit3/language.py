"""Text: a character-level language model trained by truncated BPTT (Williams & Peng 1990) and
tagging Python source by token type with bidirectional RNNs (Schuster & Paliwal 1997)."""

import math
from dataclasses import dataclass, field
from typing import Literal

import torch

from dllab import data
from dllab.config import param
from dllab.engine import ClipNorm
from dllab.experiments.common import train_classifier
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.experiments.unit3.shared import CELL_NAMES, Cell
from dllab.models.rnn import TruncatedBPTT, stream_chunks
from dllab.report import plots


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
    tour={
        "data": {"max_chars": 300000},
        "num_hiddens": 128,
        "batch_size": 32,
        "bptt": 64,
        "num_epochs": 3,
        "lr": 0.003,
    },
    tour_seconds=19,
    headline=("unigram_bpc", "test_bpc"),
    claims=(
        Claim(
            "the LSTM predicts the next character far better than letter frequencies",
            lambda m: m["test_bpc"] < m["unigram_bpc"] - 1,
        ),
    ),
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
        "Test bits per character: the LSTM's context beats letter frequencies (lower is better)",
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
    tour={
        "data": {"max_chars": 60000},
        "cells": ("rnn", "gru"),
        "num_hiddens": 64,
        "num_epochs": 5,
    },
    tour_seconds=16,
    headline=("test_accuracy_uni", "test_accuracy_bi"),
    claims=(
        Claim(
            "the bidirectional net tags better than the best one-way net",
            lambda m: m["test_accuracy_bi"] > m["test_accuracy_uni"] + 0.005,
        ),
        Claim(
            "both beat always guessing the most common tag",
            lambda m: m["test_accuracy_uni"] > m["majority_accuracy"] + 0.2,
        ),
    ),
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
        "Tagging Python by token type: reading the characters that follow too (bidirectional) "
        "tags better",
        "per-character test accuracy",
        reference=(metrics["majority_accuracy"], "always the most common tag"),
    )
    counts = torch.bincount(ds.test[1].flatten(), minlength=len(ds.classes)).tolist()
    plots.grouped_bars(
        per_tag,
        [f"{name}\n({n} chars)" for name, n in zip(ds.classes, counts)],
        run.figure("accuracy_by_tag"),
        f"{CELL_NAMES[cfg.cells[-1]]}: test accuracy per token type, one-way beside bidirectional",
        "test accuracy",
    )
    return metrics
