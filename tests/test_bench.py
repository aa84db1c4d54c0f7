"""Every benchmark script imports and has a `main`: a module renamed or moved in `src/` breaks
`make bench` here, in the test suite, not at the next benchmark run."""

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench"


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")  # bench_rnn's baseline
@pytest.mark.parametrize("script", sorted(p.stem for p in BENCH.glob("bench_*.py")))
def test_every_benchmark_imports_and_has_a_main(script):
    module = importlib.import_module(f"bench.{script}")
    assert callable(module.main)
    assert module.__doc__  # what it measures, its target and its command
