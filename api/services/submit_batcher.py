"""Group commit: each API process finds the callers, and stores and queues the submissions, of the
requests that arrive together as one batch, at the cost of one request in statements and round
trips.

The rule (``Batches``).  A request hands its item to the process's batcher and waits.  When the
batcher is free it starts at once with every item waiting; while it works, new items wait for
the next batch (so batches grow with the load, and a lone request waits for no timer).  Two
batchers per process run side by side, each one batch at a time:

- callers: one query finds every waiting request's user, enrolment, offering and extension
  (nothing is cached: a revoked token or a new policy applies to every request that arrives
  after it);
- submissions, in order:
  1. store: one INSERT of all the rows, committed durably (one statement; where a row is
     limited, one transaction that locks those students' memberships, counts their attempts
     and inserts the rows within their limits);
  2. publish the stored rows' task messages in one broker round trip;
  3. mark the published rows queued (``enqueued_at``) in one UPDATE (not waiting for the flush);
  4. answer each request: 202 with its id, or its own error.

What holds, as for a submission stored alone:

- A 202 only after its row is durably committed, and its row is stored before it is queued.
- Nothing accepted is lost: a broker that is down leaves the stored rows unmarked (still 202),
  and the sweeper queues them after ``sweep_grace_s``; so does an API process that dies
  between the commit and the publish.
- A row refused fails alone: one over its attempt limit is a 429, one the database refuses (a
  constraint, a value) its 409 or 422 (the batch is stored again row by row, each in a
  savepoint, to find it); the others of the batch are stored and queued.
- The attempt limit is exact: the memberships are locked (in one order, so batches of two
  processes cannot deadlock) before counting, and held until the commit, and a batch counts its
  own earlier rows of the same student.
- The database unavailable: every request of the batch gets the 503 and none of its rows is
  stored (one statement or one transaction).  If the connection dies during the COMMIT itself,
  the client cannot know, as for a single INSERT: then all of them are stored, and the sweeper
  queues them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar


from core import lifecycle
from core.store import Asked, NewSubmission, Outcome, SubmitStore

log = logging.getLogger(__name__)


Item = TypeVar("Item")
Result = TypeVar("Result")


class Batches(Generic[Item, Result]):
    """The group rule: `work` takes the items waiting and gives one result or exception each, in
    order; an exception it raises is every item's.  Used from one event loop at a time."""

    def __init__(self, work: Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]]):
        self.work = work
        self.waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self.working: asyncio.Task | None = None

    async def run(self, item: Item) -> Result:
        answer = asyncio.get_running_loop().create_future()
        self.waiting.append((item, answer))
        if self.working is None:
            self.working = asyncio.create_task(self._work())
        return await answer

    async def close(self) -> None:
        """Lets the batch in progress finish (at the end of the event loop)."""
        if self.working is not None:
            await self.working

    async def _work(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    outcomes = await self.work([item for item, _ in batch])
                except Exception as exc:  # the database is down, say: every item gets the error
                    outcomes = [exc] * len(batch)
                for (_, answer), outcome in zip(batch, outcomes):
                    _settle(answer, outcome)
        finally:
            self.working = None


def _settle(answer: asyncio.Future, outcome) -> None:
    if answer.done():  # its request was cancelled; a row stored stands
        return
    if isinstance(outcome, Exception):
        answer.set_exception(outcome)
    else:
        answer.set_result(outcome)


class SubmitBatcher:
    """The submit path's two batchers, one per process."""

    def __init__(self, store: SubmitStore, enqueuer):
        self.store = store
        self.enqueuer = enqueuer
        self.callers = Batches(store.callers)
        self.submissions = Batches(self._store_and_queue)

    async def caller_rows(self, asked: Asked) -> list:
        """The CALLER rows of (token hash, assignment id, course slug or None)."""
        return await self.callers.run(asked)

    async def submit(self, new: NewSubmission) -> int:
        """The new id, once stored and queued (or stored, with the broker down); else raises the
        row's refusal or the database's error."""
        return await self.submissions.run(new)

    async def close(self) -> None:
        await self.callers.close()
        await self.submissions.close()

    async def _store_and_queue(self, batch: list[NewSubmission]) -> list[Outcome]:
        outcomes = await self.store.store(batch)
        stored = [(new_id, new.values["queue"]) for new, new_id in zip(batch, outcomes) if isinstance(new_id, int)]
        await lifecycle.publish_batch(self.store, self.enqueuer, stored)
        return outcomes
