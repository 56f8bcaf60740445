"""A readable rendering of a GradeResult for the terminal (rich)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.results import GradeResult
from grader.status import CheckStatus, SubmissionStatus

STATUS_STYLE = {
    CheckStatus.passed: "green", CheckStatus.partial: "yellow", CheckStatus.failed: "red",
    CheckStatus.error: "red", CheckStatus.timeout: "magenta", CheckStatus.memory: "magenta",
    CheckStatus.crashed: "magenta", CheckStatus.skipped: "dim", CheckStatus.pending: "cyan",
}
OUTPUT_EXCERPT_CHARS = 2000


def render(result: GradeResult, console: Console) -> None:
    console.print(Panel(Group(*_parts(result)), title=_title(result), title_align="left"))


def _title(result: GradeResult) -> Text:
    style = "green" if result.status == SubmissionStatus.graded else "red"
    title = Text(f"{result.assignment} · {result.submission} · ")
    title.append(result.status.value, style=style)
    title.append(f" · {result.score:g}/{result.max_score:g}")
    if result.pending_max_score:
        title.append(f" (+{result.pending_max_score:g} awaiting an instructor)")
    return title


def _parts(result: GradeResult) -> list:
    parts: list = []
    if result.message:
        parts.append(Text(result.message, style="bold red" if result.status != SubmissionStatus.graded else ""))
    for note in result.notes:
        parts.append(Text(f"note: {note}", style="cyan"))
    parts.append(_checks_table(result))
    for label, text in (("stdout", result.output.stdout), ("stderr", result.output.stderr)):
        if text.strip():
            excerpt = text[:OUTPUT_EXCERPT_CHARS] + ("\n…" if len(text) > OUTPUT_EXCERPT_CHARS else "")
            parts.append(Panel(Text(excerpt), title=label, title_align="left", border_style="dim"))
    timings = result.timings
    parts.append(Text(f"{timings.total_s:.2f}s (start {timings.start_s:.3f}s, import {timings.import_s:.3f}s, "
                      f"checks {timings.checks_s:.3f}s) · torch {result.environment.torch} on "
                      f"{result.environment.device}", style="dim"))
    return parts


def _checks_table(result: GradeResult) -> Table:
    table = Table(expand=True, show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("feedback", ratio=1)
    for test in result.tests:
        name = test.name + (f" [dim]({test.visibility.value})[/dim]" if test.visibility != "visible" else "")
        table.add_row(name, f"{test.score:g}/{test.max_score:g}",
                      Text(test.status.value, style=STATUS_STYLE[test.status]), test.feedback or test.description)
    return table
