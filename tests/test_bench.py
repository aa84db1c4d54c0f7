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
from dllab.engine.history import TIME_DECIMALS

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
    resolution = 10.0**-TIME_DECIMALS  # two rounded clocks' difference is off by up to this
    for (wall, cpu), epoch in zip(timer.times, [cumulative[0], *np.diff(cumulative)]):
        # the Trainer's own clock runs inside the epoch
        assert 0 < epoch <= wall + resolution and cpu >= 0


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


def test_the_readme_shows_the_committed_bench_results():
    from bench import readme

    text = readme.README.read_text()
    assert readme.render(text, readme.load_results()) == text, (
        "README.md is stale: python -m bench.readme"
    )


def test_every_benchmark_has_a_row_in_the_readme_table():
    from bench import readme

    scripts = {p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py")}
    assert {row.bench for row in readme.SPEED_TABLE} == scripts


def test_a_bench_without_results_says_how_to_measure_it_and_a_results_row_is_regenerated():
    from bench import readme

    text = "\n".join([
        "| claim | ours | published | command |",
        "| AE vs PCA | typed by hand | PCA = 1 | `python -m bench autoencoders` |",
        "| other | kept | - | `dllab run vae` |",
        readme.BEGIN,
        "old table",
        readme.END,
    ])  # fmt: skip
    machine = {"date": "2026-01-02T03:04:05", "cpu": {"model": "X", "flags": ["avx2"]},
               "cpus": 2, "load_average": [0.4, 0, 0]}  # fmt: skip
    rows = {"2": {"ae_over_pca": 0.5}, "8": {"ae_over_pca": 0.25}}
    results = {"autoencoders": {"machine": machine, "ae_vs_pca": rows}}
    rendered = readme.render(text, results)
    assert "| AE vs PCA | k = 2 / 8: MSE ratio 0.50 / 0.25 | PCA = 1 |" in rendered
    assert "| other | kept |" in rendered and "old table" not in rendered
    assert "not measured here yet: `python -m bench keras`" in rendered
    assert "2026-01-02, X (AVX2), 2 CPUs, load 0.4" in rendered
    with pytest.raises(ValueError, match="markers"):
        readme.render("no markers", results)


def test_a_paper_setup_row_refuses_a_result_file_run_for_other_epochs(
    tmp_path, monkeypatch, capsys
):
    import json

    from bench import readme

    command = "python -m bench gan --setup pacgan --epochs 5"
    row = next(row for row in readme.RESULT_CELLS.values() if row.command == command)
    machine = {"date": "2026-01-02", "cpu": {"model": "X", "flags": []}, "cpus": 2,
               "load_average": [0, 0, 0]}  # fmt: skip
    rows = [{"method": "GAN", "data": "ring8", "modes": [8, 6], "hq": [90, 80]}]
    result = {"machine": machine, "epochs": 40, "paper_epochs": 400, "rows": rows}
    with pytest.raises(ValueError, match="says --epochs 5, its result file ran 40"):
        readme.measured(row, {"gan_pacgan_5ep": result})
    (tmp_path / "gan_pacgan_5ep.json").write_text(json.dumps(result))
    load = readme.load_results
    monkeypatch.setattr(readme, "load_results", lambda: load(tmp_path))
    assert readme.main(["--check"]) == 2
    assert capsys.readouterr().err.count("\n") == 1  # one line, no traceback


def _fake_gan_run(job):
    """bench_gan's timed_run without training: (metrics, CPU s, wall s) that name the seed."""
    _, overrides, seed = job
    k = 8 if "data.name=ring8" in overrides else 25
    return {"modes_captured": k - seed % 2, "high_quality_fraction": 0.9, "num_modes": k}, 1.0, 1.0


def test_bench_gan_writes_untuned_seeds_to_their_own_file(tmp_path, monkeypatch):
    import json

    import bench
    from bench import bench_gan, readme

    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    monkeypatch.setattr(bench_gan, "timed_run", _fake_gan_run)
    for key, value in {"FIRST_SEED": "5", "SEEDS": "2", "METHODS": "pacgan", "CGAN": "0"}.items():
        monkeypatch.setenv(f"BENCH_GAN_{key}", value)
    monkeypatch.setattr("sys.argv", ["python -m bench gan"])
    bench_gan.main()
    assert [p.name for p in tmp_path.iterdir()] == ["gan_from_seed5.json"]
    saved = json.loads((tmp_path / "gan_from_seed5.json").read_text())
    assert saved["first_seed"] == 5 and [r["seed"] for r in saved["runs"]] == [5, 5, 6, 6]
    cell = readme.untuned_seeds(saved)
    assert cell.startswith("2 seeds from seed 5: pacgan on ring8: 7.5 ± 0.5 of 8 modes")
    assert "(worst seed: 24), 90.0 ± 0.0% high-quality (worst 90.0%)" in cell


def test_a_paper_setup_bench_keeps_the_runs_of_its_budget_and_runs_only_the_rest(
    tmp_path, monkeypatch
):
    import json

    import bench
    from bench import bench_gan

    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    monkeypatch.setattr(bench_gan, "timed_run", _fake_gan_run)
    bench_gan.paper_setup("veegan", seeds=1, epochs=3, workers=1)
    saved = json.loads((tmp_path / "gan_veegan_3ep.json").read_text())
    first_runs = saved["runs"]
    assert [r["seed"] for r in first_runs] == [0] * 4  # ring and grid, GAN and PacGAN2
    bench_gan.paper_setup("veegan", seeds=2, epochs=3, workers=1)  # one more seed
    saved = json.loads((tmp_path / "gan_veegan_3ep.json").read_text())
    assert saved["runs"][:4] == first_runs  # kept, not run again: 8 runs, not 12
    assert [r["seed"] for r in saved["runs"][4:]] == [1] * 4
    assert [len(row["modes"]) for row in saved["rows"]] == [2] * 4
    saved_runs_of_3_epochs = saved["runs"]
    bench_gan.paper_setup("veegan", seeds=1, epochs=4, workers=1)  # another budget: its file
    saved = json.loads((tmp_path / "gan_veegan_4ep.json").read_text())
    assert saved["epochs"] == 4 and [r["seed"] for r in saved["runs"]] == [0] * 4
    kept = json.loads((tmp_path / "gan_veegan_3ep.json").read_text())
    assert kept["runs"] == saved_runs_of_3_epochs  # the other budget's file is left as it was
