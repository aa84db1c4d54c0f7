"""Model families, one per file; importing this package registers every named variant."""

# Importing a family registers its variants.
from dllab.models import (  # noqa: F401
    autoencoder,
    cnn,
    dcgan,
    gan,
    googlenet,
    hybrid,
    lapgan,
    mlp,
    pixelcnn,
    resnet,
    rnn,
    seq2seq,
    srgan,
    vae,
    vgg,
)
from dllab.models.registry import create_model, list_models, model_entry, register_model

__all__ = ["create_model", "list_models", "model_entry", "register_model"]
