"""Character-level text: a corpus of int64 character ids, and Python source tagged by token type.

The default text needs no download: the `.py` files of a fixed, sorted list of standard-library
modules of the running Python, concatenated and capped at `max_chars` (module files differ a
little between Python versions, so the corpus does too). Any UTF-8 text file can replace it.
The streams are split contiguously 90/5/5 into train/val/test, as in char-rnn (Karpathy, 2015)
and nanoGPT's shakespeare_char.
"""

import io
import sysconfig
import tokenize
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dllab.data.base import Dataset, check_at_least, register_dataset
from dllab.errors import ConfigError, DataError

STDLIB_FILES = (  # relative to sysconfig's stdlib folder; a file a Python version lacks is skipped
    "argparse.py", "ast.py", "bisect.py", "calendar.py", "collections/__init__.py",
    "configparser.py", "contextlib.py", "copy.py", "csv.py", "dataclasses.py", "difflib.py",
    "enum.py", "fractions.py", "functools.py", "heapq.py", "inspect.py", "json/decoder.py",
    "json/encoder.py", "logging/__init__.py", "pprint.py", "random.py", "shutil.py",
    "statistics.py", "string.py", "subprocess.py", "tarfile.py", "textwrap.py", "threading.py",
    "tokenize.py", "typing.py", "unittest/case.py",
)  # fmt: skip
SPLIT = (0.90, 0.05, 0.05)  # contiguous train / val / test fractions of a stream
TAGS = ("other", "name", "op", "number", "string", "comment")  # "other": whitespace, newlines
TOKEN_TAGS = {  # tokenize token name -> index in TAGS; Python 3.12+ splits f-strings in three
    "NAME": 1, "OP": 2, "NUMBER": 3, "STRING": 4, "FSTRING_START": 4, "FSTRING_MIDDLE": 4,
    "FSTRING_END": 4, "COMMENT": 5,
}  # fmt: skip


def read_text(path: str | Path) -> str:
    """The UTF-8 text of `path`.

    Raises:
        DataError: if the file is missing, empty, or binary (NUL bytes or not UTF-8).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read the text file ({error.strerror})") from error
    if not raw:
        raise DataError(f"{path}: the text file is empty")
    if b"\x00" in raw:
        raise DataError(f"{path}: binary file (contains NUL bytes), expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason})") from error


def source_texts(max_chars: int, path: str | Path | None = None) -> list[str]:
    """Whole source texts totalling at least `max_chars` characters when available.

    With `path`, that one file; otherwise the STDLIB_FILES in order, stopping once enough are read.
    """
    if path is not None:
        return [read_text(path)]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts, total = [], 0
    for name in STDLIB_FILES:
        if total >= max_chars:
            break
        if (stdlib / name).is_file():
            texts.append(read_text(stdlib / name))
            total += len(texts[-1])
    if not texts:
        raise DataError(f"no standard-library sources found in {stdlib}; pass a text file path")
    return texts


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # (len(text),)


def split_stream(stream: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut a 1-D stream into contiguous train/val/test parts of SPLIT fractions."""
    n_train, n_val = int(len(stream) * SPLIT[0]), int(len(stream) * SPLIT[1])
    return stream[:n_train], stream[n_train : n_train + n_val], stream[n_train + n_val :]


@dataclass(frozen=True)
class CharCorpus:
    """A text as int64 character ids, split into contiguous train/val/test streams (90/5/5)."""

    vocab: tuple[str, ...]  # the character of each id, sorted by code point
    train: torch.Tensor  # (L_train,) int64
    val: torch.Tensor  # (L_val,)
    test: torch.Tensor  # (L_test,)

    @classmethod
    def from_text(cls, text: str) -> "CharCorpus":
        """The corpus of `text`, whose distinct characters form the vocabulary."""
        if len(text) < 1 / min(SPLIT):
            raise DataError(f"a text of {len(text)} characters is too short to split 90/5/5")
        codes = _code_points(text)
        table = np.unique(codes)
        ids = torch.from_numpy(np.searchsorted(table, codes).astype(np.int64))
        return cls(tuple(chr(c) for c in table), *split_stream(ids))

    @property
    def _table(self) -> np.ndarray:
        return np.array([ord(c) for c in self.vocab], dtype=np.uint32)

    def encode(self, text: str) -> torch.Tensor:
        """Text -> (len(text),) int64 ids.

        Raises:
            DataError: naming the characters that are not in the vocabulary.
        """
        codes, table = _code_points(text), self._table
        ids = np.searchsorted(table, codes).clip(max=len(table) - 1)
        unknown = sorted(set(chr(c) for c in codes[table[ids] != codes]))
        if unknown:
            raise DataError(f"characters not in the vocabulary: {''.join(unknown)!r}")
        return torch.from_numpy(ids.astype(np.int64))

    def decode(self, ids: torch.Tensor | np.ndarray | list[int]) -> str:
        """(L,) ids -> text."""
        return self._table[np.asarray(ids, dtype=np.int64)].tobytes().decode("utf-32-le")


def load_corpus(path: str | Path | None = None, max_chars: int = 1_000_000) -> CharCorpus:
    """The CharCorpus of the text file `path`, or of the standard-library sources, capped."""
    check_at_least("chars", 1, max_chars=max_chars)
    return CharCorpus.from_text("".join(source_texts(max_chars, path))[:max_chars])


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(L,) -> (batch_size, L // batch_size): batch_size contiguous streams side by side.

    Row b continues where it left off from one slice [:, t:t + T] to the next, so a recurrent
    state can be carried across slices (truncated BPTT, as pytorch/examples word_language_model,
    here batch-first). The tail that does not fill a column is dropped.
    """
    length = len(stream) // batch_size
    if length == 0:
        raise ConfigError(f"a stream of {len(stream)} ids cannot fill batch_size={batch_size}")
    return stream[: length * batch_size].view(batch_size, length)  # (B, L)


def windows(
    stream: torch.Tensor, T: int, stride: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-character pairs from a stream: X (N, T) and y (N, T) = X shifted by one step.

    Windows start every `stride` ids (default T: no overlap).
    """
    if len(stream) <= T:
        raise ConfigError(f"a stream of {len(stream)} ids is too short for windows of T={T}")
    step = stride or T
    return stream[:-1].unfold(0, T, step), stream[1:].unfold(0, T, step)  # (N, T), (N, T)


@register_dataset("chars")
def chars(path: str | None = None, max_chars: int = 1_000_000, T: int = 128) -> Dataset:
    """Next-character prediction: X (N, T) ids, y (N, T) the following ids; classes = vocab."""
    check_at_least("chars", 1, T=T)
    corpus = load_corpus(path, max_chars)
    train, val, test = (windows(s, T) for s in (corpus.train, corpus.val, corpus.test))
    return Dataset(
        "chars", train=train, val=val, test=test, classes=corpus.vocab, vocab=corpus.vocab
    )


def _tag_source(text: str) -> np.ndarray:
    """The TAGS index of every character of Python source `text`: (len(text),) int64.

    Raises:
        DataError: if `text` is not valid Python to the tokenizer.
    """
    lines = io.StringIO(text).readlines()
    line_starts = np.cumsum([0] + [len(line) for line in lines])  # row r starts at [r - 1]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as error:
        raise DataError(f"cannot tokenize the Python source: {error}") from error
    tokens = [t for t in tokens if tokenize.tok_name[t.type] in TOKEN_TAGS]
    tags = np.zeros(len(text), dtype=np.int64)
    if not tokens:
        return tags
    starts = np.array([line_starts[t.start[0] - 1] + t.start[1] for t in tokens])
    ends = np.array([line_starts[t.end[0] - 1] + t.end[1] for t in tokens])
    kinds = np.array([TOKEN_TAGS[tokenize.tok_name[t.type]] for t in tokens])
    lengths = ends - starts
    # every character of every token: its start plus 0, 1, ..., length - 1
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    tags[np.repeat(starts, lengths) + offsets] = np.repeat(kinds, lengths)
    return tags


@register_dataset("python_tags")
def python_token_tags(max_chars: int = 200_000, T: int = 128, path: str | None = None) -> Dataset:
    """Tag every character of Python source with its token type (TAGS), for bidirectional RNNs.

    X (N, T) character ids, y (N, T) tag indices, in non-overlapping windows of contiguous
    90/5/5 train/val/test stretches. Each file is tokenized whole, then the text is capped.
    """
    check_at_least("python_tags", 1, max_chars=max_chars, T=T)
    texts = source_texts(max_chars, path)
    text = "".join(texts)[:max_chars]
    tags = torch.from_numpy(np.concatenate([_tag_source(t) for t in texts])[:max_chars])
    corpus = CharCorpus.from_text(text)
    ids = torch.cat([corpus.train, corpus.val, corpus.test])
    train, val, test = (
        (x.unfold(0, T, T), y.unfold(0, T, T))  # (N, T), (N, T)
        for x, y in zip(split_stream(ids), split_stream(tags))
    )
    return Dataset("python_tags", train=train, val=val, test=test, classes=TAGS, vocab=corpus.vocab)
