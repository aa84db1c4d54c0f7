"""Model families, one per file; importing this package registers every named variant."""

from dllab.models.registry import create_model, list_models, model_entry, register_model

__all__ = ["create_model", "list_models", "model_entry", "register_model"]
