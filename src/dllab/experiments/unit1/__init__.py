"""Unit I experiments: feed-forward networks, their training and backpropagation.

One module per theme; importing the package registers every experiment:

- `xor`: `perceptron-xor` (a perceptron vs a 2-2-1 MLP on AND, OR, XOR, XNOR);
- `optimizers`: `optimizers` (gradient descent and its variants on the digits MLP);
- `capacity`: `capacity` (hidden units and depth, under- and over-fitting);
- `activations`: `activations` (hidden-unit activations and gradient flow in a deep MLP);
- `classifiers`: `digits-mlp`, `mnist1d-mlp` (deep feed-forward classifiers);
- `shared`: the `engine` switch and the NumPy engine's twin of a model (used by `xor` and
  `classifiers`).
"""

# Import order is registration order, the order `dllab list` shows.
# isort: off
from dllab.experiments.unit1 import xor  # noqa: F401
from dllab.experiments.unit1 import optimizers  # noqa: F401
from dllab.experiments.unit1 import capacity  # noqa: F401
from dllab.experiments.unit1 import activations  # noqa: F401
from dllab.experiments.unit1 import classifiers  # noqa: F401
# isort: on
