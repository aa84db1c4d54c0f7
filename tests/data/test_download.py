"""Downloads, offline: urllib.request.urlopen is replaced by a server of bytes the test wrote."""

import gzip
import hashlib
import re

import numpy as np
import pytest

from dllab.data import load
from dllab.data.download import RESOURCES, Resource, download, fetch
from dllab.errors import DataError

URL = "https://example.org/data.bin"
PAYLOAD = b"some bytes worth checking" * 1000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_success(tmp_path, serve):
    opened = serve({URL: PAYLOAD})
    dest = download(URL, tmp_path / "sub" / "data.bin", sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and opened == [URL]
    assert [p.name for p in dest.parent.iterdir()] == ["data.bin"]  # no temporary file left


def test_download_refuses_plain_http(tmp_path, serve):
    opened = serve({URL.replace("https", "http"): PAYLOAD})
    with pytest.raises(DataError, match="only https:// URLs are allowed"):
        download(URL.replace("https", "http"), tmp_path / "data.bin", sha(PAYLOAD))
    assert opened == [] and not list(tmp_path.iterdir())


def test_checksum_mismatch_deletes_the_download(tmp_path, serve):
    serve({URL: PAYLOAD + b"tampered"})
    with pytest.raises(DataError, match="SHA-256 mismatch .* the downloaded file was deleted"):
        download(URL, tmp_path / "data.bin", sha(PAYLOAD))
    assert not list(tmp_path.iterdir())


def test_network_failure_is_a_data_error(tmp_path, serve):
    serve({})
    with pytest.raises(DataError, match="could not download https://example.org/data.bin"):
        download(URL, tmp_path / "data.bin", sha(PAYLOAD))
    assert not list(tmp_path.iterdir())


def test_fetch_falls_back_to_the_next_mirror(tmp_path, serve):
    mirrors = ("https://a.example/f", "https://b.example/f")
    opened = serve({mirrors[1]: PAYLOAD})
    assert fetch(Resource("f", sha(PAYLOAD), mirrors), tmp_path).read_bytes() == PAYLOAD
    assert opened == list(mirrors)


def test_recorded_resources_are_https_with_sha256():
    assert set(RESOURCES) == {"mnist", "fashion_mnist", "cifar10"}
    for resources in RESOURCES.values():
        for resource in resources:
            assert re.fullmatch(r"[0-9a-f]{64}", resource.sha256), resource.sha256
            assert resource.urls and all(u.startswith("https://") for u in resource.urls)
            assert all(u.endswith(resource.filename) for u in resource.urls)


def test_mnist_download_then_load(tmp_path, serve, fmt, monkeypatch):
    files, resources = {}, []
    arrays = {"train": fmt.mnist_arrays(8, 0), "test": fmt.mnist_arrays(4, 1)}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        for kind, array in zip(("images-idx3", "labels-idx1"), arrays[split]):
            name = f"{prefix}-{kind}-ubyte.gz"
            data = gzip.compress(fmt.idx_bytes(array))
            files[f"https://mirror.example/{name}"] = data
            resources.append(Resource(name, sha(data), (f"https://mirror.example/{name}",)))
    monkeypatch.setitem(RESOURCES, "mnist", tuple(resources))
    serve(files)
    ds = load("mnist", dir=str(tmp_path), download=True)
    assert ds.train[0].shape == (8, 1, 28, 28)
    np.testing.assert_array_equal(ds.test[1].numpy(), arrays["test"][1])


def test_cifar10_download_extracts_the_batches(tmp_path, serve, fmt, monkeypatch):
    archive = fmt.cifar_archive(n=2)
    url = "https://mirror.example/cifar-10-python.tar.gz"
    monkeypatch.setitem(
        RESOURCES, "cifar10", (Resource("cifar-10-python.tar.gz", sha(archive), (url,)),)
    )
    monkeypatch.setenv("DLLAB_CACHE", str(tmp_path))
    serve({url: archive})
    ds = load("cifar10", download=True)
    assert ds.train[0].shape == (10, 3, 32, 32) and ds.test[0].shape == (2, 3, 32, 32)
    folder = tmp_path / "cifar10"
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-batches-py"]  # archive removed
    assert len(load("cifar10").train[0]) == 10  # found again without downloading
