"""The folder dllab keeps what it makes or fetches: data files and built native kernels."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """$DLLAB_CACHE, else ~/.cache/dllab."""
    return Path(os.environ.get("DLLAB_CACHE") or Path.home() / ".cache" / "dllab")
