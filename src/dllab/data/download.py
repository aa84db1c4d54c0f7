"""HTTPS downloads checked by SHA-256.

Nothing is downloaded unless a loader is called with `download=True`. Every file is written to a
temporary name in its destination folder and renamed into place (`dllab.atomic`), so a crash or
a bad download never leaves a half-written file under the real name.
"""

import hashlib
import http.client
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dllab.atomic import write_atomic
from dllab.errors import DataError

CHUNK = 1 << 20  # bytes read per step while streaming


@dataclass(frozen=True)
class Resource:
    """A file with a published SHA-256, and the HTTPS mirrors that serve it, tried in order."""

    filename: str
    sha256: str
    urls: tuple[str, ...]


def _idx_files(mirrors: tuple[str, ...], sha256: dict[str, str]) -> tuple[Resource, ...]:
    return tuple(Resource(f, s, tuple(m + f for m in mirrors)) for f, s in sha256.items())


# SHA-256 sums as published by TensorFlow Datasets (url_checksums) and torchvision's mirrors.
# MNIST: LeCun, Cortes & Burges; yann.lecun.com serves plain HTTP only, so the HTTPS mirrors of
# torchvision (ossci-datasets) and TensorFlow (cvdf-datasets) serve the same bytes.
# Fashion-MNIST: Xiao, Rasul & Vollgraf (2017), from the authors' repository.
# CIFAR-10: Krizhevsky (2009), the python pickle archive from the author's page.
RESOURCES: dict[str, tuple[Resource, ...]] = {
    "mnist": _idx_files(
        (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        {
            "train-images-idx3-ubyte.gz": (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
            ),
            "train-labels-idx1-ubyte.gz": (
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
            ),
            "t10k-images-idx3-ubyte.gz": (
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
            ),
        },
    ),
    "fashion_mnist": _idx_files(
        ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",),
        {
            "train-images-idx3-ubyte.gz": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
            ),
            "train-labels-idx1-ubyte.gz": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
            ),
            "t10k-images-idx3-ubyte.gz": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
            ),
        },
    ),
    "cifar10": (
        Resource(
            "cifar-10-python.tar.gz",
            "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
        ),
    ),
}


def _stream(url: str, path: Path, sha256: str, timeout: float) -> None:
    """Write the body of `url` to `path`, raising DataError unless its SHA-256 is `sha256`."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout) as response, open(path, "wb") as out:
        while chunk := response.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256.lower():
        raise DataError(
            f"{url}: SHA-256 mismatch (expected {sha256}, got {digest.hexdigest()}); "
            "the downloaded file was deleted"
        )


def download(url: str, dest: str | Path, sha256: str, timeout: float = 60.0) -> Path:
    """Stream `url` to `dest`, keeping it only if its SHA-256 equals `sha256`.

    Raises:
        DataError: for a non-HTTPS url, a network failure, or a checksum mismatch (the
            downloaded bytes are deleted).
    """
    if not url.startswith("https://"):
        raise DataError(f"refusing to download {url}: only https:// URLs are allowed")
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dest, lambda tmp: _stream(url, tmp, sha256, timeout))
    except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
        raise DataError(f"could not download {url}: {error}") from error
    return dest


def fetch(resource: Resource, folder: Path) -> Path:
    """Download `resource` into `folder` from the first mirror that serves it intact.

    Raises:
        DataError: naming every mirror's failure when none succeeds.
    """
    failures = []
    for url in resource.urls:
        try:
            return download(url, folder / resource.filename, resource.sha256)
        except DataError as error:
            failures.append(str(error))
    raise DataError("; ".join(failures))
