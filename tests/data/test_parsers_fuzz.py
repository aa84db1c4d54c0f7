"""Property tests: any bytes given to the IDX and CIFAR parsers load or raise DataError."""

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dllab.data.vision import read_cifar_batch, read_idx
from dllab.errors import DataError

FUZZ = settings(max_examples=150, deadline=None)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "file"


@pytest.fixture(scope="module")
def seeds(fmt):
    """Valid files to mutate: plain and gzipped IDX, and a CIFAR batch as the real ones."""
    idx = fmt.idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    return {"idx": idx, "idx.gz": gzip.compress(idx), "cifar": fmt.cifar_bytes(fmt.cifar_batch(2))}


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None, tail: bytes) -> bytes:
    """Overwrite bytes at (position, value) edits, optionally truncate, then append `tail`."""
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out) + tail


def loads_or_data_error(read, path) -> None:
    try:
        read(path)
    except DataError as error:
        assert "\n" not in str(error)


mutations = st.tuples(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    st.none() | st.integers(0, 10**5),
    st.binary(max_size=8),
)


@FUZZ
@given(data=st.binary(max_size=300))
def test_read_idx_random_bytes(scratch, data):
    scratch.write_bytes(data)
    loads_or_data_error(read_idx, scratch)


@pytest.mark.slow
@FUZZ
@given(which=st.sampled_from(["idx", "idx.gz"]), mutation=mutations)
def test_read_idx_mutated_bytes(scratch, seeds, which, mutation):
    scratch.write_bytes(mutate(seeds[which], *mutation))
    loads_or_data_error(read_idx, scratch)


@FUZZ
@given(data=st.binary(max_size=300))
def test_read_cifar_random_bytes(scratch, data):
    scratch.write_bytes(data)
    loads_or_data_error(read_cifar_batch, scratch)


@pytest.mark.slow
@FUZZ
@given(mutation=mutations)
def test_read_cifar_mutated_bytes(scratch, seeds, mutation):
    scratch.write_bytes(mutate(seeds["cifar"], *mutation))
    loads_or_data_error(read_cifar_batch, scratch)
