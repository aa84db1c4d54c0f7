"""Offline datasets behind one registry: `load(name, **options) -> Dataset`, `list_datasets()`.

Importing the loaders' modules registers them; no data is read or built until `load` is called.
"""

from dllab.data import digits, imdb, mnist1d, sequences, text, toy2d, vision
from dllab.data.base import Dataset, get_loader, list_datasets, load
from dllab.data.text import CharCorpus, batchify, load_corpus, windows
from dllab.data.toy2d import mixture_modes

__all__ = [
    "CharCorpus",
    "Dataset",
    "batchify",
    "digits",
    "get_loader",
    "imdb",
    "list_datasets",
    "load",
    "load_corpus",
    "mixture_modes",
    "mnist1d",
    "sequences",
    "text",
    "toy2d",
    "vision",
    "windows",
]
