"""`python -m bench [NAME...]`: run every bench/bench_*.py (or the named ones) in turn."""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    chosen = [s for s in scripts if not names or s.stem.removeprefix("bench_") in names]
    if not chosen:
        print(f"no benchmark matches {names}; have: {[s.stem for s in scripts]}")
        return 2
    for script in chosen:
        print(f"== {script.stem}", flush=True)
        runpy.run_path(str(script), run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
