"""Group commit (api/services/submit_batcher.py): submissions that arrive together are stored and
queued as one batch, and each is answered as if it had been stored alone.

The app is driven in one event loop through httpx's ASGI transport, on SQLite and on PostgreSQL.
To make a batch of known rows, the store is wrapped: the first batch (an opener) is held until
the burst's requests all wait behind it, so that they form the next batch together."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid

import httpx
import psycopg
import pytest
import redis
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from api.app import create_app
from core.broker import create_celery
from core.catalog import ManifestCatalog
from core.db import session_factory, utcnow
from core.models import Course, CourseAssignment, Submission, User
from core.queueing import CeleryEnqueuer
from core.store import NewSubmission
from tests.api.conftest import RecordingQueue, bearer
from tests.faults.test_submit_outage import SqliteOutage
from tests.workers.stack import free_port, migrated, postgres_schema, redis_broker, seed_course, service_settings
from workers import sweeper

BURST = 8


class HeldFirstBatch:
    """Wraps the work of one of the batcher's Batches, recording each batch; the first batch
    waits until `behind` items wait for the next one, then awaits `at_release`."""

    def __init__(self, runner, behind: int, at_release=None):
        self.runner, self.real, self.behind, self.at_release = runner, runner.work, behind, at_release
        self.batches: list[list] = []
        self.entered = asyncio.Event()
        runner.work = self.work

    async def work(self, items: list):
        self.batches.append(items)
        if len(self.batches) == 1:
            self.entered.set()
            deadline = time.monotonic() + 30
            while len(self.runner.waiting) < self.behind and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            if self.at_release is not None:
                await self.at_release()
        return await self.real(items)

    def sizes(self) -> list[int]:
        return [len(batch) for batch in self.batches]


def upload(who: str) -> bytes:
    return f"def answer():\n    return 42  # {who}\n".encode()


async def post(http: httpx.AsyncClient, people: dict, who: str, assignment: str = "w0-service",
               **params) -> httpx.Response:
    return await http.post(f"/api/v1/assignments/{assignment}/submissions", headers=bearer(people, who),
                           files={"file": ("hw.py", upload(who))}, params=params)


async def opener_and_burst(http: httpx.AsyncClient, held: HeldFirstBatch, people: dict,
                           burst: list[str]) -> list[httpx.Response]:
    """The instructor's submission opens a batch, held until every request of `burst` waits for
    the next one; the answers to the burst, in its order."""
    opener = asyncio.create_task(post(http, people, "instructor"))
    await held.entered.wait()
    answers = await asyncio.gather(*(post(http, people, who) for who in burst))
    await opener
    return list(answers)


def opener_then_burst(app, people: dict, burst: list[str], at_release=None) -> tuple[HeldFirstBatch, list]:
    held = HeldFirstBatch(app.state.submit_batcher.submissions, len(burst), at_release)
    return held, in_loop([app], lambda http: opener_and_burst(http, held, people, burst))


def in_loop(apps: list, scenario):
    """Runs scenario(one client per app) in a new event loop, then closes the apps' submit path."""
    async def main():
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                                         base_url="http://test")) for app in apps]
            try:
                return await scenario(*clients)
            finally:
                for app in apps:
                    await app.state.submit_batcher.close()
                    await app.state.submit_store.close()
    return asyncio.run(main())


def set_policy(sessions, people: dict, **policy) -> None:
    with sessions() as session:
        course_id = session.scalar(select(Course.id).where(Course.slug == people["course"]))
        session.execute(update(CourseAssignment).where(CourseAssignment.course_id == course_id,
                                                       CourseAssignment.assignment_id == "w0-service").values(**policy))
        session.commit()


def rows_of(sessions, people: dict) -> dict[int, tuple]:
    """The course's submissions: id -> (user name, content, enqueued_at)."""
    with sessions() as session:
        return {i: (name, content, enqueued_at) for i, name, content, enqueued_at in session.execute(
            select(Submission.id, User.name, Submission.content, Submission.enqueued_at).join(User)
            .where(User.name.in_([people["instructor"], *people["students"]])))}


def user_id(sessions, name: str) -> int:
    with sessions() as session:
        return session.scalar(select(User.id).where(User.name == name))


def test_students_submitting_together_share_one_batch(api_settings, catalog, sessions):
    people = seed_course(api_settings, catalog, students=BURST)
    queue = RecordingQueue()
    app = create_app(api_settings, enqueuer=queue)
    held, answers = opener_then_burst(app, people, people["students"])
    assert [a.status_code for a in answers] == [202] * BURST, [a.text for a in answers]
    assert held.sizes() == [1, BURST]
    assert sorted(new.values["user_id"] for new in held.batches[1]) == sorted(user_id(sessions, s)
                                                                         for s in people["students"])
    stored = rows_of(sessions, people)
    for student, answer in zip(people["students"], answers):
        name, content, enqueued_at = stored[answer.json()["id"]]
        assert (name, content) == (student, upload(student)), "each answer names its own row"
        assert enqueued_at is not None
    assert sorted(i for i, _ in queue.sent) == sorted(stored)


def test_callers_found_together_each_get_their_own_answer(api_settings, catalog):
    people = seed_course(api_settings, catalog, students=3)
    stranger = seed_course(api_settings, catalog)
    people["tokens"].update(stranger=stranger["tokens"][stranger["students"][0]], forged="not-a-token")
    app = create_app(api_settings, enqueuer=RecordingQueue())
    asked = [("s0", people["students"][0], {}), ("own course", people["students"][1], {"course": people["course"]}),
             ("no such assignment", people["students"][2], {"assignment": "w9-nothing"}),
             ("not their course", "stranger", {"course": people["course"]}), ("bad token", "forged", {})]
    held = HeldFirstBatch(app.state.submit_batcher.callers, len(asked))

    async def scenario(http):
        opener = asyncio.create_task(post(http, people, "instructor"))
        await held.entered.wait()
        answers = await asyncio.gather(*(post(http, people, who, **params) for _, who, params in asked))
        await opener
        return answers

    answers = in_loop([app], scenario)
    assert held.sizes() == [1, len(asked)]
    assert {what: a.status_code for (what, _, _), a in zip(asked, answers)} == {
        "s0": 202, "own course": 202, "no such assignment": 404, "not their course": 404, "bad token": 401}
    assert answers[1].json()["course"] == people["course"]


def test_a_batch_reaches_redis_in_the_order_stored(api_settings, catalog, sessions):
    people = seed_course(api_settings, catalog, students=BURST)
    with redis_broker() as (broker_url, prefix):
        settings = api_settings.model_copy(update={"broker_url": broker_url, "broker_key_prefix": prefix})
        app = create_app(settings, enqueuer=CeleryEnqueuer(create_celery(settings)))
        _, answers = opener_then_burst(app, people, people["students"])
        messages = redis.Redis.from_url(broker_url).lrange(f"{prefix}cpu", 0, -1)
    assert [a.status_code for a in answers] == [202] * BURST
    consumed_in = [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in reversed(messages)]
    assert consumed_in == sorted(rows_of(sessions, people)), "a worker takes them in the order they were stored"


@pytest.mark.parametrize("policy", [{"attempts_per_day": 3}, {"attempts_total": 3}])
def test_attempt_limit_exact_for_a_burst_in_one_batch(api_settings, catalog, sessions, policy):
    people = seed_course(api_settings, catalog)
    student = people["students"][0]
    set_policy(sessions, people, **policy)
    _, (earlier,) = opener_then_burst(create_app(api_settings, enqueuer=RecordingQueue()), people, [student])
    assert earlier.status_code == 202
    _, answers = opener_then_burst(create_app(api_settings, enqueuer=RecordingQueue()), people, [student] * BURST)
    assert sorted(a.status_code for a in answers) == [202] * 2 + [429] * (BURST - 2)
    refused = [a for a in answers if a.status_code == 429]
    assert all(a.json()["error"]["code"] == "attempt_limit" for a in refused)
    if "attempts_per_day" in policy:
        assert all(int(a.headers["retry-after"]) > 0 for a in refused)
    assert sum(name == student for name, _, _ in rows_of(sessions, people).values()) == 3


@pytest.fixture(scope="module")
def postgres_settings(tmp_path_factory, references):
    """Two API processes share one database only on PostgreSQL (SQLite serves one process)."""
    with postgres_schema() as url:
        data_dir = tmp_path_factory.mktemp("api-two-processes")
        yield migrated(service_settings(data_dir, references, slot=10, database_url=url))


def test_attempt_limit_exact_across_processes(postgres_settings):
    sessions = session_factory(postgres_settings.database_url)
    people = seed_course(postgres_settings, ManifestCatalog(postgres_settings.reference_dir))
    student = people["students"][0]
    set_policy(sessions, people, attempts_total=3)
    apps = [create_app(postgres_settings, enqueuer=RecordingQueue()) for _ in range(2)]
    both_waiting = asyncio.Barrier(2)  # so that the two processes' batches run at the same time
    held = [HeldFirstBatch(app.state.submit_batcher.submissions, BURST, both_waiting.wait) for app in apps]

    async def scenario(*clients):
        return await asyncio.gather(*(opener_and_burst(http, h, people, [student] * BURST)
                                      for http, h in zip(clients, held)))

    answers = [a for per_process in in_loop(apps, scenario) for a in per_process]
    assert [h.sizes() for h in held] == [[1, BURST]] * 2
    assert sorted(a.status_code for a in answers) == [202] * 3 + [429] * (2 * BURST - 3)
    assert sum(name == student for name, _, _ in rows_of(sessions, people).values()) == 3


def test_a_row_over_its_limit_fails_alone(api_settings, catalog, sessions):
    people = seed_course(api_settings, catalog, students=4)
    over, *others = people["students"]
    set_policy(sessions, people, attempts_total=1)
    queue = RecordingQueue()
    _, (used,) = opener_then_burst(create_app(api_settings, enqueuer=queue), people, [over])
    held, answers = opener_then_burst(create_app(api_settings, enqueuer=queue), people, [over, *others])
    assert held.sizes() == [1, 4]
    assert [a.status_code for a in answers] == [429, 202, 202, 202]
    stored = rows_of(sessions, people)
    assert sorted(name for name, _, _ in stored.values()) == sorted([over, *others] + [people["instructor"]] * 2)
    assert all(stored[a.json()["id"]][2] is not None for a in answers[1:]), "the others are queued"


def test_a_row_the_database_refuses_fails_alone(api_settings, catalog, sessions):
    people = seed_course(api_settings, catalog, students=4)
    queue = RecordingQueue()
    app = create_app(api_settings, enqueuer=queue)
    batcher = app.state.submit_batcher
    with sessions() as session:
        offered = session.scalar(select(CourseAssignment.id).join(Course).where(Course.slug == people["course"]))
    rows = [{"course_assignment_id": offered, "user_id": user_id(sessions, s), "filename": "hw.py",
             "content": upload(s), "sha256": "0" * 64, "size": 1, "queue": "cpu", "status": "queued",
             "created_at": utcnow(), "attempts": 0, "max_score": 6.0} for s in people["students"]]
    rows[1]["course_assignment_id"] = 2**30  # no such offering: a foreign key violation
    opening = dict(rows[0], user_id=user_id(sessions, people["instructor"]))
    held = HeldFirstBatch(batcher.submissions, len(rows))

    async def scenario(_http):
        opener = asyncio.create_task(batcher.submit(NewSubmission(opening, None)))
        await held.entered.wait()
        outcomes = await asyncio.gather(*(batcher.submit(NewSubmission(row, None)) for row in rows),
                                        return_exceptions=True)
        await opener
        return outcomes

    outcomes = in_loop([app], scenario)
    assert held.sizes() == [1, 4]
    assert isinstance(outcomes[1], IntegrityError)
    good = [outcomes[0], *outcomes[2:]]
    assert all(isinstance(i, int) for i in good)
    stored = rows_of(sessions, people)
    assert all(stored[i][2] is not None for i in good) and {i for i, _ in queue.sent} >= set(good)


@pytest.mark.parametrize("broker", ["recording", "redis"])
def test_broker_down_during_a_batch_still_accepts_for_the_sweeper(api_settings, catalog, sessions, broker):
    people = seed_course(api_settings, catalog, students=BURST)
    if broker == "redis":
        down = api_settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
        enqueuer = CeleryEnqueuer(create_celery(down))
    else:
        enqueuer = RecordingQueue()
        enqueuer.down = True
    app = create_app(api_settings, enqueuer=enqueuer)
    held, answers = opener_then_burst(app, people, people["students"])
    assert [a.status_code for a in answers] == [202] * BURST
    assert held.sizes() == [1, BURST]
    stored = rows_of(sessions, people)
    assert len(stored) == BURST + 1 and all(enqueued_at is None for _, _, enqueued_at in stored.values())
    working = RecordingQueue()
    swept = sweeper.sweep(sessions, working, api_settings.model_copy(update={"sweep_grace_s": 0.0}))
    assert set(stored) <= set(swept)


def test_database_unavailable_during_a_batch_stores_none_of_it(api_settings, catalog, sessions):
    people = seed_course(api_settings, catalog, students=BURST)
    set_policy(sessions, people, attempts_total=100)  # a transaction: locks, counts, the INSERT, COMMIT
    if api_settings.database_url.startswith("postgresql"):
        answers = _postgres_dies_in_the_insert(api_settings, people)
    else:
        outage = SqliteOutage(api_settings.database_url)
        try:
            _, answers = opener_then_burst(create_app(api_settings, enqueuer=RecordingQueue()), people,
                                           people["students"], at_release=_async(outage.begin))
        finally:
            outage.end()
    assert [a.status_code for a in answers] == [503] * BURST
    assert all(a.json()["error"]["code"] == "database_unavailable" for a in answers)
    assert [name for name, _, _ in rows_of(sessions, people).values() if name != people["instructor"]] == [], \
        "nothing of the burst's batch is stored"
    _, (after,) = opener_then_burst(create_app(api_settings, enqueuer=RecordingQueue()), people,
                                    people["students"][:1])
    assert after.status_code == 202, "the next batch is stored"


def _postgres_dies_in_the_insert(api_settings, people: dict) -> list[httpx.Response]:
    """The batch's INSERT has written its rows and waits (its foreign key check) on a user row the
    test holds; then its server process is killed, before the COMMIT."""
    application = f"tg-batch-{uuid.uuid4().hex[:8]}"
    settings = api_settings.model_copy(update={"database_url": f"{api_settings.database_url}"
                                                               f"&application_name={application}"})
    app = create_app(settings, enqueuer=RecordingQueue())
    libpq_url = app.state.submit_store.url
    with psycopg.connect(libpq_url) as holder, psycopg.connect(libpq_url, autocommit=True) as killer:
        holder.execute("SELECT 1 FROM users WHERE name = %s FOR UPDATE", (people["students"][-1],))

        def kill_the_waiting_insert() -> None:
            deadline = time.monotonic() + 30
            try:
                while time.monotonic() < deadline and not killer.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                        "AND wait_event_type = 'Lock' AND query LIKE 'INSERT%%'", (application,)).fetchall():
                    time.sleep(0.01)
            finally:
                holder.rollback()

        killing = []

        async def at_release() -> None:  # the kill waits for the batch's INSERT, which comes next
            killing.append(asyncio.get_running_loop().run_in_executor(None, kill_the_waiting_insert))

        _, answers = opener_then_burst(app, people, people["students"], at_release)
    with psycopg.connect(libpq_url) as check:
        assert check.execute("SELECT count(*) FROM submissions s JOIN users u ON u.id = s.user_id "
                             "WHERE u.name = ANY(%s)", (people["students"],)).fetchone() == (0,)
    return answers


def _async(function):
    async def called() -> None:
        function()
    return called
