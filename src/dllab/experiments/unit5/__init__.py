"""Unit V experiments: autoencoders (dense, convolutional, denoising, sparse), the variational
autoencoder, the autoencoder-GAN hybrids, and what they are used for: compression, denoising,
inpainting, anomaly detection.

One module per theme; importing the package registers every experiment:

- `compression`: `ae-compression` (vs PCA), `sparse-ae`, `conv-ae`;
- `corruption`: `denoising`, `anomaly-detection`, `inpainting`;
- `variational`: `vae`;
- `hybrids`: `aae`, `bigan`, `ali`, `vae-gan`, `ae-vs-gan`.
"""

# Import order is registration order, the order `dllab list` shows.
# isort: off
from dllab.experiments.unit5 import compression  # noqa: F401
from dllab.experiments.unit5 import corruption  # noqa: F401
from dllab.experiments.unit5 import variational  # noqa: F401
from dllab.experiments.unit5 import hybrids  # noqa: F401
# isort: on
