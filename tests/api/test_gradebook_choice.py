"""The gradebook's one pass (``gradebook.counting``) chooses what the definition says, on SQLite
and PostgreSQL: among a student's scored code uploads (a .md of answers only while there is no
code), the latest, or the best after the late penalty of the student's own deadline (extension,
exemption, the course's calendar), ties to the later upload.  The reference below ranks every
attempt the slow way."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from api.services import gradebook
from core import lifecycle, rules
from core.catalog import ManifestCatalog
from core.db import session_factory
from core.models import Course, CourseAssignment, Extension, Membership, Role, Submission, User
from grader.status import SubmissionStatus

DUE = dt.datetime(2026, 3, 8, 15, 59, tzinfo=dt.timezone.utc)   # 23:59 in Shanghai; 10:59 in New York (DST day)
ZONES = ["Asia/Shanghai", "America/New_York"]
STATUSES = [SubmissionStatus.graded] * 6 + [SubmissionStatus.error, SubmissionStatus.timeout,
                                            SubmissionStatus.queued, SubmissionStatus.internal_error]
courses = itertools.count()

attempt = st.tuples(st.integers(-72, 150),                              # hours after the due date
                    st.sampled_from([None, 0.0, 2.0, 5.0, 5.0, 11.0]),  # score (ties are common)
                    st.sampled_from(["submission.py", "nb.ipynb", "answers.md", "ANSWERS.MD"]),
                    st.sampled_from(STATUSES))
student = st.tuples(st.lists(attempt, max_size=6),
                    st.sampled_from([None, None, -30, 20, 60]),         # extension: hours after the due date
                    st.sampled_from([Role.student, Role.student, Role.ta]))
world = st.tuples(st.sampled_from(ZONES), st.sampled_from([None, DUE]), st.integers(0, 4),
                  st.sampled_from([0.1, 0.25, 0.5]), st.lists(student, min_size=1, max_size=5))


def reference(tried: list[tuple], deadline: rules.Deadline, policy: str):
    """(id, days late, penalty) of the attempt that counts, ranking every scored attempt."""
    scored = [t for t in tried if t[3] in gradebook.SCORED]
    candidates = [t for t in scored if not t[2].lower().endswith(".md")] or scored
    if not candidates:
        return None

    def rank(t):
        sid, created_at, score = t[0], t[1], t[4] or 0.0
        if policy == "latest":
            return created_at, sid
        return score * (1 - deadline.penalty(created_at)), created_at, sid

    chosen = max(candidates, key=rank)
    return chosen[0], deadline.days_late(chosen[1]), deadline.penalty(chosen[1])


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=world)
def test_the_one_pass_chooses_as_the_definition(api_settings, world):
    zone, due_at, late_days, per_day, students = world
    catalog = ManifestCatalog(api_settings.reference_dir)
    with session_factory(api_settings.database_url)() as session:
        course = Course(slug=f"choice-{next(courses)}", time_zone=zone)
        session.add(course)
        session.flush()
        offered = CourseAssignment(course_id=course.id, assignment_id="w0-service", due_at=due_at,
                                   late_days=late_days, late_penalty_per_day=per_day)
        session.add(offered)
        session.flush()
        expected_deadlines, uploads = {}, {}
        for index, (tried, extension_h, role) in enumerate(students):
            user = User(name=f"{course.slug}-{index}")
            session.add(user)
            session.flush()
            session.add(Membership(course_id=course.id, user_id=user.id, role=role))
            extended_to = None if extension_h is None else DUE + dt.timedelta(hours=extension_h)
            if extended_to is not None:
                session.add(Extension(course_assignment_id=offered.id, user_id=user.id, due_at=extended_to))
            expected_deadlines[user.id] = rules.Deadline.of(due_at, late_days, per_day, extended_to,
                                                            exempt=rules.exempt(False, role), zone=ZoneInfo(zone))
            rows = []
            for hours, score, filename, status in tried:
                submission = Submission(course_assignment_id=offered.id, user_id=user.id, filename=filename,
                                        content=b"x", sha256="0" * 64, size=1, queue="cpu", status=status,
                                        score=score, max_score=11.0, pack_version="v1",
                                        created_at=DUE + dt.timedelta(hours=hours))
                session.add(submission)
                session.flush()
                rows.append((submission.id, submission.created_at, filename, status, score))
            uploads[user.id] = rows
        session.commit()
        for policy in ("best", "latest"):
            found = gradebook.grades(session, api_settings, catalog, [offered], policy)
            for user_id, tried in uploads.items():
                grade = found.get((user_id, offered.id))
                got = None if grade is None else (grade.attempt.submission_id, grade.attempt.days_late,
                                                  grade.attempt.late_penalty)
                assert got == reference(tried, expected_deadlines[user_id], policy), (policy, tried)


def test_a_kept_choice_is_never_used_after_a_change(api_settings):
    """The choice a process keeps (PostgreSQL) gives way at once to a new result, a regrade's
    reset, a removed upload, an extension, an exemption and a new due date."""
    catalog = ManifestCatalog(api_settings.reference_dir)
    with session_factory(api_settings.database_url)() as session:
        course = Course(slug=f"kept-{next(courses)}", time_zone="Asia/Shanghai")
        session.add(course)
        session.flush()
        offered = CourseAssignment(course_id=course.id, assignment_id="w0-service", due_at=DUE, late_days=3,
                                   late_penalty_per_day=0.5)
        alice = User(name=f"{course.slug}-alice")
        session.add_all([offered, alice])
        session.flush()
        session.add(Membership(course_id=course.id, user_id=alice.id, role=Role.student))
        early, late = (Submission(course_assignment_id=offered.id, user_id=alice.id, filename="s.py", content=b"x",
                                  sha256="0" * 64, size=1, queue="cpu", status=SubmissionStatus.graded, score=score,
                                  max_score=11.0, created_at=DUE + dt.timedelta(hours=hours))
                       for score, hours in [(4.0, -1), (10.0, 2)])
        session.add_all([early, late])
        session.commit()

        def chosen():
            grade = gradebook.grades(session, api_settings, catalog, [offered], "best")[(alice.id, offered.id)]
            session.commit()   # as a request ends: the next one reads what was committed since
            return grade.attempt.submission_id, grade.points.adjusted

        assert chosen() == (late.id, 5.0) == chosen()                   # 10 points, a day late at 50 %
        extension = Extension(course_assignment_id=offered.id, user_id=alice.id, due_at=DUE + dt.timedelta(hours=1))
        session.add(extension)
        session.commit()
        assert chosen() == (late.id, 5.0)                              # still a day late
        extension.due_at = DUE + dt.timedelta(days=1)                  # the extension moved
        session.commit()
        assert chosen() == (late.id, 10.0)
        session.execute(sa.delete(Extension))
        offered.due_at = DUE + dt.timedelta(hours=3)
        session.commit()
        assert chosen() == (late.id, 10.0)
        offered.due_at = DUE
        session.commit()
        assert chosen() == (late.id, 5.0)
        early.score = 9.0                                             # a new result for the early upload
        session.commit()
        assert chosen() == (early.id, 9.0)
        lifecycle.reset(session, [early.id])                          # a regrade puts it back in the queue
        assert chosen() == (late.id, 5.0)
        session.delete(late)
        session.commit()
        assert (alice.id, offered.id) not in gradebook.grades(session, api_settings, catalog, [offered], "best")
        session.commit()
        early.status, early.score = SubmissionStatus.graded, 2.0
        membership = session.scalar(sa.select(Membership).where(Membership.user_id == alice.id))
        membership.role = Role.ta                                     # exempt: no deadline, no penalty
        session.commit()
        assert chosen() == (early.id, 2.0)


def test_a_new_result_makes_only_its_own_assignments_choice_again(api_settings, monkeypatch):
    catalog = ManifestCatalog(api_settings.reference_dir)
    with session_factory(api_settings.database_url)() as session:
        course = Course(slug=f"kept-{next(courses)}", time_zone="Asia/Shanghai")
        bob = User(name=f"kept-bob-{next(courses)}")
        session.add_all([course, bob])
        session.flush()
        offerings = [CourseAssignment(course_id=course.id, assignment_id=a, due_at=DUE)
                     for a in ("w0-service", "w1-normal-modes")]
        session.add_all(offerings)
        session.flush()
        session.add(Membership(course_id=course.id, user_id=bob.id, role=Role.student))
        uploads = [Submission(course_assignment_id=o.id, user_id=bob.id, filename="s.py", content=b"x", sha256="0" * 64,
                              size=1, queue="cpu", status=SubmissionStatus.graded, score=3.0, max_score=11.0,
                              created_at=DUE - dt.timedelta(hours=1)) for o in offerings]
        session.add_all(uploads)
        session.commit()
        asked = []
        real = gradebook.counting
        monkeypatch.setattr(gradebook, "counting", lambda s, by_id, *rest: asked.append(sorted(by_id)) or
                            real(s, by_id, *rest))

        def scores():
            found = gradebook.grades(session, api_settings, catalog, offerings, "best")
            session.commit()
            return [found[(bob.id, o.id)].points.adjusted for o in offerings]

        assert scores() == [3.0, 3.0] == scores()
        uploads[1].score = 7.0
        session.commit()
        assert scores() == [3.0, 7.0]
        postgres = session.get_bind().dialect.name == "postgresql"
        ids = sorted(o.id for o in offerings)
        assert asked == ([ids, [offerings[1].id]] if postgres else [ids] * 3)
