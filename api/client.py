"""The student's side of ``torchgrade submit``: upload, follow the progress stream, show the result."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from rich.console import Console

from core import events
from grader.report import render
from grader.results import GradeResult

EXIT_GRADED, EXIT_NOT_GRADED, EXIT_FAILED = 0, 1, 2
FOLLOW_TIMEOUT_S = 900
POLL_S = 1.0
RESULT_FIELDS = ("status", "max_score", "pending_max_score", "message", "notes", "tests", "output", "timings",
                 "environment")


def submit_and_follow(server: str, token: str, assignment: str, path: Path, course: str | None,
                      as_json: bool) -> int:
    console = Console(stderr=as_json)
    try:
        content = path.read_bytes()
    except OSError as exc:
        console.print(f"[red]cannot read {path}: {exc.strerror}[/red]")
        return EXIT_FAILED
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        try:
            response = client.post(f"/api/v1/assignments/{assignment}/submissions",
                                   files={"file": (path.name, content)}, params={"course": course} if course else None)
            if response.status_code != 202:
                console.print(f"[red]not accepted ({response.status_code}): {_error_message(response)}[/red]")
                return EXIT_FAILED
            accepted = response.json()
            console.print(f"submitted {path.name} to {accepted['assignment']} as #{accepted['id']}")
            follow(client, accepted["events_url"], console)
            shown = wait_for_result(client, accepted["url"])
        except httpx.HTTPError as exc:
            console.print(f"[red]cannot reach {server}: {exc}[/red]")
            return EXIT_FAILED
    if as_json:
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    else:
        show(shown, console)
    return EXIT_GRADED if shown["status"] == "graded" else EXIT_NOT_GRADED


def _error_message(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:500]


def follow(client: httpx.Client, url: str, console: Console) -> None:
    """Print progress events until ``done`` (or the stream breaks: the result is fetched anyway)."""
    try:
        with client.stream("GET", url, timeout=httpx.Timeout(30, read=FOLLOW_TIMEOUT_S)) as stream:
            for kind, data in sse_events(stream.iter_lines()):
                console.print(progress_line(kind, data))
                if kind == "done":
                    return
    except httpx.HTTPError as exc:
        console.print(f"[dim]progress stream interrupted ({exc}); waiting for the result[/dim]")


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


def progress_line(kind: str, data: dict) -> str:
    try:
        event = events.parse(kind, data)
    except ValueError:
        return f"{kind}: {data}"
    if isinstance(event, events.Queued):
        return "queued, waiting for a worker"
    if isinstance(event, events.Running):
        return "grading" + (f" again (attempt {event.attempt})" if event.attempt > 1 else "")
    if isinstance(event, events.ConcealedCheck):
        return f"  [{event.index}/{event.total}] a hidden check finished"
    if isinstance(event, events.Check):
        mark = {"passed": "[green]✓[/green]", "partial": "[yellow]~[/yellow]"}.get(event.status, "[red]✗[/red]")
        return f"  [{event.index}/{event.total}] {mark} {event.name} {event.score:g}/{event.max_score:g}"
    return f"done: {event.status}"


def wait_for_result(client: httpx.Client, url: str) -> dict:
    deadline = time.monotonic() + FOLLOW_TIMEOUT_S
    while True:
        response = client.get(url)
        response.raise_for_status()
        shown = response.json()
        if shown["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return shown
        time.sleep(POLL_S)


def show(shown: dict, console: Console) -> None:
    if shown["status"] in ("queued", "running"):
        console.print(f"still {shown['status']}; look again later: torchgrade's API at /api/v1/submissions/{shown['id']}")
        return
    fields = {k: shown[k] for k in RESULT_FIELDS if k in shown}
    render(GradeResult(assignment=shown["assignment"], submission=shown["filename"], score=shown["score"] or 0.0,
                       **fields), console)
    if shown.get("days_late"):
        console.print(f"{shown['days_late']} day(s) late: {shown['late_penalty']:.0%} off, "
                      f"{shown['adjusted_score']:g} points count")
