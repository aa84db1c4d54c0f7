"""The README's Python quickstart runs as printed, and prints the same numbers every time."""

import ast
import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def quickstart() -> str:
    return re.search(r"## Quickstart.*?```python\n(.*?)```", README.read_text(), re.S).group(1)


def test_the_readme_quickstart_prints_the_same_numbers_twice_in_a_row(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # it saves checkpoints/digits
    printed = []
    for _ in range(2):
        exec(compile(quickstart(), str(README), "exec"), {})
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1]
    test_metrics = ast.literal_eval(printed[0].splitlines()[-1])
    assert test_metrics["accuracy"] > 0.9
    assert (tmp_path / "checkpoints" / "digits" / "last.json").is_file()
