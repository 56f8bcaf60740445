"""LMS grade passback as a Celery task taking ids (``core.queueing.PASSBACK_TASK``): queued
after a result is recorded, outside the transaction that recorded it, and by an instructor's
release; it sends the student's grade as it is when it runs, so a second run (a redelivery, a
retry) sends the same score again, which the LMS keeps as it was.

The work is the service's (``api.services.lti.passback``: the gradebook's grade, pylti1p3's
Assignment and Grade Services); this module only carries it to the worker, as
``torchgrade.service_commands`` carries it to the CLI."""

from __future__ import annotations

import logging

import requests
from celery import Celery
from pylti1p3.exception import LtiException, LtiServiceException
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.catalog import ManifestCatalog
from core.queueing import PASSBACK_TASK
from core.settings import Settings

log = logging.getLogger(__name__)

# The LMS or the network failing: retried with backoff.  Anything else is a bug.
RETRIED = (requests.RequestException, LtiServiceException, LtiException, OperationalError)
MAX_RETRIES = 8


def register(app: Celery, sessions: sessionmaker[Session], settings: Settings) -> None:
    catalog = ManifestCatalog(settings.reference_dir)

    @app.task(name=PASSBACK_TASK, autoretry_for=RETRIED, retry_backoff=settings.retry_backoff_s,
              retry_backoff_max=600, retry_jitter=True, max_retries=MAX_RETRIES)
    def lti_passback(user_id: int, course_assignment_id: int) -> int:
        return run_passback(sessions, settings, catalog, user_id, course_assignment_id)


def run_passback(sessions: sessionmaker[Session], settings: Settings, catalog, user_id: int,
                 course_assignment_id: int) -> int:
    from api.services import lti

    with sessions() as session:
        sent = lti.passback(session, settings, catalog, user_id, course_assignment_id)
    log.info("lti passback of user %s, course assignment %s: %d score(s) sent", user_id, course_assignment_id, sent)
    return sent


def after_recorded(sessions: sessionmaker[Session], enqueuer, submission_id: int) -> int:
    """After the grading transaction committed: queue the passback if the assignment is linked."""
    from api.services import lti

    try:
        with sessions() as session:
            return lti.after_recorded(session, enqueuer, submission_id)
    except OperationalError as exc:   # the result is recorded; only its passback is lost
        log.warning("submission %s: lti passback not queued: %s", submission_id, exc)
        return 0
