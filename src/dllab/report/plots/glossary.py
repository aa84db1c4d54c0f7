"""Words for the keys that code uses: a figure says "Leaky ReLU", "discriminator loss" and
"MLP, XOR, start 3", never `leaky_relu`, `loss_d` or `mlp-xor-init3`.

`canonical` folds the spellings of one name together (`rnn_tanh`, `RNN tanh` and `rnn` are the
tanh RNN), so that the palette and the glossary look names up in one form; `words` turns a
metric, method or model name into the text a figure shows.
"""

import re

ALIASES = {
    "rnn": "tanh rnn",
    "rnn tanh": "tanh rnn",
    "elman": "tanh rnn",
    "rnn relu": "relu rnn",
    "avg": "average",
    "mean": "average",
    "leaky-relu": "leaky relu",
    "leakyrelu": "leaky relu",
    "full batch gd": "full-batch gd",
    "gd": "full-batch gd",
    "mini batch sgd": "mini-batch sgd",
    "sgd": "mini-batch sgd",
    "per sample sgd": "per-sample sgd",
    "salt pepper": "salt and pepper",
    "vae gan": "vae-gan",
    "vaegan": "vae-gan",
    "wgan gp": "wgan-gp",
    "wgan": "wgan-gp",
    "vanilla": "minimax",
    "non saturating": "non-saturating",
    "nonsaturating": "non-saturating",
    "dense": "dense ae",
    "conv": "conv ae",
    "residual": "resnet",
    "logistic": "logistic regression",
    "nb": "naive bayes",
}

WORDS = {
    # models and methods
    "mlp": "MLP",
    "cnn": "CNN",
    "tanh rnn": "tanh RNN",
    "relu rnn": "ReLU RNN",
    "irnn": "IRNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "linear ar": "linear AR",
    "pca": "PCA",
    "ae": "AE",
    "dense ae": "dense AE",
    "conv ae": "conv AE",
    "dae": "denoising AE",
    "vae": "VAE",
    "vae-gan": "VAE-GAN",
    "aae": "AAE",
    "gan": "GAN",
    "dcgan": "DCGAN",
    "wgan-gp": "WGAN-GP",
    "pacgan": "PacGAN",
    "pixelcnn": "PixelCNN",
    "vgg": "VGG",
    "googlenet": "GoogLeNet",
    "naive googlenet": "naive GoogLeNet",
    "resnet": "ResNet",
    "relu": "ReLU",
    "leaky relu": "Leaky ReLU",
    "elu": "ELU",
    "gelu": "GELU",
    "full-batch gd": "full-batch GD",
    "mini-batch sgd": "mini-batch SGD",
    "per-sample sgd": "per-sample SGD",
    "rmsprop": "RMSProp",
    "adam": "Adam",
    "adamw": "AdamW",
    "nesterov": "Nesterov",
    "gaussian": "Gaussian",
    "naive bayes": "naive Bayes",
    "xor": "XOR",
    "xnor": "XNOR",
    "and": "AND",
    "or": "OR",
    "bi": "bidirectional",
    "uni": "one-way",
    # metrics of the history records
    "loss d": "discriminator loss",
    "loss g": "generator loss",
    "d real": "D(x) on real samples",
    "d fake": "D(G(z)) on generated samples",
    "kl": "KL divergence (nats)",
    "elbo": "ELBO (nats)",
    "recon": "reconstruction error",
    "recon mse": "reconstruction MSE",
    "feature nll": "feature NLL (nats)",
    "grad norm": "gradient norm",
    "lr": "learning rate",
    "mnist1d mlp": "MLP",
}

# Parts of model names written by the experiments: mlp-xor-init3, ae-k8-noise0.1, plain56...
PARTS = (
    (re.compile(r"init(\d+)"), r"start \1"),
    (re.compile(r"T(\d+)"), r"T = \1"),
    (re.compile(r"k(\d+)"), r"k = \1"),
    (re.compile(r"n(\d+)"), r"n = \1"),
    (re.compile(r"r(\d+)"), r"repeat \1"),
    (re.compile(r"d(\d+)"), r"depth \1"),
    (re.compile(r"w(\d+)"), r"width \1"),
    (re.compile(r"seed(\d+)"), r"seed \1"),
    (re.compile(r"noise([\d.]+)"), r"noise \1"),
    (re.compile(r"plain(\d+)"), r"plain-\1"),
    (re.compile(r"resnet(\d+)"), r"ResNet-\1"),
)

# What the loss of each named objective measures, for the axis that draws it.
LOSS_UNITS = {
    "cross_entropy": "cross-entropy (nats)",
    "bce": "binary cross-entropy (nats)",
    "mse": "MSE",
    "l1": "mean absolute error",
    "nll": "negative log-likelihood (nats)",
    "discriminator": "discriminator (critic) loss",
}


def canonical(name: str) -> str:
    """One spelling per name: lower case, `_` as a space, known aliases resolved."""

    key = " ".join(str(name).replace("_", " ").lower().split())
    return ALIASES.get(key, key)


def words(name: str) -> str:
    """The words a figure shows for a metric, method or model name."""

    key = canonical(name)
    if key.startswith("val "):
        return "validation " + words(key.removeprefix("val "))
    if key in WORDS:
        return WORDS[key]
    text = str(name).strip()
    if " " in text:  # already words
        return key
    return ", ".join(_part(part) for part in text.split("-"))  # mlp-xor-init3: its parts


def _part(part: str) -> str:
    key = canonical(part)
    if key in WORDS:
        return WORDS[key]
    for pattern, replacement in PARTS:
        if pattern.fullmatch(part):
            return pattern.sub(replacement, part)
    return key
