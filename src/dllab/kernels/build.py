"""Native CPU kernels: the C sources in dllab/kernels/csrc, built on first use with the
machine's C compiler and loaded with ctypes, as torch.compile's inductor builds its own CPU
kernels.

A built library is cached in `cache_dir()/native`, under a name keyed by the source, the
compiler, its flags and the CPU. The tuned flags (`-march=native`, OpenMP threads) come first;
a compiler that refuses them (Apple's clang has no OpenMP), or a tuned library that does not
load (no OpenMP runtime on the loader's path), gets the portable ones, with which the OpenMP
pragmas are ignored and the kernel runs on one thread. When no library can be built and loaded
(no compiler; a cache directory mounted noexec) `library` returns None, once with a warning, and
callers keep PyTorch's kernels.
"""

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import warnings
from importlib import resources
from pathlib import Path

from dllab.cache import cache_dir

TUNED = (
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",  # where the CPU has AVX-512: a block of 16 channels per register
    "-fno-trapping-math",  # lets float -> double sums vectorise; nothing reads FP exceptions
    "-ffp-contract=fast",  # a * b + c as one FMA (-std=c11 turns contraction off)
    "-fopenmp",
    "-std=c11",
    "-shared",
    "-fPIC",
)
PORTABLE = ("-O3", "-std=c11", "-shared", "-fPIC")  # any C11 compiler


def _cpu_signature() -> str:
    """The CPU's model and instruction-set flags (a library built for one may crash another)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.machine() + platform.processor()
    wanted = ("model name", "flags", "Features")
    return "".join(sorted({line for line in lines if line.startswith(wanted)}))


@functools.cache
def has_avx512() -> bool:
    """Whether the CPU has AVX-512 (the kernels' blocks of 16 floats fill one of its registers;
    with narrower vectors they can lose to PyTorch's own layers)."""
    return " avx512f" in _cpu_signature()


def _build(source: Path, cc: str, flags: tuple[str, ...], target: Path) -> None:
    """Compile `source` into the shared library `target`, atomically (a partial build is never
    seen by another process)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        subprocess.run(
            [cc, *flags, str(source), "-o", str(partial), "-lm"],
            check=True,
            capture_output=True,
            text=True,
        )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def compiler() -> str | None:
    """The C compiler: $CC, else `cc` or `gcc` on the PATH, else None."""
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


@functools.cache
def library(name: str) -> ctypes.CDLL | None:
    """The compiled csrc/`name`.c, or None (with one warning) when it cannot be built and
    loaded here."""
    source = resources.files("dllab.kernels") / "csrc" / f"{name}.c"
    cc = compiler()
    if cc is None:
        warnings.warn(f"dllab: no C compiler, so {name} runs on PyTorch's kernels", stacklevel=2)
        return None
    failures = []
    with resources.as_file(source) as path:
        code, cpu = path.read_bytes(), _cpu_signature()
        for flags in (TUNED, PORTABLE):
            key = "\0".join((cc, *flags, cpu)).encode()
            digest = hashlib.sha256(code + key).hexdigest()[:16]
            target = cache_dir() / "native" / f"{name}-{digest}.so"
            try:
                if not target.exists():
                    _build(path, cc, flags, target)
                return ctypes.CDLL(str(target))
            except (OSError, subprocess.CalledProcessError) as error:
                detail = (getattr(error, "stderr", "") or str(error)).strip().splitlines()
                failures.append(detail[-1] if detail else type(error).__name__)
    warnings.warn(
        f"dllab: could not build and load {name} ({failures[-1]}), so it runs on PyTorch's kernels",
        stacklevel=2,
    )
    return None
