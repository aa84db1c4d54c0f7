"""`python -m bench [NAME...] [--OPTION ...]`: run every bench/bench_*.py (or the named ones) in
turn; the options from the first `--` one on are the benchmark's own (`python -m bench gan
--setup pacgan`)."""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    first_option = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:first_option], argv[first_option:]
    scripts = sorted(HERE.glob("bench_*.py"))
    chosen = [s for s in scripts if not names or s.stem.removeprefix("bench_") in names]
    if not chosen:
        print(f"no benchmark matches {names}; have: {[s.stem for s in scripts]}")
        return 2
    for script in chosen:
        print(f"== {script.stem}", flush=True)
        sys.argv = [str(script), *options]
        runpy.run_path(str(script), run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
