"""Benchmarks: ratios measured side by side in one run (`make bench`), never timed tests."""

from pathlib import Path

from dllab.atomic import write_json

RESULTS = Path(__file__).parent / "results"


def save_results(name: str, data: dict) -> Path:
    """Write bench/results/NAME.json atomically and say where."""
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    print(f"wrote {path}")
    return path
