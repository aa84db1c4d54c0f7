"""Multilayer perceptrons: the perceptron (Rosenblatt, 1958), the 2-2-1 XOR network trained by
back-propagation (Rumelhart, Hinton & Williams, 1986, "Learning internal representations by error
propagation"), and the MLPs of the digits and MNIST-1D benchmarks (Greydanus, 2020, "Scaling down
deep learning")."""

from collections.abc import Sequence

from torch import Tensor, nn

from dllab.models.registry import register_model
from dllab.nn import activation as make_activation
from dllab.nn import dropout as make_dropout
from dllab.nn import norm as make_norm


class MLP(nn.Module):
    """Flatten, then [Linear -> norm -> activation -> dropout] per hidden layer, then Linear.

    Input (B, *) is flattened to (B, in_features); output (B, num_outputs) are logits unless
    `output_activation` is given.

    Args:
        num_hiddens: widths of the hidden layers; empty for a single linear layer.
        activation: hidden non-linearity, any name of `dllab.nn.activation`.
        norm: None, "batch" or "layer", applied before each hidden activation.
        output_activation: e.g. "sigmoid" for probabilities; None keeps logits.
    """

    def __init__(
        self,
        in_features: int,
        num_hiddens: Sequence[int],
        num_outputs: int,
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str | None = None,
        output_activation: str | None = None,
    ):
        super().__init__()
        widths = (in_features, *num_hiddens)
        layers: list[nn.Module] = [nn.Flatten()]
        for fan_in, fan_out in zip(widths, widths[1:]):
            layers += [
                nn.Linear(fan_in, fan_out),
                make_norm(norm, fan_out, dims=0),
                make_activation(activation),
                make_dropout(dropout),
            ]
        layers += [nn.Linear(widths[-1], num_outputs), make_activation(output_activation)]
        self.net = nn.Sequential(*(m for m in layers if not isinstance(m, nn.Identity)))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # (B, *) -> (B, num_outputs)


@register_model(input_shape=(2,))
def perceptron(in_features: int = 2, num_outputs: int = 1) -> MLP:
    """One linear layer, y_hat = w·x + b: a linear decision boundary (Rosenblatt, 1958)."""
    return MLP(in_features, (), num_outputs)


@register_model(input_shape=(64,))
def mlp(
    in_features: int = 64,
    num_hiddens: tuple[int, ...] = (128,),
    num_outputs: int = 10,
    activation: str = "relu",
    dropout: float = 0.0,
    norm: str | None = None,
) -> MLP:
    """A general MLP; the defaults fit the 8x8 digits (64 inputs, 10 classes)."""
    return MLP(in_features, num_hiddens, num_outputs, activation, dropout, norm)


@register_model(input_shape=(2,))
def xor_mlp(in_features: int = 2, num_hiddens: int = 2, activation: str = "sigmoid") -> MLP:
    """The 2-2-1 network that learns XOR (Rumelhart et al., 1986); one output logit."""
    return MLP(in_features, (num_hiddens,), 1, activation)


@register_model(input_shape=(64,))
def digits_mlp(
    num_classes: int = 10, in_features: int = 64, dropout: float = 0.0, norm: str | None = None
) -> MLP:
    """64 -> 128 -> 64 -> 10 for scikit-learn's 8x8 digits (17,226 parameters)."""
    return MLP(in_features, (128, 64), num_classes, "relu", dropout, norm)


@register_model(input_shape=(40,))
def mnist1d_mlp(num_classes: int = 10, in_features: int = 40, num_hiddens: int = 100) -> MLP:
    """40 -> 100 -> 100 -> 10 with ReLU, the sizes of the MNIST-1D paper's MLP (15,210
    parameters); `mnist1d_mlp_paper` adds the skip its code has around the second layer."""
    return MLP(in_features, (num_hiddens, num_hiddens), num_classes)


class SkipMLP(nn.Module):
    """The MNIST-1D paper's MLP as its code writes it (`MLPBase` in greydanus/mnist1d):
    h = relu(W1 x + b1); h = h + relu(W2 h + b2); logits = W3 h + b3."""

    def __init__(self, in_features: int, num_hiddens: int, num_outputs: int):
        super().__init__()
        self.linear1 = nn.Linear(in_features, num_hiddens)
        self.linear2 = nn.Linear(num_hiddens, num_hiddens)
        self.linear3 = nn.Linear(num_hiddens, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear1(x.flatten(1)).relu()  # (B, H)
        h = h + self.linear2(h).relu()  # the skip of the paper's code
        return self.linear3(h)  # (B, num_outputs)


@register_model(input_shape=(40,))
def mnist1d_mlp_paper(num_classes: int = 10, in_features: int = 40, num_hiddens: int = 100):
    """The MNIST-1D paper's MLP with its skip connection (15,210 parameters)."""
    return SkipMLP(in_features, num_hiddens, num_classes)
