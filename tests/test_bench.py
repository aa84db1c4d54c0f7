"""Every benchmark script imports and has a `main`: a module renamed or moved in `src/` breaks
`make bench` here, in the test suite, not at the next benchmark run. The benchmarks' own
epoch clock is checked against the Trainer's."""

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch
from bench import EpochTimer

from dllab.engine import Trainer

BENCH = Path(__file__).parents[1] / "bench"


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")  # bench_rnn's baseline
@pytest.mark.parametrize("script", sorted(p.stem for p in BENCH.glob("bench_*.py")))
def test_every_benchmark_imports_and_has_a_main(script):
    module = importlib.import_module(f"bench.{script}")
    assert callable(module.main)
    assert module.__doc__  # what it measures, its target and its command


def test_the_epoch_timer_times_each_epoch_from_the_end_of_fits_setup():
    timer = EpochTimer()
    trainer = Trainer(torch.nn.Linear(3, 2), "sgd", callbacks=[timer], quiet=True)
    data = (torch.randn(16, 3), torch.randint(0, 2, (16,)))
    trainer.fit(data, num_epochs=2, batch_size=4)
    trainer.fit(data, num_epochs=1, batch_size=4)  # one more
    assert len(timer.times) == 3
    cumulative = [record["time"] for record in trainer.history.epochs]
    for (wall, cpu), epoch in zip(timer.times, [cumulative[0], *np.diff(cumulative)]):
        assert 0 < epoch <= wall and cpu >= 0  # the Trainer's own clock runs inside the epoch


def test_a_result_file_says_where_and_when_it_was_measured(tmp_path, monkeypatch):
    import json

    import bench

    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    path = bench.save_results("probe", {"ratio": 1.5}, quiet=True)
    saved = json.loads(path.read_text())
    assert saved["ratio"] == 1.5
    machine = saved["machine"]
    assert machine["torch"] == torch.__version__ and machine["torch_threads"] >= 1
    assert len(machine["load_average"]) == 3 and machine["cpus"] >= 1
    assert machine["date"].startswith("20") and "model" in machine["cpu"]
