"""Recurrent networks for the input/output patterns of sequence learning.

Cells: Elman (1990), LSTM (Hochreiter & Schmidhuber 1997; Gers et al. 2000), GRU (Cho et al.
2014); bidirectional RNNs (Schuster & Paliwal 1997); dropout on non-recurrent connections only
(Zaremba et al. 2014). The five patterns (Karpathy 2015, "The Unreasonable Effectiveness of RNNs"):

- one-to-one: no recurrence, a plain MLP (`dllab.models.mlp`);
- one-to-many: `OneToMany`, a vector -> a sequence (`one_to_many_gru`);
- many-to-one: `RecurrentNet(pattern="many-to-one")`, classify or regress a sequence;
- many-to-many, equal lengths: `RecurrentNet(pattern="many-to-many")`, tag every step;
- many-to-many, different lengths: the encoder-decoder `Seq2Seq` (`dllab.models.seq2seq`).

`fused=False` swaps PyTorch's fused kernels for the explicit cells of `dllab.nn.recurrent`:
same parameters (state dicts load across), per-step hidden states in `model.rnn.hs`.

Training them: truncated BPTT (Williams & Peng 1990; Sutskever 2013, §4.2) cuts a long stream
into `batch_size` parallel rows and each row into consecutive chunks of k steps. The hidden
state is carried from one chunk to the next, so the forward pass sees the whole past, but the
graph is cut (detached) between chunks, so gradients flow back at most k steps.
`HiddenGradients` records dL/dh_t for every step t, the rows of a gradient-through-time map.

    chunks = stream_chunks(train_ids, batch_size=32, bptt=64)  # X (N, B, k), start (N,), y
    trainer = Trainer(char_lstm(...), loss=TruncatedBPTT())
    trainer.fit(chunks, batch_size=1, shuffle=False)  # one chunk per step, in order
"""

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from dllab.engine.tasks import Batch, Task
from dllab.errors import ConfigError, DataError, unknown_name_message
from dllab.models.registry import register_model
from dllab.nn.recurrent import State, detach_state, hidden_grads, make_recurrent

PATTERNS = ("many-to-one", "many-to-many")
MERGES = ("concat", "sum")


def with_defaults(cls: type[nn.Module], overrides: dict, **defaults) -> nn.Module:
    """cls(**defaults) with `overrides` (a builder's **kwargs) replacing any of them.

    Raises:
        ConfigError: for an override that is not an argument of cls.
    """
    accepted = inspect.signature(cls).parameters
    unknown = sorted(k for k in overrides if k not in accepted)
    if unknown:
        known = ", ".join(accepted)
        raise ConfigError(
            f"{cls.__name__} takes no argument {', '.join(unknown)} (it takes: {known})"
        )
    return cls(**{**defaults, **overrides})


def check_input(x: torch.Tensor, dims: tuple[str | int, ...], tokens: bool = False) -> None:
    """Raise DataError unless x has `dims` (an int must match, a name is any size) and holds
    token ids (integers) if `tokens`, else floats."""
    fits = x.dim() == len(dims) and all(isinstance(d, str) or d == n for d, n in zip(dims, x.shape))
    if not fits or x.is_floating_point() == tokens:
        want = f"({', '.join(map(str, dims))}) {'integer token ids' if tokens else 'floats'}"
        raise DataError(f"model expects input {want}, got {tuple(x.shape)} {x.dtype}")


class RecurrentNet(nn.Module):
    """A (stacked, optionally bidirectional) RNN/LSTM/GRU with a linear head.

    Input (B, T, input_size) floats, or (B, T) token ids when `embedding` (the vocabulary
    size) is given. Output (B, num_outputs) for many-to-one — from the final hidden state h_n of
    the top layer: the forward direction's last step and the backward direction's first — or
    (B, T, num_outputs) for many-to-many. `merge` joins the two directions: "concat" (2H
    features) or "sum" (H).

    Truncated BPTT (Williams & Peng 1990) carries the state across consecutive chunks of one
    long sequence and cuts the graph between them (exact for unidirectional nets only):

        state = None
        for x, y in chunks:
            y_hat, state = model(x, state, return_state=True)
            loss_fn(y_hat, y).backward(); optimizer.step(); optimizer.zero_grad()
            state = detach_state(state)  # from dllab.nn.recurrent
    """

    def __init__(
        self,
        input_size: int,
        num_hiddens: int,
        num_outputs: int,
        cell: str = "rnn",
        num_layers: int = 1,
        bidirectional: bool = False,
        merge: str = "concat",
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        pattern: str = "many-to-one",
        embedding: int | None = None,
        fused: bool = True,
    ):
        super().__init__()
        for kind, name, known in (("merge", merge, MERGES), ("pattern", pattern, PATTERNS)):
            if name not in known:
                raise ConfigError(unknown_name_message(kind, name, list(known)))
        self.input_size, self.num_hiddens = input_size, num_hiddens
        self.pattern, self.merge = pattern, merge
        self.num_directions = 2 if bidirectional else 1
        self.embedding = None if embedding is None else nn.Embedding(embedding, input_size)
        self.rnn = make_recurrent(
            cell, input_size, num_hiddens, num_layers, bidirectional, dropout, nonlinearity, fused
        )
        self.dropout = nn.Dropout(dropout)  # before the head (Zaremba et al. 2014)
        features = num_hiddens * (self.num_directions if merge == "concat" else 1)
        self.head = nn.Linear(features, num_outputs)

    def _merge(self, z: torch.Tensor) -> torch.Tensor:
        """(..., dirs, H) -> (..., dirs*H) for "concat" or (..., H) for "sum"."""
        return z.flatten(-2) if self.merge == "concat" else z.sum(-2)

    def forward(self, x: torch.Tensor, state: State | None = None, return_state: bool = False):
        """x (B, T, D) or token ids (B, T); `state` as returned by a previous call (None: zeros).

        Returns:
            y_hat (B, num_outputs) or (B, T, num_outputs); with `return_state` also the final
            state, h_n (L*dirs, B, H) or (h_n, c_n) for the LSTM.
        """
        if self.embedding is None:
            check_input(x, ("B", "T", self.input_size))
        else:
            check_input(x, ("B", "T"), tokens=True)
            x = self.embedding(x)  # (B, T, D)
        outputs, state = self.rnn(x, state)  # (B, T, dirs*H)
        if self.pattern == "many-to-one":
            h_n = state[0] if isinstance(state, tuple) else state  # (L*dirs, B, H)
            z = h_n[-self.num_directions :].transpose(0, 1)  # top layer (B, dirs, H)
        else:
            z = outputs.unflatten(-1, (self.num_directions, self.num_hiddens))  # (B, T, dirs, H)
        y_hat = self.head(self.dropout(self._merge(z)))
        return (y_hat, state) if return_state else y_hat


class OneToMany(nn.Module):
    """A vector v (B, D) -> a sequence (B, T, num_outputs).

    v sets the initial hidden state of every layer, h_0 = tanh(W v + b) (c_0 = 0 for the LSTM),
    and is also the input at every step, as in image captioning that conditions each step on
    the image (Mao et al. 2015) rather than only the first (Vinyals et al. 2015).
    """

    def __init__(
        self,
        input_size: int,
        num_hiddens: int,
        num_outputs: int,
        seq_len: int,
        cell: str = "gru",
        num_layers: int = 1,
        dropout: float = 0.0,
        fused: bool = True,
    ):
        super().__init__()
        if seq_len < 1:
            raise ConfigError(f"seq_len must be >= 1, got {seq_len}")
        self.input_size, self.num_hiddens, self.num_layers = input_size, num_hiddens, num_layers
        self.cell, self.seq_len = cell, seq_len
        self.rnn = make_recurrent(
            cell, input_size, num_hiddens, num_layers, dropout=dropout, fused=fused
        )
        self.init = nn.Linear(input_size, num_layers * num_hiddens)
        self.head = nn.Linear(num_hiddens, num_outputs)

    def forward(self, v: torch.Tensor, seq_len: int | None = None) -> torch.Tensor:
        """v (B, D) -> (B, T, num_outputs), T = `seq_len` or the one given at construction."""
        check_input(v, ("B", self.input_size))
        T = seq_len or self.seq_len
        h0 = torch.tanh(self.init(v)).unflatten(1, (self.num_layers, self.num_hiddens))  # (B, L, H)
        h0 = h0.transpose(0, 1).contiguous()  # (L, B, H)
        state = (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0
        outputs, _ = self.rnn(v.unsqueeze(1).expand(-1, T, -1), state)  # (B, T, H)
        return self.head(outputs)


# Variants: any argument of the class overrides the defaults, e.g.
# create_model("lstm", num_outputs=10, num_layers=2). Sequence defaults fit the synthetic tasks:
# 20 steps of 2 features (the adding problem) -> one number.
SEQUENCE = {"input_size": 2, "num_hiddens": 64, "num_outputs": 1}


@register_model(input_shape=(20, 2))
def rnn(**kwargs) -> RecurrentNet:
    """Elman RNN (Elman 1990)."""
    return with_defaults(RecurrentNet, kwargs, **SEQUENCE, cell="rnn")


@register_model(input_shape=(20, 2))
def lstm(**kwargs) -> RecurrentNet:
    """LSTM (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000)."""
    return with_defaults(RecurrentNet, kwargs, **SEQUENCE, cell="lstm")


@register_model(input_shape=(20, 2))
def gru(**kwargs) -> RecurrentNet:
    """GRU (Cho et al. 2014)."""
    return with_defaults(RecurrentNet, kwargs, **SEQUENCE, cell="gru")


@register_model(input_shape=(20, 2))
def birnn(**kwargs) -> RecurrentNet:
    """Bidirectional Elman RNN (Schuster & Paliwal 1997)."""
    return with_defaults(RecurrentNet, kwargs, **SEQUENCE, cell="rnn", bidirectional=True)


@register_model(input_shape=(20, 2))
def bilstm(**kwargs) -> RecurrentNet:
    """Bidirectional LSTM (Graves & Schmidhuber 2005)."""
    return with_defaults(RecurrentNet, kwargs, **SEQUENCE, cell="lstm", bidirectional=True)


@register_model(input_shape=(20, 2))
def bigru(**kwargs) -> RecurrentNet:
    """Bidirectional GRU."""
    return with_defaults(RecurrentNet, kwargs, **SEQUENCE, cell="gru", bidirectional=True)


# Character-level language models: token ids (B, T) -> next-token logits (B, T, vocab_size).
CHARS = {"input_size": 32, "num_hiddens": 128, "pattern": "many-to-many"}  # input_size: embedding


@register_model(input_shape=(16,), input_dtype=torch.long)
def char_lstm(vocab_size: int = 128, **kwargs) -> RecurrentNet:
    """Character-level LSTM language model (Graves 2013; Karpathy 2015)."""
    vocab = {"num_outputs": vocab_size, "embedding": vocab_size}
    return with_defaults(RecurrentNet, kwargs, **CHARS, **vocab, cell="lstm")


@register_model(input_shape=(16,), input_dtype=torch.long)
def char_gru(vocab_size: int = 128, **kwargs) -> RecurrentNet:
    """Character-level GRU language model."""
    vocab = {"num_outputs": vocab_size, "embedding": vocab_size}
    return with_defaults(RecurrentNet, kwargs, **CHARS, **vocab, cell="gru")


@register_model(input_shape=(4,))
def one_to_many_gru(**kwargs) -> OneToMany:
    """A GRU that unfolds a 4-vector into 20 steps of one number."""
    defaults = {"input_size": 4, "num_hiddens": 64, "num_outputs": 1, "seq_len": 20}
    return with_defaults(OneToMany, kwargs, **defaults, cell="gru")


class FlatGRU(nn.Module):
    """The MNIST-1D paper's GRU (`GRUBase` in greydanus/mnist1d): a bidirectional GRU reads the
    signal one value per step and a linear layer classifies ALL its outputs, flattened, (B,
    T * 2H) -> (B, K): the read-out sees every position, as the MLP does."""

    def __init__(self, length: int, num_hiddens: int, num_classes: int):
        super().__init__()
        self.gru = nn.GRU(1, num_hiddens, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(length * 2 * num_hiddens, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.gru(x.reshape(len(x), -1, 1))  # (B, T) values -> (B, T, 2H)
        return self.linear(outputs.flatten(1))  # (B, T * 2H) -> (B, K)


@register_model(input_shape=(1, 40))
def mnist1d_gru_paper(num_classes: int = 10, length: int = 40, num_hiddens: int = 6):
    """The MNIST-1D paper's bidirectional GRU of 6 units a direction (5,134 parameters)."""
    return FlatGRU(length, num_hiddens, num_classes)


def stream_chunks(
    stream: torch.Tensor, batch_size: int, bptt: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut a 1-D id stream into consecutive next-token chunks for truncated BPTT.

    Row b of chunk i continues row b of chunk i - 1 (the layout of `dllab.data.batchify`);
    the tail that does not fill a whole chunk is dropped.

    Returns:
        X (N, B, k) inputs, start (N,) bool, True for the first chunk (where the carried
        state is reset), and y (N, B, k) the ids one step later.

    Raises:
        ConfigError: if the stream is too short for one chunk of B rows of k steps.
    """
    length = (len(stream) - 1) // batch_size  # ids per row, keeping one for the last target
    num_chunks = length // bptt
    if num_chunks == 0:
        raise ConfigError(
            f"a stream of {len(stream)} ids cannot fill one chunk of batch_size={batch_size} "
            f"rows x bptt={bptt} steps"
        )
    usable = num_chunks * bptt
    rows = torch.arange(batch_size)[:, None] * length  # row b starts at b * length
    index = rows + torch.arange(usable + 1)[None]  # (B, usable + 1)
    ids = stream[index]  # (B, usable + 1)
    X = ids[:, :-1].unflatten(1, (num_chunks, bptt)).transpose(0, 1)  # (N, B, k)
    y = ids[:, 1:].unflatten(1, (num_chunks, bptt)).transpose(0, 1)  # (N, B, k)
    start = torch.zeros(num_chunks, dtype=torch.bool)
    start[0] = True
    return X.contiguous(), start, y.contiguous()


class TruncatedBPTT(Task):
    """Next-token cross-entropy on consecutive chunks with a detached, carried state
    (truncated BPTT, Williams & Peng 1990).

    A batch is (X (n, B, k), start (n,), y (n, B, k)): n consecutive chunks, read as one
    stretch of n*k steps (training uses n = 1, `fit(batch_size=1, shuffle=False)`;
    evaluation reads many chunks at once). The state resets where start[0] is True, so every
    pass over a stream (an epoch, a validation run) begins from zeros. The model must accept
    `model(x, state, return_state=True)` -> (logits (B, T, V), state), as `RecurrentNet` does.
    Logs `accuracy` (next-token) beside the loss in nats; bits per character = loss / ln 2.
    """

    def __init__(self):
        self.state: State | None = None

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        X, start, y = batch
        if bool(start[0]):
            self.state = None
        x = X.transpose(0, 1).flatten(1)  # n chunks side by side in time: (B, n*k)
        target = y.transpose(0, 1).flatten(1)  # (B, n*k)
        logits, state = model(x, self.state, return_state=True)  # (B, n*k, V)
        self.state = detach_state(state)  # truncate: no gradient into the previous chunk
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == target).float().mean()
        return loss, {"accuracy": accuracy}


class HiddenGradients(Task):
    """A task that also records ||dL/dh_t|| for every time step t, every `every` optimizer
    steps starting with the first (the gradients at initialisation).

    The model must run the explicit cells (`fused=False`), whose `model.rnn.hs[0]` lists the
    first layer's hidden states with `retain_grad()`. After each recorded backward pass,
    `records` gains (optimizer step, (T,) batch-mean of ||dL/dh_t||_2): the rows of a
    gradient-through-time heat map.
    """

    def __init__(self, task: Task, every: int = 1):
        self.task, self.every = task, every
        self.records: list[tuple[int, torch.Tensor]] = []

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        return self.task.compute(model, batch)

    def training_step(self, trainer, batch: Batch) -> dict[str, torch.Tensor]:
        logs = self.task.training_step(trainer, batch)
        if trainer.step % self.every == 0:
            grads = hidden_grads(trainer.model.rnn.hs[0])  # (B, T, H)
            self.records.append((trainer.step + 1, grads.norm(dim=-1).mean(0)))  # (T,)
        return logs
