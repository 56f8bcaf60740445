"""Prometheus metrics read from the database at scrape time, so that they cover every worker:
submissions by status and queue, queue depth and submissions waiting on a queue nobody consumes,
queue wait and grading time histograms per assignment, grader faults, and each worker's liveness,
fault counters and missing sandbox layers (core/workers.py); and this API process's progress
streams (open, refused).  docs/SERVICE.md lists them with a dashboard's queries."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.services.progress import Streams
from core import workers
from core.db import utcnow
from core.models import CourseAssignment, Submission
from grader.status import SubmissionStatus

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class ServiceCollector(Collector):
    """One aggregate query per family: a scrape costs the same with 100 submissions as with a
    million (each query reads an index or groups in the database, never a row per submission)."""

    def __init__(self, sessions: sessionmaker[Session], stale_s: float = 35.0):
        self.sessions = sessions
        self.stale_s = stale_s

    def collect(self):
        with self.sessions() as session:
            yield self._by_status(session)
            yield self._queue_depth(session)
            yield self._waiting_for_worker(session)
            yield self._histogram(session, "torchgrade_grading_duration_seconds",
                                  "Time from a worker's claim to the recorded result, per assignment",
                                  Submission.grading_s)
            yield self._histogram(session, "torchgrade_queue_wait_seconds",
                                  "Time from submitting to a worker's claim, per assignment", _queue_wait(session))
            yield self._internal_errors(session)
            yield from self._workers(session)

    def _by_status(self, session: Session) -> GaugeMetricFamily:
        family = GaugeMetricFamily("torchgrade_submissions", "Submissions by status and queue",
                                   labels=["status", "queue"])
        counts = {(status, queue): n for status, queue, n in session.execute(
            select(Submission.status, Submission.queue, func.count()).group_by(Submission.status, Submission.queue))}
        for queue in sorted({"cpu", "gpu", *(queue for _, queue in counts)}):
            for state in SubmissionStatus:
                family.add_metric([state.value, queue], counts.get((state, queue), 0))
        return family

    def _queued(self, session: Session) -> dict[str, int]:
        return dict(session.execute(select(Submission.queue, func.count()).where(
            Submission.status == SubmissionStatus.queued).group_by(Submission.queue)).all())

    def _queue_depth(self, session: Session) -> GaugeMetricFamily:
        family = GaugeMetricFamily("torchgrade_queue_depth", "Submissions waiting for a worker, per queue",
                                   labels=["queue"])
        counts = self._queued(session)
        for queue in sorted({"cpu", "gpu", *counts}):
            family.add_metric([queue], counts.get(queue, 0))
        return family

    def _waiting_for_worker(self, session: Session) -> GaugeMetricFamily:
        family = GaugeMetricFamily("torchgrade_submissions_without_worker", "Queued submissions on a queue no live "
                                   "worker consumes (they say: waiting: no GPU worker is running)", labels=["queue"])
        counts, live = self._queued(session), workers.live_queues(session, self.stale_s)
        for queue in sorted({"cpu", "gpu", *counts}):
            family.add_metric([queue], 0 if queue in live else counts.get(queue, 0))
        return family

    def _histogram(self, session: Session, name: str, documentation: str, seconds) -> HistogramMetricFamily:
        columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
        rows = session.execute(
            select(CourseAssignment.assignment_id, func.count(), func.coalesce(func.sum(seconds), 0.0), *columns)
            .select_from(Submission).join(CourseAssignment, CourseAssignment.id == Submission.course_assignment_id)
            .where(seconds.is_not(None)).group_by(CourseAssignment.assignment_id))
        family = HistogramMetricFamily(name, documentation, labels=["assignment"])
        for assignment, count, total, *cumulative in rows:
            buckets = [(str(bound), n or 0) for bound, n in zip(DURATION_BUCKETS, cumulative)] + [("+Inf", count)]
            family.add_metric([assignment], buckets, sum_value=float(total))
        return family

    def _internal_errors(self, session: Session) -> GaugeMetricFamily:
        family = GaugeMetricFamily("torchgrade_grader_faults", "Submissions given up as internal_error (a grader "
                                   "fault, not the student's), per assignment", labels=["assignment"])
        rows = session.execute(select(CourseAssignment.assignment_id, func.count()).select_from(Submission)
                               .join(CourseAssignment, CourseAssignment.id == Submission.course_assignment_id)
                               .where(Submission.status == SubmissionStatus.internal_error)
                               .group_by(CourseAssignment.assignment_id))
        for assignment, count in rows:
            family.add_metric([assignment], count)
        return family

    def _workers(self, session: Session):
        now = utcnow()
        up = GaugeMetricFamily("torchgrade_worker_up", "1 while the worker's heartbeat is fresh (core/workers.py)",
                               labels=["worker", "queues"])
        age = GaugeMetricFamily("torchgrade_worker_last_seen_seconds", "Seconds since the worker's last heartbeat",
                                labels=["worker"])
        faults = CounterMetricFamily("torchgrade_worker_grader_faults", "Gradings that ended in a grader fault "
                                     "(retried or given up), per worker since it started", labels=["worker"])
        failures = CounterMetricFamily("torchgrade_worker_sandbox_failures", "Sandboxes that failed to start (a "
                                       "required layer refused, the zygote died), per worker", labels=["worker"])
        missing = GaugeMetricFamily("torchgrade_sandbox_layer_missing", "1 for each sandbox layer a worker's sandbox "
                                    "lacks (docs/SANDBOX.md)", labels=["worker", "layer"])
        live = GaugeMetricFamily("torchgrade_workers_live", "Live workers consuming each queue", labels=["queue"])
        per_queue = {"cpu": 0, "gpu": 0}
        for row in workers.all_workers(session):
            alive = workers.is_live(row, self.stale_s, now)
            up.add_metric([row.name, row.queues], 1 if alive else 0)
            age.add_metric([row.name], (now - row.last_seen).total_seconds())
            faults.add_metric([row.name], row.grader_faults)
            failures.add_metric([row.name], row.sandbox_failures)
            for layer in sorted(row.missing_layers or {}):
                missing.add_metric([row.name, layer], 1)
            for queue in row.queues.split(","):
                if queue and alive:
                    per_queue[queue] = per_queue.get(queue, 0) + 1
        for queue, count in sorted(per_queue.items()):
            live.add_metric([queue], count)
        yield from (up, age, faults, failures, missing, live)


def _queue_wait(session: Session):
    """Seconds from submitting to the (last) claim, in SQL on either backend."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(Submission.started_at) - func.julianday(Submission.created_at)) * 86400.0
    return func.extract("epoch", Submission.started_at - Submission.created_at)


class StreamCollector(Collector):
    """This process's progress streams (each API process counts its own)."""

    def __init__(self, streams: Streams):
        self.streams = streams

    def collect(self):
        yield GaugeMetricFamily("torchgrade_open_streams", "Progress streams open in this API process",
                                value=self.streams.open)
        refused = CounterMetricFamily("torchgrade_streams_refused", "Progress streams refused (429): the "
                                      "caller's cap (user) or the process's (total)", labels=["cap"])
        for cap in ("user", "total"):
            refused.add_metric([cap], self.streams.refused[cap])
        yield refused
