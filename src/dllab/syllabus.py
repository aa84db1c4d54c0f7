"""The syllabus: units I-V, their topics (the one vocabulary that experiments, exercises,
notebooks and pages name them by) and the code that implements each topic, the readable version
first (docs/syllabus.md is generated from these and the registry: `dllab list --syllabus`)."""

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

# topic -> the functions, classes or modules that implement it (dotted names; a test imports
# each). Where the NumPy engine has the piece, it comes first: it is the one to read.
CODE: dict[str, tuple[str, ...]] = {
    "perceptron vs MLP on XOR/XNOR": ("dllab.models.mlp.perceptron", "dllab.models.mlp.xor_mlp"),
    "deep feed-forward networks": ("dllab.scratch.layers", "dllab.models.mlp.MLP"),
    "SGD and its variants": ("dllab.scratch.optim", "dllab.engine.optim.make_optimizer"),
    "hidden units and capacity": ("dllab.models.mlp.MLP",),
    "architecture design": ("dllab.models.mlp.MLP", "dllab.nn.init_for_activation_"),
    "backpropagation": ("dllab.scratch.layers", "dllab.experiments.walkthroughs.chain_rule"),
    "convolution": (
        "dllab.scratch.conv.Conv2D",
        "dllab.nn.ConvBlock",
        "dllab.models.cnn.digits_cnn",
    ),
    "activations": ("dllab.nn.activation",),
    "pooling": (
        "dllab.scratch.conv.MaxPool2D",
        "dllab.nn.pool",
        "dllab.nn.MinPool",
        "dllab.nn.GlobalPool",
    ),
    "training a CNN": (
        "dllab.models.cnn.digits_cnn",
        "dllab.models.cnn.keras_cifar_cnn",
        "dllab.engine.Trainer",
    ),
    "VGG": ("dllab.models.vgg.vgg_small",),
    "GoogLeNet": ("dllab.models.googlenet.GoogLeNet",),
    "ResNet": ("dllab.models.resnet.cifar_resnet", "dllab.models.resnet.resnet20"),
    "dropout": ("dllab.nn.dropout",),
    "normalization": ("dllab.scratch.norm", "dllab.nn.norm"),
    "data augmentation": ("dllab.data.augment", "dllab.engine.augmented.Augmented"),
    "BPTT": ("dllab.scratch.recurrent", "dllab.models.rnn.TruncatedBPTT"),
    "vanishing and exploding gradients": (
        "dllab.nn.recurrent.ExplicitRecurrent",
        "dllab.models.rnn.HiddenGradients",
    ),
    "gradient clipping": (
        "dllab.scratch.optim.clip_grad_norm",
        "dllab.engine.optim.ClipNorm",
        "dllab.engine.optim.ClipValue",
    ),
    "LSTM": (
        "dllab.nn.recurrent.lstm_step",
        "dllab.nn.recurrent.LSTMCell",
        "dllab.models.rnn.lstm",
    ),
    "GRU": ("dllab.nn.recurrent.gru_step", "dllab.nn.recurrent.GRUCell", "dllab.models.rnn.gru"),
    "bidirectional RNNs": ("dllab.models.rnn.RecurrentNet", "dllab.models.rnn.bigru"),
    "sequence tasks": (
        "dllab.data.sequences",
        "dllab.models.seq2seq.Seq2Seq",
        "dllab.models.seq2seq.TeacherForcing",
    ),
    "generative vs discriminative models": (
        "dllab.experiments.unit4.generative.fit_gaussian_naive_bayes",
        "dllab.models.pixelcnn.PixelCNN",
    ),
    "vanilla GAN": (
        "dllab.models.gan.GAN",
        "dllab.models.gan.GANTask",
        "dllab.models.gan.MLPGenerator",
        "dllab.models.gan.MLPDiscriminator",
    ),
    "conditional GAN": ("dllab.models.gan.GAN.condition",),
    "DCGAN": ("dllab.models.dcgan.DCGANGenerator", "dllab.models.dcgan.DCGANDiscriminator"),
    "Wasserstein GAN": ("dllab.models.gan.gradient_penalty", "dllab.models.gan.GANTask"),
    "LAPGAN": ("dllab.models.lapgan.laplacian_pyramid", "dllab.models.lapgan.reconstruct"),
    "SRGAN": ("dllab.models.srgan.SRGenerator", "dllab.models.srgan.SuperResolutionTask"),
    "mode collapse": ("dllab.metrics.mode_coverage", "dllab.models.gan.GANTask"),
    "autoencoder": ("dllab.models.autoencoder.DenseAutoencoder",),
    "denoising autoencoder": (
        "dllab.models.autoencoder.corrupt",
        "dllab.models.autoencoder.Denoising",
    ),
    "sparse autoencoder": (
        "dllab.models.autoencoder.sparsity_kl",
        "dllab.models.autoencoder.Sparse",
    ),
    "variational autoencoder": ("dllab.models.vae.VAE", "dllab.models.vae.ELBO"),
    "convolutional autoencoder": ("dllab.models.autoencoder.ConvAutoencoder",),
    "compression and reconstruction": ("dllab.models.autoencoder.DenseAutoencoder",),
    "VAE-GAN": ("dllab.models.hybrid.VAEGAN", "dllab.models.hybrid.VAEGANTask"),
    "adversarial autoencoder": (
        "dllab.models.hybrid.AdversarialAutoencoder",
        "dllab.models.hybrid.AdversarialAutoencoding",
    ),
    "BiGAN/ALI": ("dllab.models.hybrid.BiGAN", "dllab.models.hybrid.BidirectionalGAN"),
}


def roman(unit: int) -> str:
    return ("I", "II", "III", "IV", "V")[unit - 1]
