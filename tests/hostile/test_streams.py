"""A student who floods the progress stream of a queued submission (issue 10, class 5): on main
250-300 streams made every other user's requests time out, for over 80 s after the attacker
disconnected.  Against a real API process on PostgreSQL (no worker: the submissions stay queued,
as the attacker's did): the streams beyond the caps are refused with 429, other users are still
served, a waiting stream is woken by NOTIFY (its re-check is set far beyond the test), and every
stream ends when its client goes (the open-stream gauge on /metrics returns to 0)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core import lifecycle
from core.catalog import ManifestCatalog
from core.db import session_factory
from tests.workers.stack import (ANSWER, migrated, postgres_schema, redis_broker, reference_dir, seed_course,
                                 service_settings, start_api, wait_for)

PER_USER, TOTAL = 5, 8
FLOOD = 40
READ_S = 60  # a socket read that waits this long has failed; the streams' own re-check is far longer
RECHECK_S = 3600.0
SLOT = 17  # in the settings only: this module starts no worker and no sandbox


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("streams")
    (tmp / "data").mkdir()
    references = reference_dir(tmp / "references")
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix), contextlib.ExitStack() as running:
        settings = migrated(service_settings(tmp / "data", references, SLOT, database_url=database_url,
                                             broker_url=broker_url, broker_key_prefix=prefix,
                                             sse_max_streams_per_user=PER_USER, sse_max_streams=TOTAL,
                                             sse_recheck_s=RECHECK_S))
        process, url = start_api(settings, tmp / "api.log")
        running.callback(process.stop)
        people = seed_course(settings, ManifestCatalog(references), students=3)
        yield settings, url, people


class Stream:
    """A progress stream on a raw socket: a client that can vanish without a goodbye."""

    def __init__(self, url: str, submission_id: int, token: str):
        where = urlsplit(url)
        self.socket = socket.create_connection((where.hostname, where.port), timeout=READ_S)
        self.socket.sendall(f"GET /api/v1/submissions/{submission_id}/events HTTP/1.1\r\nHost: {where.netloc}\r\n"
                            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.received = b""
        head = self.until(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        self.headers = {k.strip().lower(): v.strip() for k, _, v in
                        (line.decode().partition(":") for line in head.split(b"\r\n")[1:])}

    def until(self, marker: bytes) -> bytes:
        while marker not in self.received:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}: {self.received[-500:]!r}")
            self.received += chunk
        before, _, self.received = self.received.partition(marker)
        return before

    def event(self, kind: str) -> None:
        self.until(f"event: {kind}".encode())

    def error(self) -> dict:
        length = int(self.headers["content-length"])
        while len(self.received) < length:
            self.received += self.socket.recv(65536)
        return json.loads(self.received[:length])["error"]

    def close(self) -> None:
        self.socket.close()


def opened(url: str, submission_id: int, token: str) -> Stream:
    stream = Stream(url, submission_id, token)
    if stream.status == 200:
        stream.event("queued")
    return stream


def open_streams(url: str) -> float:
    """The API's gauge of open progress streams."""
    families = text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=30).text)
    return next(s.value for f in families for s in f.samples if s.name == "torchgrade_open_streams")


def submitted(url: str, token: str) -> int:
    response = httpx.post(f"{url}/api/v1/assignments/w0-service/submissions", files={"file": ("hw.py", ANSWER)},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def served(url: str, token: str, submission_id: int | None = None) -> None:
    """Another user's ordinary requests: each answered, and answered with success."""
    headers = {"Authorization": f"Bearer {token}"}
    paths = ["/api/v1/assignments", "/api/v1/grades", "/api/v1/me"]
    for path in paths + ([f"/api/v1/submissions/{submission_id}"] if submission_id else []):
        response = httpx.get(f"{url}{path}", headers=headers, timeout=30)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])


def test_a_flood_of_streams_is_capped_and_other_users_are_served(api):
    settings, url, people = api
    attacker, victim, bystander = (people["tokens"][name] for name in people["students"])
    target, own, third = submitted(url, attacker), submitted(url, victim), submitted(url, bystander)
    streams: list[Stream] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(FLOOD) as pool:
            streams += pool.map(lambda _: opened(url, target, attacker), range(FLOOD))
        refused = [s for s in streams if s.status != 200]
        assert len(streams) - len(refused) == PER_USER and {s.status for s in refused} == {429}
        assert {s.error()["code"] for s in refused} == {"too_many_streams"}
        assert all(int(s.headers["retry-after"]) > 0 for s in refused)
        served(url, victim, own)
        served(url, bystander, third)

        victims = [opened(url, own, victim) for _ in range(TOTAL - PER_USER)]
        streams += victims
        assert [s.status for s in victims] == [200] * (TOTAL - PER_USER)
        streams.append(opened(url, third, bystander))
        assert streams[-1].status == 429 and streams[-1].error()["code"] == "streams_full"
        served(url, bystander, third)
        assert open_streams(url) == TOTAL

        # The victim's submission is claimed: NOTIFY wakes its streams at once (on their own
        # they would look again only after RECHECK_S).
        assert lifecycle.claim(session_factory(settings.database_url), own, lambda _: 60.0, "hostile-test:1")
        for stream in victims:
            stream.event("running")
    finally:
        for stream in streams:
            stream.close()
    wait_for(lambda: open_streams(url) == 0, READ_S, "every stream to end after its client went")
    again = opened(url, target, attacker)
    assert again.status == 200
    again.close()
    wait_for(lambda: open_streams(url) == 0, READ_S, "the last stream to end")
