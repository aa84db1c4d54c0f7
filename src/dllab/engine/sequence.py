"""Tasks for recurrent networks: truncated BPTT over a long stream, dL/dh_t recording, and
teacher forcing for encoder-decoders.

Truncated BPTT (Williams & Peng 1990; Sutskever 2013, §4.2): a long stream is cut into
`batch_size` parallel rows and each row into consecutive chunks of k steps. The hidden state
is carried from one chunk to the next, so the forward pass sees the whole past, but the graph
is cut (detached) between chunks, so gradients flow back at most k steps.

    chunks = stream_chunks(train_ids, batch_size=32, bptt=64)  # X (N, B, k), start (N,), y
    trainer = Trainer(char_lstm(...), loss=TruncatedBPTT())
    trainer.fit(chunks, batch_size=1, shuffle=False)  # one chunk per step, in order
"""

import torch
import torch.nn.functional as F
from torch import nn

from dllab.engine.tasks import Batch, Task
from dllab.errors import ConfigError
from dllab.nn.recurrent import State, detach_state, hidden_grads


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
    """Next-token cross-entropy on consecutive chunks with a detached, carried state.

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


class TeacherForcing(Task):
    """Encoder-decoder training: a batch (src, tgt_in, tgt) -> model(src, tgt_in) logits
    (B, T_out, V) against tgt (B, T_out), ignoring `pad` positions in the loss and accuracy."""

    def __init__(self, pad: int = 0):
        self.pad = pad

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        src, tgt_in, tgt = batch
        logits = model(src, tgt_in)  # (B, T_out, V)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=self.pad)
        with torch.no_grad():
            real = tgt != self.pad
            accuracy = ((logits.argmax(-1) == tgt) & real).sum() / real.sum()
        return loss, {"accuracy": accuracy}
