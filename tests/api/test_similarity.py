"""The code similarity report and its base files through the API (SQLite and PostgreSQL): the
planted corpus (tests/core/similarity_corpus) submitted by a class, the course's scripts added as
bases by the instructor, the latest/best/chosen submissions, and the refusals."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import lifecycle
from core.errors import BadRequest
from core.db import session_factory
from grader.results import GradeResult
from grader.results import TestResult as CheckResult
from grader.status import CheckStatus, SubmissionStatus
from tests.core.similarity_corpus import COURSE, corpus

ASSIGNMENT = "w0-service"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def url(course: str, tail: str = "") -> str:
    return f"/api/v1/courses/{course}/assignments/{ASSIGNMENT}/similarity{tail}"


def graded(settings, submission_id: int, score: float) -> None:
    """Record a result the way a worker does, so that the gradebook's latest and best count it."""
    sessions = session_factory(settings.database_url)
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "similarity-test:1")
    check = CheckResult(name="answer_visible", score=score, max_score=10,
                       status=CheckStatus.passed if score == 10 else CheckStatus.failed)
    result = GradeResult(assignment=ASSIGNMENT, submission="x.py", status=SubmissionStatus.graded, score=score,
                         max_score=10, tests=[check])
    assert lifecycle.record(sessions, claimed, result, 0.1, score)


def submit(client, settings, token: str, filename: str, content: bytes, score: float = 5.0) -> int:
    response = client.post(f"/api/v1/assignments/{ASSIGNMENT}/submissions", headers=auth(token),
                           files={"file": (filename, content)})
    assert response.status_code == 202, response.text
    graded(settings, response.json()["id"], score)
    return response.json()["id"]


@pytest.fixture
def klass(client, api_settings, catalog):
    """A course whose students each handed in one submission of the corpus."""
    from tests.workers.stack import seed_course

    students = corpus()
    people = seed_course(api_settings, catalog, students=len(students))
    families = {}
    for student, name in zip(students, people["students"]):
        submit(client, api_settings, people["tokens"][name], student.source.filename, student.source.content)
        families[name] = student.family
    return people, families


def add_course_scripts(client, course: str, token: str) -> None:
    for path in sorted(Path(COURSE).glob("*.py")):
        response = client.post(url(course, "/bases"), headers=auth(token),
                               files={"file": (path.name, path.read_bytes())})
        assert response.status_code == 201, response.text


def test_the_report_ranks_every_planted_copy_first_once_the_course_scripts_are_bases(client, klass):
    people, families = klass
    course, teacher = people["course"], people["tokens"]["instructor"]
    before = client.get(url(course), params={"limit": 1000}, headers=auth(teacher)).json()
    add_course_scripts(client, course, teacher)
    report = client.get(url(course), params={"limit": 1000}, headers=auth(teacher))
    assert report.status_code == 200, report.text
    found = report.json()
    assert found["submissions"] == 15 and found["pairs_compared"] == 105 == len(found["pairs"])
    assert {b["origin"] for b in found["bases"]} == {"starter", "instructor"}

    def planted(pair) -> bool:
        return families[pair["a"]["student"]] == families[pair["b"]["student"]]

    copies = [p["score"] for p in found["pairs"] if planted(p)]
    others = [p["score"] for p in found["pairs"] if not planted(p)]
    assert len(copies) == 7 and min(copies) > max(others)
    looped = sorted(name for name, family in families.items() if family == "ind_dict_loop")
    assert [c["students"] for c in found["clusters"]] == [looped]
    top = found["pairs"][0]
    assert top["regions"] and all(r["a"]["start"] <= r["a"]["end"] for r in top["regions"])
    # Without the course's scripts the students who copied only them were the top independent pairs.
    course_copiers = {name for name, family in families.items() if family.startswith("course-")}
    worst = max((p for p in before["pairs"] if not planted(p)), key=lambda p: p["score"])
    assert {worst["a"]["student"], worst["b"]["student"]} <= course_copiers and worst["score"] > 0.9


def test_latest_best_and_chosen_submissions(client, api_settings, catalog):
    from tests.workers.stack import seed_course

    people = seed_course(api_settings, catalog, students=2)
    course, teacher = people["course"], people["tokens"]["instructor"]
    first, second = (people["tokens"][name] for name in people["students"])
    code = "def answer():\n    values = [x * x for x in range(10) if x % 2]\n    return sum(values) - 124\n"
    best = submit(client, api_settings, first, "a.py", code.encode(), score=9)
    again = "def answer():\n    text = 'forty-two'\n    return len(text.split('-')) * 21  # tried again\n"
    latest = submit(client, api_settings, first, "b.py", again.encode(), score=1)
    theirs = submit(client, api_settings, second, "c.py", code.replace("values", "squares").encode())

    def compared(**params) -> set[int]:
        response = client.get(url(course), params=params, headers=auth(teacher))
        assert response.status_code == 200, response.text
        return {p[side]["submission"] for p in response.json()["pairs"] for side in "ab"}

    assert compared() == {latest, theirs}
    assert compared(policy="best") == {best, theirs}
    assert compared(submission=[best, latest]) == {best, latest}
    missing = client.get(url(course), params={"submission": [best, 2_000_000]}, headers=auth(teacher))
    assert missing.status_code == 404 and "2000000" in missing.json()["error"]["message"]
    chosen = client.get(url(course), params={"submission": [best, theirs]}, headers=auth(teacher)).json()
    assert chosen["policy"] == "chosen" and chosen["pairs"][0]["score"] > 0.8


def test_bases_are_listed_added_replaced_and_removed(client, api_settings, catalog):
    from tests.workers.stack import seed_course

    people = seed_course(api_settings, catalog, students=1)
    course, teacher = people["course"], people["tokens"]["instructor"]
    listed = client.get(url(course, "/bases"), headers=auth(teacher)).json()
    assert [(b["origin"], b["name"]) for b in listed] == [("starter", "starter.py")]
    for content in (b"def given():\n    return 1\n", b"def given():\n    return 2\n"):
        added = client.post(url(course, "/bases"), headers=auth(teacher), files={"file": ("given.py", content)})
        assert added.status_code == 201, added.text
    shown = [b for b in added.json() if b["origin"] == "instructor"]
    assert len(shown) == 1 and shown[0]["name"] == "given.py" and shown[0]["added_at"]
    assert shown[0]["sha256"] == hashlib.sha256(content).hexdigest()  # the second replaced the first
    refused = client.post(url(course, "/bases"), headers=auth(teacher), files={"file": ("notes.txt", b"x")})
    assert refused.status_code == 415 and refused.json()["error"]["message"]
    broken = client.post(url(course, "/bases"), headers=auth(teacher), files={"file": ("old.zip", b"not a zip")})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_base"
    assert client.delete(url(course, "/bases/given.py"), headers=auth(teacher)).status_code == 204
    again = client.delete(url(course, "/bases/given.py"), headers=auth(teacher))
    assert again.status_code == 404 and again.json()["error"]["code"] == "base_not_found"
    assert [b["origin"] for b in client.get(url(course, "/bases"), headers=auth(teacher)).json()] == ["starter"]


def test_students_get_nothing(client, api_settings, catalog):
    from tests.workers.stack import seed_course

    people = seed_course(api_settings, catalog, students=1)
    student = people["tokens"][people["students"][0]]
    files = {"file": ("a.py", b"x = 1\n")}
    for method, tail, upload in (("GET", "", None), ("GET", "/bases", None), ("POST", "/bases", files),
                                 ("DELETE", "/bases/x.py", None)):
        response = client.request(method, url(people["course"], tail), headers=auth(student), files=upload)
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_staff"
        assert "staff" in response.json()["error"]["message"]


def torchgrade(settings, *args: str, lang: str = "en") -> subprocess.CompletedProcess:
    from tests.workers.stack import REPOSITORY, environment

    return subprocess.run([sys.executable, "-m", "torchgrade.cli", "--lang", lang, *args], cwd=REPOSITORY,
                          env=environment(settings), capture_output=True, text=True, timeout=300)


def test_the_command_line_gives_the_apis_report_and_manages_bases(client, api_settings, catalog, tmp_path):
    from tests.workers.stack import seed_course

    people = seed_course(api_settings, catalog, students=3)
    course, teacher = people["course"], people["tokens"]["instructor"]
    family = [s for s in corpus() if s.family == "ind_dict_loop"]  # a solution and two copies of it
    for name, student in zip(people["students"], family):
        submit(client, api_settings, people["tokens"][name], student.source.filename, student.source.content)
    given = tmp_path / "given.py"
    given.write_text("def given(x):\n    return [value * 2 for value in range(x) if value % 3]\n")
    added = torchgrade(api_settings, "similarity-base", "add", course, ASSIGNMENT, str(given))
    assert added.returncode == 0 and "given.py" in added.stdout, added.stderr
    listed = torchgrade(api_settings, "similarity-base", "list", course, ASSIGNMENT)
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [["starter", "starter.py"],
                                                                         ["instructor", "given.py"]]
    shown = torchgrade(api_settings, "similarity", course, ASSIGNMENT, "--json")
    assert shown.returncode == 0, shown.stderr
    api = client.get(url(course), headers=auth(teacher)).json()
    assert json.loads(shown.stdout)["pairs"] == api["pairs"] and len(api["pairs"]) == 3
    text = torchgrade(api_settings, "similarity", course, ASSIGNMENT, lang="zh")
    assert "3 人的相似群组" in text.stdout and f"{family[0].source.filename}:" in text.stdout, text.stdout
    assert "submission.py:" not in text.stdout  # a region names the file the student uploaded, not the entry
    unknown = torchgrade(api_settings, "similarity", "no-such-course", ASSIGNMENT)
    assert unknown.returncode == 2 and "no course called 'no-such-course'" in unknown.stderr
    gone = torchgrade(api_settings, "similarity-base", "remove", course, ASSIGNMENT, "nothing.py")
    assert gone.returncode == 2 and "no base file 'nothing.py'" in gone.stderr
    assert torchgrade(api_settings, "similarity-base", "remove", course, ASSIGNMENT, "given.py").returncode == 0


def test_a_base_files_name_loses_its_folders_and_control_characters(client, api_settings, catalog):
    from tests.workers.stack import seed_course

    people = seed_course(api_settings, catalog, students=0)
    course, teacher = people["course"], people["tokens"]["instructor"]
    added = client.post(url(course, "/bases"), headers=auth(teacher),
                        files={"file": ("../hand\x7fout\x1b.py", b"def given():\n    return 1\n")})
    assert added.status_code == 201, added.text
    assert [b["name"] for b in added.json() if b["origin"] == "instructor"] == ["handout.py"]


def test_a_pair_side_by_side_gives_each_regions_code(client, api_settings, catalog):
    from api.services import similarity
    from tests.workers.stack import seed_course

    people = seed_course(api_settings, catalog, students=2)
    tensors = [s.source for s in corpus() if s.family == "ind_tensors"]   # a .py and its copy in a notebook
    ids = [submit(client, api_settings, people["tokens"][name], source.filename, source.content)
           for name, source in zip(people["students"], tensors)]
    with session_factory(api_settings.database_url)() as session:
        offered = similarity.offering(session, _user(session, people["instructor"]), people["course"], ASSIGNMENT)
        shown = similarity.side_by_side(session, catalog, offered, *ids)
        with pytest.raises(BadRequest):
            similarity.side_by_side(session, catalog, offered, ids[0], ids[0])
    pair = shown["pair"]
    assert pair["score"] > 0.9 and len(pair["regions"]) >= 3 and not shown["left_out"]
    original = tensors[0].content.decode().splitlines()
    for region in pair["regions"]:
        assert region["b"]["file"].startswith("cell ")
        assert [n for n, _ in region["a"]["lines"]] == list(range(region["a"]["start"], region["a"]["end"] + 1))
        assert all(text == original[n - 1] for n, text in region["a"]["lines"])
    assert any("def " in text for region in pair["regions"] for _, text in region["b"]["lines"])


def _user(session, name: str):
    from sqlalchemy import select

    from core.models import User

    return session.scalar(select(User).where(User.name == name))


def test_a_ta_reads_the_report_but_only_instructors_change_its_bases(client, api_settings, catalog):
    from api.services import accounts
    from tests.workers.stack import seed_course

    people = seed_course(api_settings, catalog, students=0)
    with session_factory(api_settings.database_url)() as session:
        ta = accounts.add_user(session, api_settings.secret_key, f"{people['course']}-ta", "ta", people["course"]).token
        session.commit()
    assert client.get(url(people["course"]), headers=auth(ta)).status_code == 200
    assert client.get(url(people["course"], "/bases"), headers=auth(ta)).status_code == 200
    refused = client.post(url(people["course"], "/bases"), headers=auth(ta), files={"file": ("a.py", b"x = 1\n")})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_instructor"
