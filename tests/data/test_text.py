"""Character corpora: vocab, encode/decode, 90/5/5 streams, batches, windows, token tags."""

import pytest
import torch

from dllab.data import CharCorpus, batchify, load, load_corpus, windows
from dllab.data.text import TAGS, read_text
from dllab.errors import ConfigError, DataError

TEXT = "hello, wörld! " * 50  # 700 characters, one non-ASCII


def test_corpus_vocab_round_trip_and_contiguous_split(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TEXT, encoding="utf-8")
    corpus = load_corpus(path)
    assert corpus.vocab == tuple(sorted(set(TEXT)))
    assert [len(s) for s in (corpus.train, corpus.val, corpus.test)] == [630, 35, 35]
    assert corpus.train.dtype == torch.int64
    whole = torch.cat([corpus.train, corpus.val, corpus.test])
    assert corpus.decode(whole) == TEXT
    assert torch.equal(corpus.encode(TEXT), whole)
    assert torch.equal(
        load_corpus(path, max_chars=100).encode(TEXT[:100]), corpus.encode(TEXT[:100])
    )


def test_encode_refuses_unknown_characters():
    corpus = CharCorpus.from_text(TEXT)
    with pytest.raises(DataError, match="characters not in the vocabulary: 'xz'"):
        corpus.encode("hex zero")


def test_batchify_and_windows():
    stream = torch.arange(103)
    batches = batchify(stream, 4)
    assert batches.shape == (4, 25) and torch.equal(batches[1], torch.arange(25, 50))
    X, y = windows(stream, 10)
    assert X.shape == (10, 10) and torch.equal(y, X + 1) and torch.equal(X[1], torch.arange(10, 20))
    assert windows(stream, 10, stride=5)[0].shape == (19, 10)  # starts 0, 5, ..., 90
    with pytest.raises(ConfigError, match="cannot fill batch_size=200"):
        batchify(stream, 200)
    with pytest.raises(ConfigError, match="too short for windows of T=103"):
        windows(stream, 103)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read the text file"),
        (b"", "the text file is empty"),
        (b"abc\x00def", "binary file (contains NUL bytes)"),
        (b"caf\xe9 au lait", "not UTF-8 text (byte 3"),
    ],
)
def test_bad_text_files_are_one_line_data_errors(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError) as error:
        read_text(path)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_default_corpus_is_python_source_capped():
    corpus = load_corpus(max_chars=50_000)
    whole = corpus.decode(torch.cat([corpus.train, corpus.val, corpus.test]))
    assert len(whole) == 50_000 and "def " in whole and "import " in whole


def test_chars_dataset(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TEXT, encoding="utf-8")
    ds = load("chars", path=str(path), T=8)
    X, y = ds.train
    assert X.shape == ((630 - 1) // 8, 8) and X.dtype == torch.int64
    assert torch.equal(X[:, 1:], y[:, :-1]) and ds.vocab == ds.classes
    assert len(ds.vocab) == len(set(TEXT))


def test_python_token_tags_label_each_character(tmp_path):
    source = "x = 12  # hi\ns = 'ab' + x\n" * 40
    path = tmp_path / "src.py"
    path.write_text(source)
    ds = load("python_tags", path=str(path), T=26)
    X, y = ds.train
    line = "".join(ds.vocab[i] for i in X[0].tolist())
    assert line == source[:26]
    tags = "".join("-nmsSc"[t] for t in y[0].tolist())
    assert tags == "n-m-ss--cccc-n-m-SSSS-m-n-"
    assert ds.classes == TAGS and y.max() < len(TAGS)


def test_python_token_tags_on_the_standard_library():
    ds = load("python_tags", max_chars=30_000, T=64)
    counts = torch.bincount(ds.train[1].flatten(), minlength=len(TAGS))
    assert (counts > 0).all()  # every tag occurs in real source
    assert ds.train[0].shape[1] == 64


def test_invalid_python_is_a_data_error(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def f(:\n    '''never closed\n" * 10)
    with pytest.raises(DataError, match="cannot tokenize"):
        load("python_tags", path=str(path), T=8)
