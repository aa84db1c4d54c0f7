"""Names every unit III experiment uses: the recurrent cells and the adding problem's baseline."""

from typing import Literal

Cell = Literal["rnn", "lstm", "gru"]
CELL_NAMES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}  # rnn: Elman's tanh RNN

ADDING_BASELINE = 1 / 6  # Var(U1 + U2) = 2/12: the MSE of always answering 1
