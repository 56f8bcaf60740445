"""The engine's settings: the sandbox and the operator caps, read from ``TORCHGRADE_*``
environment variables (and ``.env``).  The service's settings (``core.settings.Settings``)
extend this class: a deployment has one settings object, and the engine reads only its part.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPOSITORY = Path(__file__).resolve().parent.parent


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TORCHGRADE_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(REPOSITORY / "var", description="SQLite files, uploads and hidden-data caches")
    reference_dir: Path = Field(REPOSITORY / "reference", description="one folder per assignment")

    # Sandbox
    sandbox_uid_base: int = Field(61000, ge=1000, description="jobs run as uid_base + slot")
    sandbox_slot: int = Field(0, ge=0, le=1000, description="this worker's slot (its own uid)")
    sandbox_gpu: bool = Field(False, description="let jobs use the GPU (no network namespace, no address-space limit)")
    sandbox_allow_missing_layers: set[str] = Field(
        default_factory=set, description="layers production may run without, e.g. net_namespace on GPU hosts")
    sandbox_cpu_weight: int = Field(100, ge=1, le=10000, description="CPU weight of each slot's cgroup (v2 "
                                    "cpu.weight; v1 cpu.shares = weight * 10.24): slots share the CPU in proportion, "
                                    "however many processes their jobs fork")
    sandbox_cpu_cores: float = Field(0.0, ge=0, description="CPU quota of each slot's cgroup, in cores (cpu.max / "
                                     "cpu.cfs_quota_us); 0: no quota, the weight alone shares the CPU")
    sandbox_wall_backstop: float = Field(3.0, ge=1, description="a check is judged by the job's CPU time (its "
                                         "cgroup): check_s CPU seconds, and check_s times this in wall-clock "
                                         "seconds for a job that sleeps, waits or is starved; never past wall_s")
    sandbox_worker_memory_mb: int = Field(4096, ge=0, description="memory limit of each grading process, in its own "
                                          "cgroup (grader.sandbox.cgroups.limit_worker_memory); 0: none")

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
    max_notebook_kb: int = Field(16384, gt=0, description="largest accepted notebook: its outputs (plots, "
                                 "printed tensors) are stripped, then its code must fit max_upload_kb")

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


    @property
    def production(self) -> bool:
        return self.environment == "production"


@lru_cache
def get_settings() -> EngineSettings:
    return EngineSettings()
