"""Unit IV experiments: generative adversarial networks, mode collapse and its measurement, and
the other generative families of the notes.

One module per theme; importing the package registers every experiment:

- `mixtures`: `gan-2d` (mode collapse on 2-D Gaussian mixtures, and its cure);
- `images`: `gan-digits`, `cgan-digits`, `dcgan`, `gan-augmentation`;
- `generative`: `generative-vs-discriminative`, `pixelcnn`;
- `resolution`: `lapgan`, `srgan`.
"""

# Import order is registration order, the order `dllab list` shows.
# isort: off
from dllab.experiments.unit4 import mixtures  # noqa: F401
from dllab.experiments.unit4 import images  # noqa: F401
from dllab.experiments.unit4 import generative  # noqa: F401
from dllab.experiments.unit4 import resolution  # noqa: F401
# isort: on
