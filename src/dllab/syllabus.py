"""The syllabus: units I-V and their topics, the one vocabulary that experiments, exercises,
notebooks and pages name them by."""

UNITS: dict[int, str] = {
    1: "Feed-forward networks",
    2: "Convolutional networks",
    3: "Recurrent networks",
    4: "Generative adversarial networks",
    5: "Autoencoders and hybrids",
}

TOPICS: dict[int, tuple[str, ...]] = {
    1: (
        "perceptron vs MLP on XOR/XNOR",
        "deep feed-forward networks",
        "SGD and its variants",
        "hidden units and capacity",
        "architecture design",
        "backpropagation",
    ),
    2: (
        "convolution",
        "activations",
        "pooling",
        "training a CNN",
        "VGG",
        "GoogLeNet",
        "ResNet",
        "dropout",
        "normalization",
        "data augmentation",
    ),
    3: (
        "BPTT",
        "vanishing and exploding gradients",
        "gradient clipping",
        "LSTM",
        "GRU",
        "bidirectional RNNs",
        "sequence tasks",
    ),
    4: (
        "generative vs discriminative models",
        "vanilla GAN",
        "conditional GAN",
        "DCGAN",
        "Wasserstein GAN",
        "LAPGAN",
        "SRGAN",
        "mode collapse",
    ),
    5: (
        "autoencoder",
        "denoising autoencoder",
        "sparse autoencoder",
        "variational autoencoder",
        "convolutional autoencoder",
        "compression and reconstruction",
        "VAE-GAN",
        "adversarial autoencoder",
        "BiGAN/ALI",
    ),
}


def roman(unit: int) -> str:
    return ("I", "II", "III", "IV", "V")[unit - 1]
