"""Model families, one per file; importing this package registers every named variant."""

# Importing a family registers its variants.
from dllab.models import cnn, googlenet, mlp, resnet, rnn, seq2seq, vgg  # noqa: F401
from dllab.models.registry import create_model, list_models, model_entry, register_model

__all__ = ["create_model", "list_models", "model_entry", "register_model"]
