"""A readable rendering of a GradeResult for the terminal (rich)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.i18n import SOURCE_LANGUAGE, _
from grader.i18n import render as say
from grader.results import GradeResult
from grader.status import CheckStatus, SubmissionStatus

STATUS_STYLE = {
    CheckStatus.passed: "green", CheckStatus.partial: "yellow", CheckStatus.failed: "red",
    CheckStatus.error: "red", CheckStatus.timeout: "magenta", CheckStatus.memory: "magenta",
    CheckStatus.crashed: "magenta", CheckStatus.skipped: "dim", CheckStatus.pending: "cyan",
}
OUTPUT_EXCERPT_CHARS = 2000


def render(result: GradeResult, console: Console, language: str = SOURCE_LANGUAGE) -> None:
    """The result in ``language`` (its translations, and this report's own words)."""
    result = result.localized(language)
    console.print(Panel(Group(*_parts(result, language)), title=_title(result, language), title_align="left"))


def _title(result: GradeResult, language: str) -> Text:
    style = "green" if result.status == SubmissionStatus.graded else "red"
    title = Text(f"{result.assignment} · {result.submission} · ")
    title.append(result.status.value, style=style)
    title.append(f" · {result.score:g}/{result.max_score:g}")
    if result.pending_max_score:
        title.append(" " + say(_("(+{points:g} awaiting an instructor)", points=result.pending_max_score), language))
    return title


def _parts(result: GradeResult, language: str) -> list:
    parts: list = []
    if result.message:
        parts.append(Text(result.message, style="bold red" if result.status != SubmissionStatus.graded else ""))
    for note in result.notes:
        parts.append(Text(say(_("note: {note}", note=note), language), style="cyan"))
    parts.append(_checks_table(result, language))
    for label, text in (("stdout", result.output.stdout), ("stderr", result.output.stderr)):
        if text.strip():
            excerpt = text[:OUTPUT_EXCERPT_CHARS] + ("\n…" if len(text) > OUTPUT_EXCERPT_CHARS else "")
            parts.append(Panel(Text(excerpt), title=label, title_align="left", border_style="dim"))
    timings = result.timings
    parts.append(Text(f"{timings.total_s:.2f}s (start {timings.start_s:.3f}s, import {timings.import_s:.3f}s, "
                      f"checks {timings.checks_s:.3f}s) · torch {result.environment.torch} on "
                      f"{result.environment.device}", style="dim"))
    return parts


def _checks_table(result: GradeResult, language: str) -> Table:
    table = Table(expand=True, show_lines=False)
    table.add_column(say(_("check"), language), no_wrap=True)
    table.add_column(say(_("points"), language), justify="right", no_wrap=True)
    table.add_column(say(_("status"), language), no_wrap=True)
    table.add_column(say(_("feedback"), language), ratio=1)
    for test in result.tests:
        name = test.name + (f" [dim]({test.visibility.value})[/dim]" if test.visibility != "visible" else "")
        table.add_row(name, f"{test.score:g}/{test.max_score:g}",
                      Text(test.status.value, style=STATUS_STYLE[test.status]), test.feedback or test.description)
    return table
