"""Unit III experiments: recurrent networks, BPTT and truncated BPTT, vanishing and exploding
gradients and clipping, LSTM, GRU and bidirectional RNNs on sequence tasks.

One module per theme; importing the package registers every experiment:

- `memory`: `adding-problem`, `copy-task` (long-range memory as T grows);
- `gradients`: `vanishing-gradients` (dL/dh_t heat maps, exploding gradients and clipping);
- `classification`: `mnist1d-gru`, `sentiment` (many-to-one);
- `language`: `char-lm` (truncated BPTT), `bidirectional` (tagging Python source);
- `seq2seq`: `seq2seq` (encoder-decoder), `forecasting` (Mackey-Glass).
"""

# Import order is registration order, the order `dllab list` shows.
# isort: off
from dllab.experiments.unit3 import memory  # noqa: F401
from dllab.experiments.unit3 import gradients  # noqa: F401
from dllab.experiments.unit3 import classification  # noqa: F401
from dllab.experiments.unit3 import language  # noqa: F401
from dllab.experiments.unit3 import seq2seq  # noqa: F401
# isort: on
