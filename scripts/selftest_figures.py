"""The self-test corpus in figures, for docs/RESULTS.md: per pack, its cases (full marks and
wrong), how many got exactly what their expected.toml states, and how many check results read
in Chinese (a description and any feedback that differ from the English or hold CJK text).

    .venv/bin/python scripts/selftest_figures.py            # a Markdown table on stdout
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from grader.assignments import Catalog  # noqa: E402
from grader.config import EngineSettings  # noqa: E402
from grader.engine import Grader  # noqa: E402
from grader.selftest import case_submission, load_cases, problems_with  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")
SLOT = int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "70"))


def in_chinese(test, chinese) -> bool:
    """The check reads in Chinese: its description does, and so does its feedback if it has any."""
    described = bool(CJK.search(chinese.description))
    said = not test.feedback or chinese.feedback != test.feedback or bool(CJK.search(chinese.feedback))
    return described and said


def main() -> int:
    catalog = Catalog(REPOSITORY / "reference")
    rows, totals = [], [0, 0, 0, 0, 0, 0]
    with tempfile.TemporaryDirectory() as data_dir, \
            Grader(EngineSettings(data_dir=Path(data_dir), sandbox_slot=SLOT), catalog) as grader:
        for assignment_id in catalog.ids():
            assignment = catalog.get(assignment_id)
            cases = load_cases(assignment)
            full = sum(case.score == assignment.manifest.max_score for case in cases)
            agreed = checks = chinese = 0
            for case in cases:
                name, content = case_submission(assignment.directory / "selftest", case)
                result = grader.grade(assignment_id, name, content)
                agreed += not problems_with(result, case)
                localized = result.localized("zh")
                checks += len(result.tests)
                chinese += sum(in_chinese(test, zh) for test, zh in zip(result.tests, localized.tests))
            figures = [len(cases), full, len(cases) - full, agreed, checks, chinese]
            totals = [a + b for a, b in zip(totals, figures)]
            rows.append((assignment_id, *figures))
    print("| pack | cases | full marks | wrong | agree with expected.toml | check results | in Chinese |")
    print("|---|---|---|---|---|---|---|")
    for row in [*rows, ("**all**", *totals)]:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    return 0 if totals[3] == totals[0] else 1


if __name__ == "__main__":
    sys.exit(main())
