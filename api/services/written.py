"""The queue of written answers a course's staff score, one answer at a time: each enrolled
student's current text of each question (``core.answers``), the question's prompt and points, and its
score when it has one.  Scoring is ``submissions.score_written``, the API's."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from api.services import gradebook
from core.models import Answer, Course, CourseAssignment, Membership, User, WrittenScore
from grader.assignments import Catalog


def queue(session: Session, catalog: Catalog, course: Course, assignment_id: str | None = None,
          pending_only: bool = True) -> list[dict]:
    """The answers (pending ones only, or all), by assignment, question and student."""
    offered = [o for o in gradebook.in_catalog(catalog, course.assignments)
               if (assignment_id is None and o.withdrawn_at is None) or o.assignment_id == assignment_id]
    specs = {o.id: {w.name: w for w in catalog.get(o.assignment_id).manifest.written} for o in offered}
    query = (select(Answer.id, Answer.course_assignment_id, Answer.name, Answer.text, Answer.submission_id,
                    Answer.answered_at, User.name, User.display_name, WrittenScore.score, WrittenScore.comment)
             .join(User, User.id == Answer.user_id)
             .join(CourseAssignment, CourseAssignment.id == Answer.course_assignment_id)
             .join(Membership, and_(Membership.user_id == Answer.user_id, Membership.course_id == course.id,
                                    Membership.dropped_at.is_(None)))
             .outerjoin(WrittenScore, and_(WrittenScore.answer_id == Answer.id,
                                           WrittenScore.answer_sha256 == Answer.sha256))
             .where(Answer.course_assignment_id.in_(list(specs)))
             .order_by(CourseAssignment.assignment_id, Answer.name, User.name))
    if pending_only:
        query = query.where(WrittenScore.id.is_(None))
    by_id = {o.id: o.assignment_id for o in offered}
    return [{"answer_id": answer_id, "assignment": by_id[offered_id], "name": name, "text": text,
             "submission_id": submission_id, "answered_at": answered_at, "student": student,
             "display_name": display_name, "points": specs[offered_id][name].points,
             "prompt": specs[offered_id][name].prompt.model_dump(), "score": score, "comment": comment or ""}
            for answer_id, offered_id, name, text, submission_id, answered_at, student, display_name, score, comment
            in session.execute(query) if name in specs[offered_id]]
