"""`torchgrade demo` as a new user reads it: every URL it prints is where `torchgrade serve`
will listen with the same settings (TORCHGRADE_API_HOST, TORCHGRADE_API_PORT)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.workers.stack import REPOSITORY, environment


def test_demo_prints_the_configured_port(api_settings):
    env = environment(api_settings.model_copy(update={"api_port": 8765}))
    demo = subprocess.run([sys.executable, "-m", "torchgrade.cli", "--lang", "en", "demo"], env=env, cwd=REPOSITORY,
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    urls = re.findall(r"http://[^\s\"']+", demo.stdout + demo.stderr)
    assert len(urls) >= 2 and all(u.startswith("http://127.0.0.1:8765/") for u in urls), urls
