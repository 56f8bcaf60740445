"""Upload, follow the progress stream, show the result.  Plain text on stdout (JSON with
``as_json``); the main ``torchgrade submit`` passes its own ``show`` (a rich table)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Optional, TextIO

import httpx

from torchgrade_client.messages import say, status_label

EXIT_GRADED, EXIT_NOT_GRADED, EXIT_FAILED = 0, 1, 2
FOLLOW_TIMEOUT_S = 900
POLL_S = 1.0
MARKS = {"passed": "✓", "partial": "~", "pending": "…"}   # pending: a written answer awaiting its score

Show = Callable[[dict, str], None]


def submit_and_follow(server: str, token: str, assignment: str, path: Path, course: Optional[str] = None,
                      as_json: bool = False, language: str = "en", show: Optional[Show] = None,
                      out: TextIO = sys.stdout) -> int:
    """Submit ``path``; follow its grading; show the result.  The exit status: 0 graded, 1 not
    graded (a submission that waits for a worker nobody runs stops here, saying so), 2 failed."""
    def tell(line: str, error: bool = False) -> None:
        print(line, file=sys.stderr if error or as_json else out, flush=True)

    try:
        content = path.read_bytes()
    except OSError as exc:
        tell(say("cannot read {path}: {why}", language, path=str(path), why=exc.strerror), error=True)
        return EXIT_FAILED
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": language}
    # ?lang= on every call: the server's messages and feedback in the language the client speaks,
    # even in a course whose default is the other one
    with httpx.Client(base_url=server, headers=headers, params={"lang": language}, timeout=30) as client:
        try:
            response = client.post(f"/api/v1/assignments/{assignment}/submissions",
                                   files={"file": (path.name, content)}, params={"course": course} if course else None)
            if response.status_code != 202:
                tell(say("not accepted ({status}): {why}", language, status=response.status_code,
                         why=error_message(response)), error=True)
                return EXIT_FAILED
            accepted = response.json()
            tell(say("submitted {file} to {assignment} as #{id}", language, file=path.name,
                     assignment=accepted["assignment"], id=accepted["id"]))
            shown = fetch(client, accepted["url"])
            if not shown.get("waiting"):
                follow(client, accepted["events_url"], tell, language)
                shown = wait_for_result(client, accepted["url"])
        except httpx.HTTPError as exc:
            tell(say("cannot reach {server}: {why}", language, server=server, why=str(exc)), error=True)
            return EXIT_FAILED
    if as_json:
        print(json.dumps(shown, indent=2, ensure_ascii=False), file=out)
    elif show is not None and shown["status"] not in ("queued", "running"):
        show(shown, language)
    else:
        show_plain(shown, tell, language)
    return EXIT_GRADED if shown["status"] == "graded" else EXIT_NOT_GRADED


def error_message(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:500]


def fetch(client: httpx.Client, url: str) -> dict:
    response = client.get(url)
    response.raise_for_status()
    return response.json()


def follow(client: httpx.Client, url: str, tell: Callable[[str], None], language: str = "en") -> None:
    """Print progress events until ``done`` (or the stream breaks: the result is fetched anyway)."""
    try:
        with client.stream("GET", url, timeout=httpx.Timeout(30, read=FOLLOW_TIMEOUT_S)) as stream:
            for kind, data in sse_events(stream.iter_lines()):
                tell(progress_line(kind, data, language))
                if kind == "done":
                    return
    except httpx.HTTPError as exc:
        tell(say("progress stream interrupted ({why}); waiting for the result", language, why=str(exc)))


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, dict]]:
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
    """One line for one event of the stream (core/events.py names its kinds and fields)."""
    try:
        if kind == "queued":
            return say("queued, waiting for a worker", language)
        if kind == "running":
            attempt = int(data.get("attempt", 1))
            return say("grading again (attempt {attempt})", language, attempt=attempt) if attempt > 1 \
                else say("grading", language)
        if kind == "check" and data.get("concealed"):
            return f"  [{data['index']}/{data['total']}] " + say("a hidden check finished", language)
        if kind == "check":
            mark = MARKS.get(data["status"], "✗")
            return (f"  [{data['index']}/{data['total']}] {mark} {data['name']} "
                    f"{float(data['score']):g}/{float(data['max_score']):g}")
        if kind == "done":
            return say("done: {status}", language, status=status_label(data["status"], language))
    except (KeyError, TypeError, ValueError):
        pass
    return f"{kind}: {data}"


def wait_for_result(client: httpx.Client, url: str) -> dict:
    deadline = time.monotonic() + FOLLOW_TIMEOUT_S
    while True:
        shown = fetch(client, url)
        if shown["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return shown
        time.sleep(POLL_S)


def show_plain(shown: dict, tell: Callable[[str], None], language: str = "en") -> None:
    """The result as lines of text: status, score, each check with its feedback."""
    if shown.get("waiting"):
        tell(shown["waiting"])
    if shown["status"] in ("queued", "running"):
        tell(say("still {status}; look again later: torchgrade's API at /api/v1/submissions/{id}", language,
                 status=status_label(shown["status"], language), id=shown["id"]))
        return
    tell(say("status: {status}", language, status=status_label(shown["status"], language)))
    tell(say("score: {score:g} / {max_score:g}", language, score=shown.get("score") or 0.0,
             max_score=shown.get("max_score") or 0.0))
    if shown.get("message"):
        tell(shown["message"])
    for test in shown.get("tests", []):
        tell(f"  {MARKS.get(test.get('status'), '✗')} {test.get('name')} "
             f"{float(test.get('score', 0)):g}/{float(test.get('max_score', 0)):g}")
        if test.get("feedback"):
            tell(f"      {test['feedback']}")
    for note in shown.get("notes", []):
        tell(f"  - {note}")
    if shown.get("pending_max_score"):
        tell(say("{points:g} points await an instructor's score of your written answers", language,
                 points=shown["pending_max_score"]))
    if shown.get("days_late"):
        tell(say("{days} day(s) late: {penalty:.0%} off, {points:g} points count", language, days=shown["days_late"],
                 penalty=shown["late_penalty"], points=shown["adjusted_score"]))
