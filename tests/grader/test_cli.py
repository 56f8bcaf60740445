"""``torchgrade grade`` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SELFTEST = Path(__file__).resolve().parents[2] / "reference" / "w1-normal-modes" / "selftest"


def torchgrade(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TORCHGRADE_DATA_DIR=str(data_dir), TORCHGRADE_LANG="en",
               TORCHGRADE_SANDBOX_SLOT=str(int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + 400))
    return subprocess.run([sys.executable, "-m", "torchgrade.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_grade_prints_one_json_line_per_file_in_order(tmp_path):
    files = [SELFTEST / "good_torch_normal.py", tmp_path / "missing.py", SELFTEST / "bad_syntax.py",
             SELFTEST / "good_notebook.ipynb"]
    run = torchgrade("grade", "w1-normal-modes", *map(str, files), "--json", data_dir=tmp_path)
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(r["submission"], r["status"], r["score"]) for r in results] == [
        ("good_torch_normal.py", "graded", 32.0), ("bad_syntax.py", "error", 0.0), ("good_notebook.ipynb", "graded", 32.0)]
    assert "cannot read" in run.stderr and "missing.py" in run.stderr
    assert run.returncode == 2
    assert results[0]["environment"]["torch"].startswith("2.") and results[0]["timings"]["total_s"] > 0


def test_grade_renders_a_table_without_json(tmp_path):
    run = torchgrade("grade", "w1-normal-modes", str(SELFTEST / "bad_seeds_inside.py"), data_dir=tmp_path)
    assert run.returncode == 0
    assert "uses_torch_generator" in run.stdout and "28/32" in run.stdout


def test_unknown_assignment_is_a_clear_error(tmp_path):
    run = torchgrade("grade", "w1-nope", "x.py", data_dir=tmp_path)
    assert run.returncode == 2 and "no assignment called 'w1-nope'" in run.stderr and "w1-normal-modes" in run.stderr


def test_grade_speaks_chinese_with_lang_zh(tmp_path):
    gbk = tmp_path / "hw.py"
    gbk.write_bytes("# 打印版本\nimport torch\nprint(torch.__version__)\n".encode("gbk"))
    run = torchgrade("grade", "w1-hello", str(gbk), "--lang", "zh", "--json", data_dir=tmp_path)
    result = json.loads(run.stdout)
    assert result["notes"] == ["submission.py 以 GBK/GB18030 编码保存；评分时已转换为 UTF-8"]
    assert result["translations"] == {}, "one language, as asked"
    table = torchgrade("--lang", "zh", "grade", "w1-hello", str(gbk), data_dir=tmp_path)
    assert "检查项" in table.stdout and "提示：submission.py" in table.stdout
