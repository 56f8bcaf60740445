"""Prometheus metrics read from the database at scrape time, so that they cover every worker:
submissions by status, queue depth per queue, and the grading duration histogram; and this API
process's progress streams (open, refused)."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.services.progress import Streams
from core.models import Submission
from grader.status import SubmissionStatus

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class ServiceCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def collect(self):
        with self.sessions() as session:
            yield self._by_status(session)
            yield self._queue_depth(session)
            yield self._durations(session)

    def _by_status(self, session: Session) -> GaugeMetricFamily:
        family = GaugeMetricFamily("torchgrade_submissions", "Submissions by status", labels=["status"])
        counts = dict(session.execute(select(Submission.status, func.count()).group_by(Submission.status)).all())
        for state in SubmissionStatus:
            family.add_metric([state.value], counts.get(state, 0))
        return family

    def _queue_depth(self, session: Session) -> GaugeMetricFamily:
        family = GaugeMetricFamily("torchgrade_queue_depth", "Submissions waiting for a worker, per queue",
                                   labels=["queue"])
        counts = dict(session.execute(select(Submission.queue, func.count()).where(
            Submission.status == SubmissionStatus.queued).group_by(Submission.queue)).all())
        for queue in sorted({"cpu", "gpu", *counts}):
            family.add_metric([queue], counts.get(queue, 0))
        return family

    def _durations(self, session: Session) -> HistogramMetricFamily:
        timed = Submission.grading_s.is_not(None)
        columns = [func.sum(case((Submission.grading_s <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
        row = session.execute(select(func.count(), func.coalesce(func.sum(Submission.grading_s), 0.0), *columns)
                              .where(timed)).one()
        count, total, cumulative = row[0], row[1], [c or 0 for c in row[2:]]
        buckets = [(str(bound), n) for bound, n in zip(DURATION_BUCKETS, cumulative)] + [("+Inf", count)]
        family = HistogramMetricFamily("torchgrade_grading_duration_seconds",
                                       "Time from a worker's claim to the recorded result")
        family.add_metric([], buckets, sum_value=total)
        return family


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
