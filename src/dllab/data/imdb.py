"""The IMDB movie-review sentiment corpus (Maas et al., 2011, "Learning Word Vectors for
Sentiment Analysis") read from its standard folder layout, offline.

    aclImdb/train/pos/*.txt   aclImdb/train/neg/*.txt   aclImdb/test/pos/*.txt   ...

dllab does not download it: give the folder (`aclImdb` itself or the folder holding it) as
`dir`. Reviews become lower-case word ids: 0 pads, 1 stands for a word outside the
`vocab_size` most frequent training words. Each review keeps its first `T` words and is padded
at the front, so that a recurrent net reads the words last, just before classifying.
"""

import re
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from dllab.data.base import Dataset, check_at_least, register_dataset
from dllab.errors import DataError

LABELS = ("neg", "pos")
PAD, UNKNOWN = 0, 1
WORD = re.compile(r"[a-z0-9']+")  # words, after lower-casing and dropping <br /> tags


def find_root(dir: str | Path | None) -> Path:
    """The folder holding train/ and test/: `dir` itself or `dir`/aclImdb.

    Raises:
        DataError: one line saying what is missing and how to point at the data.
    """
    if dir is not None:
        for root in (Path(dir), Path(dir) / "aclImdb"):
            if all(
                (root / split / label).is_dir() for split in ("train", "test") for label in LABELS
            ):
                return root
    where = (
        "no data.dir given" if dir is None else f"{dir} has no aclImdb/{{train,test}}/{{pos,neg}}"
    )
    raise DataError(
        f"imdb: {where}; dllab works offline: download aclImdb_v1.tar.gz from "
        f"ai.stanford.edu/~amaas/data/sentiment/, unpack it and pass --set data.dir=<folder>"
    )


def tokenize(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("<br />", " "))


def read_split(
    root: Path, split: str, max_reviews: int | None
) -> tuple[list[list[str]], list[int]]:
    """Tokenized reviews of `split` and their labels (0 neg, 1 pos), at most `max_reviews`
    per label, in sorted file order."""
    reviews, labels = [], []
    for label, name in enumerate(LABELS):
        files = sorted((root / split / name).glob("*.txt"))[:max_reviews]
        if not files:
            raise DataError(f"imdb: {root / split / name} holds no .txt reviews")
        for path in files:
            try:
                reviews.append(tokenize(path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as error:
                raise DataError(f"imdb: cannot read {path}: {error}") from None
            labels.append(label)
    return reviews, labels


def encode(reviews: list[list[str]], index: dict[str, int], T: int) -> torch.Tensor:
    """Word lists -> ids (N, T): the first T words, front-padded with PAD."""
    ids = np.full((len(reviews), T), PAD, dtype=np.int64)
    for row, words in zip(ids, reviews):  # one row per review: their lengths differ
        kept = [index.get(w, UNKNOWN) for w in words[:T]]
        if kept:
            row[T - len(kept) :] = kept
    return torch.from_numpy(ids)


@register_dataset("imdb")
def imdb(
    dir: str | None = None,
    vocab_size: int = 20_000,
    T: int = 200,
    max_reviews: int | None = None,
) -> Dataset:
    """IMDB sentiment: X (N, T) word ids, y (N,) 0 = negative, 1 = positive; vocab = words.

    Args:
        dir: the aclImdb folder or its parent.
        vocab_size: ids for the most frequent training words, besides PAD and UNKNOWN.
        T: words kept per review.
        max_reviews: at most this many reviews per label and split (None: all 12,500).

    Raises:
        DataError: if the folder is absent or incomplete (one line, naming what to do).
    """
    check_at_least("imdb", 1, vocab_size=vocab_size, T=T, max_reviews=max_reviews or 1)
    root = find_root(dir)
    train_words, train_y = read_split(root, "train", max_reviews)
    test_words, test_y = read_split(root, "test", max_reviews)
    counts = Counter(w for words in train_words for w in words)
    vocab = ("<pad>", "<unk>") + tuple(w for w, _ in counts.most_common(vocab_size))
    index = {w: i for i, w in enumerate(vocab)}
    train = (encode(train_words, index, T), torch.tensor(train_y))
    test = (encode(test_words, index, T), torch.tensor(test_y))
    return Dataset("imdb", train=train, test=test, classes=LABELS, vocab=vocab)
