"""Encoder-decoder for sequences of different lengths (Sutskever, Vinyals & Le 2014, "Sequence
to Sequence Learning with Neural Networks"; Cho et al. 2014).

The encoder reads the source tokens and its final state — the whole source in a fixed-size
vector — initialises the decoder, which is trained with teacher forcing (the true previous
target token as input: `TeacherForcing`, below) and decodes greedily at inference (its own
previous prediction).
"""

import torch
import torch.nn.functional as F
from torch import nn

from dllab.engine.tasks import Batch, Task
from dllab.models.registry import register_model
from dllab.models.rnn import check_input, with_defaults
from dllab.nn.recurrent import State, make_recurrent


class Seq2Seq(nn.Module):
    """Token ids src (B, T_in) -> logits over the target vocabulary (B, T_out, tgt_vocab).

    Encoder and decoder are stacked RNN/LSTM/GRUs with the same sizes, so the encoder's final
    state is the decoder's initial one. `reverse_source` feeds the source backwards, the trick
    of Sutskever et al. (§3.3) that puts the first words of source and target close together.
    `start_token` is the id the decoder reads before its first output.
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        embed_size: int = 32,
        num_hiddens: int = 64,
        cell: str = "lstm",
        num_layers: int = 1,
        dropout: float = 0.0,
        reverse_source: bool = False,
        start_token: int = 0,
        fused: bool = True,
    ):
        super().__init__()
        self.reverse_source, self.start_token = reverse_source, start_token
        layers = {"num_layers": num_layers, "dropout": dropout, "fused": fused}
        self.src_embedding = nn.Embedding(src_vocab, embed_size)
        self.encoder = make_recurrent(cell, embed_size, num_hiddens, **layers)
        self.tgt_embedding = nn.Embedding(tgt_vocab, embed_size)
        self.decoder = make_recurrent(cell, embed_size, num_hiddens, **layers)
        self.head = nn.Linear(num_hiddens, tgt_vocab)

    def encode(self, src: torch.Tensor) -> State:
        """src (B, T_in) -> the encoder's final state, h_n (L, B, H) or (h_n, c_n)."""
        check_input(src, ("B", "T_in"), tokens=True)
        if self.reverse_source:
            src = src.flip(1)
        _, state = self.encoder(self.src_embedding(src))  # embeddings (B, T_in, E)
        return state

    def decode(self, tgt_in: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Decoder inputs tgt_in (B, T_out) from `state` -> (logits (B, T_out, V), new state)."""
        outputs, state = self.decoder(self.tgt_embedding(tgt_in), state)  # (B, T_out, H)
        return self.head(outputs), state

    def greedy(self, state: State, max_len: int, start_token: int) -> torch.Tensor:
        """Decode `max_len` steps from `state`, each step reading the previous argmax token.

        Returns:
            logits (B, max_len, V); their argmax is the decoded sequence.
        """
        h = state[0] if isinstance(state, tuple) else state  # (L, B, H)
        token = torch.full((h.shape[1], 1), start_token, dtype=torch.long, device=h.device)
        logits = []
        for _ in range(max_len):
            step_logits, state = self.decode(token, state)  # (B, 1, V)
            token = step_logits.argmax(-1)  # (B, 1)
            logits.append(step_logits)
        return torch.cat(logits, dim=1)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher forcing: logits (B, T_out, V) for tgt_in (B, T_out), the target shifted right
        behind the start token (tgt_in[:, 0] = start_token, tgt_in[:, t] = tgt[:, t - 1]).

        Without tgt_in the decoder runs free for T_in steps, as at inference (`greedy`): the
        logits of the model's own answer, still differentiable through every parameter.
        """
        state = self.encode(src)
        if tgt_in is None:
            return self.greedy(state, src.shape[1], self.start_token)
        check_input(tgt_in, ("B", "T_out"), tokens=True)
        return self.decode(tgt_in, state)[0]

    @torch.no_grad()
    def generate(
        self, src: torch.Tensor, max_len: int, start_token: int | None = None
    ) -> torch.Tensor:
        """Greedy decoding: src (B, T_in) -> token ids (B, max_len) (start token not included)."""
        start = self.start_token if start_token is None else start_token
        return self.greedy(self.encode(src), max_len, start).argmax(-1)


@register_model(input_shape=(8,), input_dtype=torch.long)
def seq2seq_lstm(**kwargs) -> Seq2Seq:
    """LSTM encoder-decoder over two 16-token vocabularies (id 0 starts decoding)."""
    return with_defaults(Seq2Seq, kwargs, src_vocab=16, tgt_vocab=16, cell="lstm")


class TeacherForcing(Task):
    """Encoder-decoder training with teacher forcing (Williams & Zipser 1989; Sutskever et al.
    2014): a batch (src, tgt_in, tgt) -> model(src, tgt_in) logits (B, T_out, V) against tgt
    (B, T_out), ignoring `pad` positions in the loss and accuracy."""

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
