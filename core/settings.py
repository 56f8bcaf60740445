"""The service's settings: one class, read from ``TORCHGRADE_*`` environment variables (and
``.env``).  It extends the engine's settings (sandbox, caps) with the database, the broker, the
API and the workers.

Development defaults need no server: SQLite and an SQLite-backed Celery transport under
``data_dir``.  ``environment=production`` refuses the defaults that are only safe on a
developer's machine.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator

from core.clock import DEFAULT_TIME_ZONE, known
from grader.config import EngineSettings

DEVELOPMENT_SECRET = "development-only-secret"


class Settings(EngineSettings):
    secret_key: str = Field(DEVELOPMENT_SECRET, description="signs tokens; must be set in production")
    default_time_zone: str = Field(DEFAULT_TIME_ZONE, description="IANA time zone of a course that names none: "
                                   "deadlines are entered and shown in it")
    default_language: Literal["zh", "en"] = Field("zh", description="the language of messages for a user with no "
                                                 "preference in a course with no default, before Accept-Language")

    # The service: database and broker (defaults need no server: SQLite files under data_dir)
    database_url: str = Field("", description="SQLAlchemy URL; default sqlite:///<data_dir>/torchgrade.sqlite3; "
                                              "postgresql://user@host/db is served by psycopg 3")
    broker_url: str = Field("", description="Celery broker; default sqla+sqlite:///<data_dir>/broker.sqlite3 "
                                            "(kombu's SQLAlchemy transport), e.g. redis://127.0.0.1:6379/0")
    broker_key_prefix: str = Field("", description="prefix of every Redis key the broker writes (shared Redis)")
    broker_visibility_timeout_s: float = Field(3600.0, gt=0, description="Redis: an unacknowledged message is "
                                               "delivered again after this long (a worker died)")
    broker_poll_interval_s: float = Field(0.1, gt=0, description="SQLAlchemy transport: how often workers poll")
    api_host: str = Field("127.0.0.1", description="torchgrade serve: address to listen on")
    api_port: int = Field(8000, ge=1, le=65535, description="torchgrade serve: port to listen on")
    api_url: str = Field("", description="public base URL for Location headers; default: a path, /api/v1/...")
    sse_poll_s: float = Field(0.25, gt=0, description="SQLite: how often the API's one progress poller looks for new "
                              "events of every watched submission (PostgreSQL wakes streams by LISTEN/NOTIFY)")
    sse_recheck_s: float = Field(30.0, gt=0, description="a waiting progress stream also looks for news about this "
                                 "often (give or take a quarter), in case a wake-up was lost or the submission was "
                                 "deleted")
    sse_max_streams_per_user: int = Field(8, ge=1, description="open progress streams one user may hold per API "
                                          "process; one more is refused (429)")
    sse_max_streams: int = Field(1000, ge=1, description="open progress streams in all per API process; one more is "
                                 "refused (429)")
    sse_read_threads: int = Field(4, ge=1, le=64, description="threads the progress streams' database reads share, "
                                  "apart from those that serve other requests")

    log_format: Literal["json", "text"] = Field("json", description="serve and worker logs: one JSON object a line "
                                                "(core/logs.py), or plain text for a terminal")

    # Accounts (api/services/accounts.py, api/sessions.py)
    session_days: float = Field(14.0, gt=0, description="a browser login lasts this long (a new login starts anew)")
    invitation_days: float = Field(14.0, gt=0, description="an invitation code (roster import, password reset) "
                                   "can set a password for this long")
    login_max_failures: int = Field(5, ge=1, description="failed logins for one user name within login_window_s "
                                    "before further tries are refused until the window passes")
    login_max_failures_per_client: int = Field(50, ge=1, description="failed logins from one address within "
                                               "login_window_s (any names) before it is refused likewise")
    login_window_s: float = Field(900.0, gt=0, description="the rate limit's window")
    cookie_secure: bool | None = Field(None, description="send the session cookie over HTTPS only; none: in "
                                       "production only")

    # Workers
    worker_concurrency: int = Field(1, ge=1, le=64, description="grading processes per worker, each with its own "
                                    "sandbox slot (sandbox_slot + process index)")
    progress_interval_s: float = Field(0.05, ge=0, description="a grading process writes its progress events from "
                                       "a thread of its own, at most this often: those of checks that finish within "
                                       "it are written together (one transaction, one wake-up for the streams), "
                                       "those left at the end with the result; 0 writes each as soon as it can")
    worker_sweep: bool = Field(True, description="run the sweeper in this worker's main process")
    sweep_interval_s: float = Field(15.0, gt=0, description="how often the sweeper runs")
    worker_heartbeat_s: float = Field(10.0, gt=0, description="how often a worker writes its row in the workers table "
                                      "(core/workers.py)")
    worker_stale_s: float = Field(35.0, gt=0, description="a worker whose row is older than this is taken for dead: "
                                  "/readyz fails and submissions to its queues say they wait for a worker")
    sweep_grace_s: float = Field(10.0, ge=0, description="a stored submission not queued for this long is queued")
    stale_queued_s: float = Field(3600.0, gt=0, description="a queued submission waiting this long is queued again "
                                  "(its message was lost with the broker's data)")
    lease_grace_s: float = Field(60.0, ge=0, description="a running submission's lease: the assignment's wall_s "
                                 "plus this; after it the sweeper hands the submission to another worker")
    max_deliveries: int = Field(5, ge=1, description="grading attempts (worker deaths, grader faults) before a "
                                "submission is given up as internal_error, unscored")
    retry_backoff_s: float = Field(2.0, gt=0, description="first delay before retrying a grader fault; doubles")
    retry_backoff_max_s: float = Field(300.0, gt=0)

    @model_validator(mode="after")
    def _default_urls(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'torchgrade.sqlite3'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{self.data_dir / 'broker.sqlite3'}"
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.environment == "production" if self.cookie_secure is None else self.cookie_secure

    @model_validator(mode="after")
    def _known_time_zone(self) -> "Settings":
        if not known(self.default_time_zone):
            raise ValueError(f"TORCHGRADE_DEFAULT_TIME_ZONE: no time zone called {self.default_time_zone!r}")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.environment != "production":
            return self
        if self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError("TORCHGRADE_SECRET_KEY must be set in production")
        if self.database_url.startswith("sqlite"):
            raise ValueError("TORCHGRADE_DATABASE_URL must name a server database (PostgreSQL) in production")
        if self.broker_url.startswith(("sqla+", "memory:", "filesystem:")):
            raise ValueError("TORCHGRADE_BROKER_URL must name a real broker (Redis) in production: the embedded "
                             "transport loses a message whose worker is killed")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
