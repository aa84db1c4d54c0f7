"""Unit II experiments: convolutional networks, their building blocks, architectures and training
(MNIST-1D, scikit-learn's 8x8 digits, CIFAR-10 or CIFAR-shaped synthetic images).

One module per theme; importing the package registers every experiment:

- `mnist1d`: `mnist1d-cnn` (CNN vs MLP, test-time shifts), `degradation` (plain vs residual depth);
- `inductive_bias`: `inductive-bias` (MNIST-1D and its shuffled twin: why convolution works);
- `digits`: `digits-cnn`, `feature-maps` (a small CNN on 8x8 digits and what its first layer sees);
- `variants`: `pooling`, `activations-cnn`, `dropout`, `normalization` (one block varied at a time);
- `augmentation`: `augmentation` (ablation on few labels), `augment-gallery`;
- `architectures`: `architectures` (VGG, GoogLeNet, ResNet on the same digits);
- `transfer`: `transfer-learning` (frozen, partly frozen, free backbone vs scratch);
- `cifar`: `cifar10-cnn` (the notes' Keras model), `cifar10-resnet`.
"""

# Import order is registration order, the order `dllab list` shows.
# isort: off
from dllab.experiments.unit2 import mnist1d  # noqa: F401
from dllab.experiments.unit2 import inductive_bias  # noqa: F401
from dllab.experiments.unit2 import digits  # noqa: F401
from dllab.experiments.unit2 import variants  # noqa: F401
from dllab.experiments.unit2 import augmentation  # noqa: F401
from dllab.experiments.unit2 import architectures  # noqa: F401
from dllab.experiments.unit2 import transfer  # noqa: F401
from dllab.experiments.unit2 import cifar  # noqa: F401

# isort: on
from dllab.experiments.unit2.mnist1d import shifted_logits
from dllab.experiments.unit2.transfer import Frozen

__all__ = ["Frozen", "shifted_logits"]
