"""Settings: one class, read from ``TORCHGRADE_*`` environment variables (and ``.env``).

Development defaults need no server: SQLite and an SQLite-backed Celery transport under
``data_dir``.  ``environment=production`` refuses the defaults that are only safe on a
developer's machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPOSITORY = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET = "development-only-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TORCHGRADE_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(REPOSITORY / "var", description="SQLite files, uploads and hidden-data caches")
    reference_dir: Path = Field(REPOSITORY / "reference", description="one folder per assignment")
    secret_key: str = Field(DEVELOPMENT_SECRET, description="signs tokens; must be set in production")

    # Sandbox
    sandbox_uid_base: int = Field(61000, ge=1000, description="jobs run as uid_base + slot")
    sandbox_slot: int = Field(0, ge=0, le=1000, description="this worker's slot (its own uid)")
    sandbox_gpu: bool = Field(False, description="let jobs use the GPU (no network namespace, no address-space limit)")
    sandbox_allow_missing_layers: set[str] = Field(
        default_factory=set, description="layers production may run without, e.g. net_namespace on GPU hosts")

    # Operator caps: per-assignment limits are clamped to these.
    max_wall_s: float = Field(600.0, gt=0)
    max_cpu_s: float = Field(600.0, gt=0)
    max_memory_mb: int = Field(8192, gt=0)
    max_processes: int = Field(256, gt=0)
    max_file_size_mb: int = Field(1024, gt=0)
    max_tmp_mb: int = Field(2048, gt=0)
    max_output_kb: int = Field(1024, gt=0)
    max_message_mb: int = Field(512, gt=0)
    max_upload_kb: int = Field(2048, gt=0, description="largest accepted submission file")

    # Bounds on the trusted side: what one submission may make the checker spend (SANDBOX.md).
    max_checker_cpu_s: float = Field(60.0, gt=0, description="CPU seconds the checker itself (checks, comparisons, "
                                     "reference computations) may spend on one submission; past it the running check "
                                     "is a timeout and the rest are not run")
    max_value_items: int = Field(100_000, gt=0, description="items (list entries, dict pairs, tagged values) read "
                                 "from one value the job sends back; more is a failed check")
    max_decoded_mb: int = Field(1024, gt=0, description="bytes the values of one submission may take in the checker "
                                "once rebuilt (counted after expansion: a mode '1' image takes 8 times its wire size)")
    max_cache_mb: int = Field(256, gt=0, description="bytes of one submission's values the checker keeps to answer "
                              "repeated calls; past it calls are sent to the job again")
    max_feedback_chars: int = Field(4000, gt=0, description="characters of feedback (and of the instructors' detail) "
                                    "kept per check")
    max_result_feedback_chars: int = Field(32000, gt=0, description="characters of feedback kept for a whole result, "
                                           "message included; checks listed last are cut first")

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
    sse_poll_s: float = Field(0.25, gt=0, description="how often a progress stream looks for new events")

    # Workers
    worker_concurrency: int = Field(1, ge=1, le=64, description="grading processes per worker, each with its own "
                                    "sandbox slot (sandbox_slot + process index)")
    worker_sweep: bool = Field(True, description="run the sweeper in this worker's main process")
    sweep_interval_s: float = Field(15.0, gt=0, description="how often the sweeper runs")
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

    @property
    def production(self) -> bool:
        return self.environment == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()
