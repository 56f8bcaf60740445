"""Hidden data: generated once in the trusted process, mounted read-only at /data, the
private part never visible to the job."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from grader import hidden_data
from grader.assignments import Catalog
from grader.status import CheckStatus

MANIFEST = """
id = "w9-data"
week = 9
hidden_data = true
title = { zh = "数据", en = "Data" }
[[checks]]
name = "reads_data"
points = 1
description = "reads the mounted data"
[[checks]]
name = "private_stays_private"
points = 1
description = "the answer key is out of reach"
"""

DATA = """
import json

def generate(mounted, private):
    (mounted / "images").mkdir()
    (mounted / "images" / "cat.0.txt").write_text("meow")
    (private / "key.json").write_text(json.dumps({"cat.0.txt": 0}))
"""

CHECKS = """
import json
from grader.checks import check, failed, passed

@check("reads_data")
def reads_data(student, ctx):
    facts = student.call("inspect", ctx.data_dir)
    key = json.loads((ctx.private_dir / "key.json").read_text())
    return passed() if facts["files"] == sorted(key) and facts["write"] == "OSError" else failed(str(facts))

@check("private_stays_private")
def private_stays_private(student, ctx):
    found = student.call("find", str(ctx.private_dir))
    return passed() if found == "FileNotFoundError" else failed(found)
"""

SUBMISSION = b"""
import os

def inspect(root):
    try:
        open(os.path.join(root, "images", "new.txt"), "w")
        write = "written"
    except OSError:
        write = "OSError"
    return {"files": sorted(os.listdir(os.path.join(root, "images"))), "write": write}

def find(path):
    try:
        return str(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__
"""


def test_hidden_data_is_mounted_read_only_and_the_key_stays_out(grader, tmp_path, monkeypatch):
    pack = tmp_path / "w9-data"
    pack.mkdir()
    for name, text in (("manifest.toml", MANIFEST), ("data.py", DATA), ("checks.py", CHECKS)):
        (pack / name).write_text(textwrap.dedent(text))
    monkeypatch.setattr(grader, "catalog", Catalog(tmp_path))
    result = grader.grade("w9-data", "hw.py", SUBMISSION)
    assert [t.status for t in result.tests] == [CheckStatus.passed, CheckStatus.passed], result.tests
    generated = list((grader.settings.data_dir / "hidden").glob("w9-data-*"))
    assert len(generated) == 1 and (generated[0] / "private" / "key.json").is_file()
    again = grader.grade("w9-data", "hw.py", SUBMISSION)
    assert again.score == 2 and list((grader.settings.data_dir / "hidden").glob("w9-data-*")) == generated



def test_the_cache_is_found_whatever_path_reaches_the_pack(tmp_path):
    """One pack reached through its folder and through a link (a worker and an API may reach
    it through different links), its data.py using a grader module: one cache folder."""
    pack = tmp_path / "refs" / "w9-data"
    pack.mkdir(parents=True)
    data = DATA.replace("import json", "import json\nfrom grader.compare.images import save_image")
    for name, text in (("manifest.toml", MANIFEST), ("data.py", data), ("checks.py", CHECKS)):
        (pack / name).write_text(textwrap.dedent(text))
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "w9-data").symlink_to(pack)
    folders = [hidden_data.prepare(Catalog(tmp_path / root).get("w9-data"), tmp_path / "data")
               for root in ("refs", "linked")]
    cached = [p for p in (tmp_path / "data" / "hidden").iterdir() if not p.name.startswith(".")]
    assert folders[0] == folders[1] and len(cached) == 1


def test_a_new_generator_makes_new_data_and_a_new_check_keeps_it(tmp_path):
    pack = tmp_path / "w9-data"
    pack.mkdir()
    for name, text in (("manifest.toml", MANIFEST), ("data.py", DATA), ("checks.py", CHECKS)):
        (pack / name).write_text(textwrap.dedent(text))
    catalog = Catalog(tmp_path)
    first = hidden_data.prepare(catalog.get("w9-data"), tmp_path / "data")
    (pack / "checks.py").write_text(textwrap.dedent(CHECKS) + "\n# a comment changes the version\n")
    assert hidden_data.prepare(catalog.get("w9-data"), tmp_path / "data") == first
    (pack / "data.py").write_text(textwrap.dedent(DATA).replace("meow", "purr"))
    second = hidden_data.prepare(catalog.get("w9-data"), tmp_path / "data")
    assert second != first and (second / "mounted" / "images" / "cat.0.txt").read_text() == "purr"


SLOW_DATA = """
import os, time

def generate(mounted, private):
    with open(os.environ["GENERATIONS"], "a") as log:
        log.write("generated\\n")
    time.sleep(1.5)
    (mounted / "ready.txt").write_text("yes")
"""


def test_two_processes_generate_the_data_once(tmp_path):
    """Two pool processes grading a hidden-data pack for the first time at once: one generates,
    the other waits for it and uses the same folder."""
    pack = tmp_path / "refs" / "w9-data"
    pack.mkdir(parents=True)
    for name, text in (("manifest.toml", MANIFEST), ("data.py", SLOW_DATA), ("checks.py", CHECKS)):
        (pack / name).write_text(textwrap.dedent(text))
    program = ("import sys; from pathlib import Path; from grader import hidden_data; from grader.assignments "
               "import Catalog; print(hidden_data.prepare(Catalog(Path(sys.argv[1])).get('w9-data'), Path(sys.argv[2])))")
    environment = {**os.environ, "GENERATIONS": str(tmp_path / "generations.log")}
    both = [subprocess.Popen([sys.executable, "-c", program, str(tmp_path / "refs"), str(tmp_path / "data")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
            for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0] and Path(outputs[0][0].strip(), "mounted", "ready.txt").exists()
    assert (tmp_path / "generations.log").read_text().count("generated") == 1
