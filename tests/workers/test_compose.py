"""docker-compose.yml is checked without Docker: every torchgrade command parses, every
variable it sets is a real setting with a valid value, the workers get exactly the documented
capabilities (never privileged), and the gpu profile reserves an NVIDIA device."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from core.settings import Settings
from tests.workers.stack import REPOSITORY
from torchgrade.cli import build_parser

COMPOSE = yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
TORCHGRADE_SERVICES = [name for name, service in SERVICES.items() if service.get("image", "").startswith("torchgrade")]
WORKERS = [name for name in TORCHGRADE_SERVICES if SERVICES[name]["command"][1] == "worker"]
SANDBOX_CAPABILITIES = {"SYS_ADMIN", "SETUID", "SETGID", "KILL"}
INTERPOLATION = re.compile(r"\$\{([A-Z_]+)(?::?[-?][^}]*)?\}")


def interpolated(value: str) -> str:
    """What compose substitutes, with every variable set to a sample value."""
    return INTERPOLATION.sub(lambda match: {"POSTGRES_PASSWORD": "pw"}.get(match.group(1), "x" * 32), str(value))


def test_the_expected_services():
    assert {"postgres", "redis", "migrate", "api", "worker-cpu", "worker-gpu"} <= set(SERVICES)
    assert [n for n, s in SERVICES.items() if s.get("profiles")] == ["worker-gpu"]
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("api", "worker-cpu", "worker-gpu"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", TORCHGRADE_SERVICES)
def test_every_command_exists(name):
    command = SERVICES[name]["command"]
    assert command[0] == "torchgrade"
    args = build_parser().parse_args(command[1:])
    assert callable(args.handler)


@pytest.mark.parametrize("name", TORCHGRADE_SERVICES)
def test_every_variable_is_a_real_setting_with_a_valid_value(name, monkeypatch):
    environment = SERVICES[name]["environment"]
    fields = set(Settings.model_fields)
    for variable, value in environment.items():
        assert variable.startswith("TORCHGRADE_") and variable[len("TORCHGRADE_"):].lower() in fields, variable
        monkeypatch.setenv(variable, interpolated(value))
    settings = Settings(_env_file=None)
    assert settings.production and settings.database_url.startswith("postgresql://")
    assert settings.broker_url == "redis://redis:6379/0"


def test_the_secret_is_required():
    secret = COMPOSE["x-torchgrade"]["environment"]["TORCHGRADE_SECRET_KEY"]
    assert secret.startswith("${TORCHGRADE_SECRET_KEY:?")


@pytest.mark.parametrize("name", WORKERS)
def test_workers_get_exactly_the_sandbox_capabilities(name):
    worker = SERVICES[name]
    assert not worker.get("privileged")
    assert worker["cap_drop"] == ["ALL"] and set(worker["cap_add"]) == SANDBOX_CAPABILITIES
    assert {"seccomp=unconfined", "apparmor=unconfined"} <= set(worker["security_opt"])


def test_only_workers_get_capabilities():
    for name, service in SERVICES.items():
        assert not service.get("privileged"), name
        if name not in WORKERS:
            assert "cap_add" not in service, name


def test_the_documentation_names_the_same_capabilities():
    text = (REPOSITORY / "docs/SANDBOX.md").read_text()
    section = text[text.index("## Running the worker in a container"):]
    for capability in SANDBOX_CAPABILITIES:
        assert f"CAP_{capability}" in section


def test_the_gpu_worker_reserves_an_nvidia_device():
    worker = SERVICES["worker-gpu"]
    assert worker["command"][:4] == ["torchgrade", "worker", "--queues", "gpu"]
    device = worker["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert SERVICES["worker-cpu"]["environment"]["TORCHGRADE_SANDBOX_SLOT"] != worker["environment"][
        "TORCHGRADE_SANDBOX_SLOT"], "distinct uids for the two workers' jobs"


def test_the_image_is_built_here():
    assert (REPOSITORY / "Dockerfile").is_file()
    assert all(SERVICES[name]["build"] == "." for name in TORCHGRADE_SERVICES)


def test_the_api_healthcheck_probes_liveness():
    """/healthz, not /readyz: readiness fails while the gpu profile's worker is off and an
    offered assignment uses the gpu queue, and restarting the API would not change that."""
    probe = " ".join(SERVICES["api"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in probe and "/readyz" not in probe


def test_every_queue_has_a_worker_service():
    """Every queue an assignment may use is consumed by some worker service (the gpu one in its
    profile), so /readyz can become ready."""
    from core.broker import QUEUES

    consumed = set()
    for name in WORKERS:
        args = build_parser().parse_args(SERVICES[name]["command"][1:])
        consumed.update(args.queues.split(","))
    assert consumed == set(QUEUES)


def test_logs_are_json_lines():
    """No service sets TORCHGRADE_LOG_FORMAT: the default, one JSON object a line, reaches
    `docker compose logs`."""
    for name in TORCHGRADE_SERVICES:
        assert "TORCHGRADE_LOG_FORMAT" not in SERVICES[name]["environment"]
    assert Settings.model_fields["log_format"].default == "json"


# ---------------------------------------------------------------------- a real compose implementation
def compose_config(tmp_path, *args: str, secret: str | None = "s" * 32) -> subprocess.CompletedProcess:
    """``config`` of a real compose implementation: Docker's `docker compose` (v2) reads the file
    as it is; Debian's `docker-compose` 1.29 (apt-get install docker-compose) predates the
    top-level ``name``, which it is given without.  Neither needs a Docker daemon or an image."""
    env = {k: v for k, v in os.environ.items() if k != "TORCHGRADE_SECRET_KEY"}
    if secret is not None:
        env["TORCHGRADE_SECRET_KEY"] = secret
    v2 = shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    if v2:
        command = ["docker", "compose", "-f", str(REPOSITORY / "docker-compose.yml")]
    elif shutil.which("docker-compose"):
        copy = tmp_path / "docker-compose.yml"
        copy.write_text("".join(line for line in (REPOSITORY / "docker-compose.yml").read_text().splitlines(True)
                                if not line.startswith("name:")))
        (tmp_path / "Dockerfile").write_text((REPOSITORY / "Dockerfile").read_text())
        command = ["docker-compose", "-f", str(copy)]
    elif os.environ.get("CI"):
        pytest.fail("no compose implementation here: scripts/ensure-compose installs one")
    else:
        pytest.skip("no compose implementation here (scripts/ensure-compose installs one)")
    return subprocess.run([*command, *args, "config"], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)


def test_a_compose_implementation_reads_the_file(tmp_path):
    resolved = compose_config(tmp_path)
    assert resolved.returncode == 0, resolved.stderr
    services = yaml.safe_load(resolved.stdout)["services"]
    assert {"postgres", "redis", "migrate", "api", "worker-cpu"} <= set(services)
    assert services.get("worker-gpu", {"profiles": ["gpu"]})["profiles"] == ["gpu"]
    worker = services["worker-cpu"]
    assert worker["environment"]["TORCHGRADE_WORKER_CONCURRENCY"] == "2"  # its own, merged over the shared ones
    assert worker["environment"]["TORCHGRADE_BROKER_URL"] == "redis://redis:6379/0"
    assert set(worker["cap_add"]) == SANDBOX_CAPABILITIES and worker["cap_drop"] == ["ALL"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    with_gpu = compose_config(tmp_path, "--profile", "gpu")
    assert "worker-gpu" in yaml.safe_load(with_gpu.stdout)["services"], with_gpu.stderr


def test_a_compose_implementation_refuses_a_missing_secret(tmp_path):
    refused = compose_config(tmp_path, secret=None)
    assert refused.returncode != 0 and "set TORCHGRADE_SECRET_KEY" in refused.stderr
