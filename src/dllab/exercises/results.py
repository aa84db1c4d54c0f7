"""What checking an exercise gives: each check's outcome and the table shown to the student, as
text (the terminal, `print(result)`) and as HTML (Jupyter's `_repr_html_`, every cell escaped)."""

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

WIDTH = 110  # characters of the text table


@dataclass
class CheckOutcome:
    """One check's verdict: failed ones carry a one-line message and the hints recognised."""

    name: str
    weight: int
    passed: bool
    message: str = ""
    hints: tuple[str, ...] = ()  # hint texts
    seconds: float = 0.0

    @property
    def points(self) -> int:
        return self.weight if self.passed else 0

    def explanation(self) -> str:
        """The message and its hints, one per line ("" for a pass)."""
        return "\n".join([self.message, *(f"hint: {text}" for text in self.hints)]).strip()


@dataclass
class ExerciseResult:
    """Every check of one exercise on one submission; prints as the student's table."""

    exercise: str
    title: str
    outcomes: list[CheckOutcome] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(o.points for o in self.outcomes)

    @property
    def maximum(self) -> int:
        return sum(o.weight for o in self.outcomes)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed]

    def heading(self) -> str:
        return f"{self.exercise}: {self.title} ({self.points}/{self.maximum} points)"

    def table(self) -> Table:
        table = Table(title=self.heading(), title_justify="left", expand=False)
        table.add_column("check")
        table.add_column("result")
        table.add_column("points", justify="right")
        table.add_column("message and hints", overflow="fold")
        for o in self.outcomes:
            verdict = "[green]passed[/]" if o.passed else "[red]FAILED[/]"
            table.add_row(o.name, verdict, f"{o.points}/{o.weight}", _plain(o.explanation()))
        return table

    def __str__(self) -> str:
        return render_text(self.table())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr><td>{}</td><td style='color:{}'>{}</td><td style='text-align:right'>{}/{}</td>"
            "<td>{}</td></tr>".format(
                html.escape(o.name),
                "#17632a" if o.passed else "#9b1c1c",
                "passed" if o.passed else "FAILED",
                o.points,
                o.weight,
                html.escape(o.explanation()).replace("\n", "<br>"),
            )
            for o in self.outcomes
        )
        return (
            f"<p><b>{html.escape(self.heading())}</b></p><table><thead><tr><th>check</th>"
            f"<th>result</th><th>points</th><th>message and hints</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


def _plain(text: str) -> str:
    """Text with rich's markup brackets escaped, so a student's message prints as it is."""
    return text.replace("[", r"\[")


def summary_table(results: Sequence[ExerciseResult]) -> Table:
    """One row per exercise and a total: the score of `check --all`."""
    table = Table(title="Summary", title_justify="left")
    table.add_column("exercise")
    table.add_column("checks passed", justify="right")
    table.add_column("points", justify="right")
    for r in results:
        passed = len(r.outcomes) - len(r.failed)
        table.add_row(r.exercise, f"{passed}/{len(r.outcomes)}", f"{r.points}/{r.maximum}")
    total, maximum = sum(r.points for r in results), sum(r.maximum for r in results)
    table.add_row("total", "", f"{total}/{maximum}", style="bold")
    return table


def render_text(table: Table) -> str:
    """A rich table as plain text (no colour codes)."""
    buffer = io.StringIO()
    Console(file=buffer, width=WIDTH, color_system=None, force_terminal=False).print(table)
    return buffer.getvalue()
