"""The progress notifier (core/notify.py), on SQLite (one shared poller) and PostgreSQL
(LISTEN/NOTIFY): a stored event wakes the streams of its submission and no other; a rolled-back
one wakes nobody; a lost listening connection is reopened and every stream woken."""

from __future__ import annotations

import asyncio

import anyio
import psycopg
import pytest

from core import lifecycle
from core.events import Running
from core.notify import CHANNEL, PostgresNotifier, notifier_for
from tests.workers.conftest import catalog, db_settings, references, sessions  # noqa: F401 (fixtures)
from tests.workers.test_grading import stored_submission

WAKE_S = 60  # far longer than any wake-up takes: a wait that ends sooner was woken
POLL_S = 0.05


def store_event(sessions, submission_id: int, commit: bool = True) -> None:
    with sessions() as session:
        lifecycle._add_event(session, submission_id, Running(), lifecycle.utcnow())
        session.commit() if commit else session.rollback()


async def started(db_settings):
    notifier = notifier_for(db_settings.database_url, POLL_S)
    await notifier.start()
    if isinstance(notifier, PostgresNotifier):
        await asyncio.wait_for(notifier.listening.wait(), WAKE_S)
    return notifier


def run(scenario, *args) -> None:
    anyio.run(scenario, *args)


def test_a_stored_event_wakes_the_streams_of_its_submission_only(sessions, db_settings, catalog):  # noqa: F811
    watched, other = (stored_submission(sessions, db_settings, catalog) for _ in range(2))

    async def scenario():
        notifier = await started(db_settings)
        try:
            with notifier.watching(watched) as first, notifier.watching(watched) as second, \
                    notifier.watching(other) as elsewhere:
                await anyio.to_thread.run_sync(store_event, sessions, watched)
                assert await first.wait(WAKE_S) and await second.wait(WAKE_S)
                assert not elsewhere.pending()
                await anyio.to_thread.run_sync(store_event, sessions, other)
                assert await elsewhere.wait(WAKE_S)
                assert not first.pending()
            assert notifier.watched() == []
        finally:
            await notifier.stop()
    run(scenario)


def test_a_rolled_back_event_wakes_nobody(sessions, db_settings, catalog):  # noqa: F811
    undone, stored = (stored_submission(sessions, db_settings, catalog) for _ in range(2))

    async def scenario():
        notifier = await started(db_settings)
        try:
            with notifier.watching(undone) as rolled_back, notifier.watching(stored) as committed:
                await anyio.to_thread.run_sync(lambda: store_event(sessions, undone, commit=False))
                await anyio.to_thread.run_sync(store_event, sessions, stored)
                # Notifications arrive in commit order and the poller reads both at once: by the
                # time the second wakes its stream, the first would have been delivered.
                assert await committed.wait(WAKE_S)
                assert not rolled_back.pending()
        finally:
            await notifier.stop()
    run(scenario)


def test_postgres_ignores_notifications_of_other_schemas(sessions, db_settings, catalog):  # noqa: F811
    if not db_settings.database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    mine, stored = (stored_submission(sessions, db_settings, catalog) for _ in range(2))

    async def scenario():
        notifier = await started(db_settings)
        try:
            with notifier.watching(mine) as foreign, notifier.watching(stored) as committed:
                # Another schema in the same database with a submission of the same id.
                with psycopg.connect(db_settings.database_url, autocommit=True) as connection:
                    connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"another_schema {mine}"))
                await anyio.to_thread.run_sync(store_event, sessions, stored)
                assert await committed.wait(WAKE_S)
                assert not foreign.pending()
        finally:
            await notifier.stop()
    run(scenario)


def test_postgres_listener_reconnects_and_wakes_every_stream(sessions, db_settings, catalog):  # noqa: F811
    if not db_settings.database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    submission_id = stored_submission(sessions, db_settings, catalog)

    async def scenario():
        notifier = await started(db_settings)
        notifier.reconnect_s = POLL_S
        try:
            with notifier.watching(submission_id) as wake:
                lost = notifier.backend_pid
                with psycopg.connect(db_settings.database_url, autocommit=True) as connection:
                    connection.execute("SELECT pg_terminate_backend(%s)", (lost,))
                # Whatever was stored while nobody listened: every stream is told to look.
                assert await wake.wait(WAKE_S)
                await asyncio.wait_for(notifier.listening.wait(), WAKE_S)
                assert notifier.backend_pid != lost
                await anyio.to_thread.run_sync(store_event, sessions, submission_id)
                assert await wake.wait(WAKE_S)
        finally:
            await notifier.stop()
    run(scenario)


def test_the_poller_asks_once_for_every_watched_submission(sessions, db_settings, catalog):  # noqa: F811
    if db_settings.database_url.startswith("postgresql"):
        pytest.skip("the poller is SQLite's")
    submissions = [stored_submission(sessions, db_settings, catalog) for _ in range(3)]
    notifier = notifier_for(db_settings.database_url, POLL_S)
    asked = []
    latest = notifier._latest
    notifier._latest = lambda ids: asked.append(sorted(ids)) or latest(ids)

    async def scenario():
        with notifier.watching(submissions[0]), notifier.watching(submissions[0]), \
                notifier.watching(submissions[1]) as second, notifier.watching(submissions[2]):
            store_event(sessions, submissions[1])
            await notifier.poll()
            assert second.pending()
        await notifier.poll()  # nothing watched: no query
    run(scenario)
    assert asked == [sorted(submissions)]
