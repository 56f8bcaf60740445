"""``core.db.plain_rows``: on PostgreSQL psycopg's own tuples, equal value for value (and type
for type, moments in UTC) to the rows SQLAlchemy would build; on SQLite SQLAlchemy's rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, select, type_coerce

from core.db import plain_rows, session_factory
from core.migrate import upgrade
from core.models import Course, CourseAssignment, Submission, User

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)


def test_plain_rows_are_the_rows_sqlalchemy_would_build(database_url):
    upgrade(database_url)
    with session_factory(database_url)() as session:
        course, user = Course(slug="c"), User(name="学生")
        session.add_all([course, user])
        session.flush()
        offered = CourseAssignment(course_id=course.id, assignment_id="w0-service")
        session.add(offered)
        session.flush()
        session.add_all([Submission(course_assignment_id=offered.id, user_id=user.id, filename=name, content=b"x",
                                    sha256="0" * 64, size=1, queue="cpu", status="graded", score=score,
                                    max_score=11.0, pack_version=version, created_at=T0 + dt.timedelta(minutes=n))
                         for n, (name, score, version) in enumerate([("作业.py", 5.5, "v1"), ("a.md", None, None),
                                                                     ("b.ipynb", 0.0, "")] * 3)])
        session.commit()
        table = Submission.__table__.c
        query = select(table.id, table.user_id, table.score, table.created_at, table.filename,
                       type_coerce(table.status, String), table.max_score, table.pack_version).order_by(table.id)
        built = [tuple(row) for row in session.execute(query).all()]
        plain = list(plain_rows(session, query, batch=4))
    assert [tuple(row) for row in plain] == built and len(built) == 9
    assert [[type(value) for value in row] for row in plain] == [[type(value) for value in row] for row in built]
    assert {row[3].utcoffset() for row in plain} == {dt.timedelta(0)} and plain[0][3] == T0
