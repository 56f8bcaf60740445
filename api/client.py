"""The student's side of ``torchgrade submit``: upload, follow the progress stream, show the result."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from rich.console import Console

from core import events
from core.i18n import _
from grader.i18n import render as say
from grader.report import render
from grader.results import GradeResult

EXIT_GRADED, EXIT_NOT_GRADED, EXIT_FAILED = 0, 1, 2
FOLLOW_TIMEOUT_S = 900
POLL_S = 1.0
RESULT_FIELDS = ("status", "max_score", "pending_max_score", "message", "notes", "tests", "output", "timings",
                 "environment")


def submit_and_follow(server: str, token: str, assignment: str, path: Path, course: str | None,
                      as_json: bool, language: str = "en") -> int:
    console = Console(stderr=as_json)
    try:
        content = path.read_bytes()
    except OSError as exc:
        unreadable = _("cannot read {path}: {why}", path=str(path), why=exc.strerror)
        console.print(f"[red]{say(unreadable, language)}[/red]")
        return EXIT_FAILED
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": language}
    with httpx.Client(base_url=server, headers=headers, timeout=30) as client:
        try:
            response = client.post(f"/api/v1/assignments/{assignment}/submissions",
                                   files={"file": (path.name, content)}, params={"course": course} if course else None)
            if response.status_code != 202:
                refused = _("not accepted ({status}): {why}", status=response.status_code, why=_error_message(response))
                console.print(f"[red]{say(refused, language)}[/red]")
                return EXIT_FAILED
            accepted = response.json()
            console.print(say(_("submitted {file} to {assignment} as #{id}", file=path.name,
                                assignment=accepted["assignment"], id=accepted["id"]), language))
            follow(client, accepted["events_url"], console, language)
            shown = wait_for_result(client, accepted["url"])
        except httpx.HTTPError as exc:
            unreachable = _("cannot reach {server}: {why}", server=server, why=str(exc))
            console.print(f"[red]{say(unreachable, language)}[/red]")
            return EXIT_FAILED
    if as_json:
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    else:
        show(shown, console, language)
    return EXIT_GRADED if shown["status"] == "graded" else EXIT_NOT_GRADED


def _error_message(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:500]


def follow(client: httpx.Client, url: str, console: Console, language: str = "en") -> None:
    """Print progress events until ``done`` (or the stream breaks: the result is fetched anyway)."""
    try:
        with client.stream("GET", url, timeout=httpx.Timeout(30, read=FOLLOW_TIMEOUT_S)) as stream:
            for kind, data in sse_events(stream.iter_lines()):
                console.print(progress_line(kind, data, language))
                if kind == "done":
                    return
    except httpx.HTTPError as exc:
        interrupted = _("progress stream interrupted ({why}); waiting for the result", why=str(exc))
        console.print(f"[dim]{say(interrupted, language)}[/dim]")


def sse_events(lines):
    kind, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield kind, json.loads("\n".join(data))
            kind, data = "message", []
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def progress_line(kind: str, data: dict, language: str = "en") -> str:
    try:
        event = events.parse(kind, data)
    except ValueError:
        return f"{kind}: {data}"
    if isinstance(event, events.Queued):
        return say(_("queued, waiting for a worker"), language)
    if isinstance(event, events.Running):
        return say(_("grading again (attempt {attempt})", attempt=event.attempt) if event.attempt > 1
                   else _("grading"), language)
    if isinstance(event, events.ConcealedCheck):
        return f"  [{event.index}/{event.total}] " + say(_("a hidden check finished"), language)
    if isinstance(event, events.Check):
        mark = {"passed": "[green]✓[/green]", "partial": "[yellow]~[/yellow]"}.get(event.status, "[red]✗[/red]")
        return f"  [{event.index}/{event.total}] {mark} {event.name} {event.score:g}/{event.max_score:g}"
    return say(_("done: {status}", status=event.status.value), language)


def wait_for_result(client: httpx.Client, url: str) -> dict:
    deadline = time.monotonic() + FOLLOW_TIMEOUT_S
    while True:
        response = client.get(url)
        response.raise_for_status()
        shown = response.json()
        if shown["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return shown
        time.sleep(POLL_S)


def show(shown: dict, console: Console, language: str = "en") -> None:
    if shown["status"] in ("queued", "running"):
        console.print(say(_("still {status}; look again later: torchgrade's API at /api/v1/submissions/{id}",
                            status=shown["status"], id=shown["id"]), language))
        return
    fields = {k: shown[k] for k in RESULT_FIELDS if k in shown}
    render(GradeResult(assignment=shown["assignment"], submission=shown["filename"], score=shown["score"] or 0.0,
                       **fields), console, language)
    if shown.get("days_late"):
        console.print(say(_("{days} day(s) late: {penalty:.0%} off, {points:g} points count", days=shown["days_late"],
                            penalty=shown["late_penalty"], points=shown["adjusted_score"]), language))
