"""The pages of a course's instructors and TAs: the course at a glance, the gradebook, an
assignment (plots, failures and the students behind them, its policy, extensions, regrading),
a student (every attempt, extensions), and the written answers' queue.  Every number and every
decision is the service's (``api.services``, ``core.rules`` through ``api.services.courses``):
these routes only read forms and render.  What a caller may do is asked of the rules: a member
who does not see the whole course gets 403; policy, extension and regrade controls appear only
to those the rules let change them, and their POSTs check the same."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import CatalogDep, EnqueuerDep, SessionDep, SettingsDep
from api.schemas import ExtensionIn, PolicyIn
from api.services import administration, courses, gradebook, roster, statistics, submissions, written
from core import audit, clock, rules
from core.errors import BadRequest, Forbidden, ServiceError
from core.i18n import _
from core.models import Course, CourseAssignment, User
from core.rules import Right
from grader.assignments import Catalog
from grader.i18n import render
from web import charts, diff, nav
from web.pages import PageUser
from web.templating import page

router = APIRouter(prefix="/staff/{course}", include_in_schema=False)
PolicyQuery = Annotated[str, Query(pattern="^(best|latest)$")]
MAX_ROSTER_BYTES = 4 << 20
AUDIT_PAGE = 100


def _staff_courses(user: User) -> list[Course]:
    """The courses whose pages the user sees (the navigation's "Teaching" link)."""
    return [m.course for m in user.memberships
            if Right.see_all in rules.rights(user.is_admin, rules.enrolled_role(m.role, m.dropped_at))]


nav.add(nav.Link(_("Teaching"), lambda user: f"/staff/{_staff_courses(user)[0].slug}",
                 shown_to=lambda user: bool(_staff_courses(user)), section="/staff"))


# ---------------------------------------------------------------------- who may
def staff_course(session: Session, user: User, slug: str) -> Course:
    """The course, if the user sees all of it (its instructors and TAs, an admin); else the rules' 403."""
    return courses.course_for(session, user, slug, Right.see_all)


def powers(session: Session, user: User, course: Course) -> dict[str, bool]:
    """Which controls the pages show this user: the rights core/rules.py gives them here (a TA
    grades and regrades; deadlines, extensions and releases only when the instructor allows
    TAs to).  The POSTs ask ``courses.course_for`` for the same right."""
    held = courses.rights_in(session, user, course.id)
    return {"policy": Right.policy in held, "extensions": Right.extensions in held, "release": Right.release in held,
            "regrade": Right.grade in held, "score": Right.grade in held, "gradebook": Right.see_all in held,
            "administer": Right.administer in held}


def _context(session: Session, user: User, course: Course, settings, **values) -> dict:
    return {"course": course, "can": powers(session, user, course), "time_zone": courses.zone_of(course, settings).key,
            "section": "", **values}


# ---------------------------------------------------------------------- the course at a glance
@router.get("")
def overview(request: Request, course: str, session: SessionDep, catalog: CatalogDep, settings: SettingsDep,
             user: PageUser) -> Response:
    found = staff_course(session, user, course)
    view = statistics.overview(session, catalog, found, courses.zone_of(found, settings))
    ids = [a["assignment"] for a in view["assignments"]]
    matrix = [(row, [row["assignments"].get(a, {}).get("count") for a in ids]) for row in view["submitted"]]
    return page(request, "staff/overview.html",
                _context(session, user, found, settings, view=view, matrix=matrix, section="overview",
                         titles=titles(catalog, found, request), staff_courses=_staff_courses(user)))


def titles(catalog: Catalog, course: Course, request: Request) -> dict[str, str]:
    language = request.state.language
    return {o.assignment_id: getattr(catalog.get(o.assignment_id).manifest.title, language)
            for o in gradebook.in_catalog(catalog, course.assignments)}


# ---------------------------------------------------------------------- the gradebook
@router.get("/gradebook")
def gradebook_page(request: Request, course: str, session: SessionDep, catalog: CatalogDep, settings: SettingsDep,
                   user: PageUser, policy: PolicyQuery = "best", q: Annotated[str, Query(max_length=100)] = "",
                   sort: Annotated[str, Query(max_length=80)] = "student",
                   order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc") -> Response:
    found = staff_course(session, user, course)
    book = gradebook.book(session, settings, catalog, found, policy)
    rows = [r for r in book.rows if q.casefold() in (r.student + " " + r.display_name).casefold()]
    rows.sort(key=_sort_key(sort, book.assignments), reverse=order == "desc")
    return page(request, "staff/gradebook.html",
                _context(session, user, found, settings, book=book, rows=rows, policy=policy, q=q, sort=sort,
                         order=order, section="gradebook"))


def _sort_key(sort: str, assignment_ids: list[str]):
    if sort in assignment_ids:
        return lambda row: (row.grades[sort] is not None,
                            row.grades[sort].points.adjusted if row.grades[sort] else 0, row.student)
    if sort == "total":
        return lambda row: (row.total, row.student)
    return lambda row: row.student


# ---------------------------------------------------------------------- one assignment
@router.get("/assignments/{assignment_id}")
def assignment(request: Request, course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep,
               settings: SettingsDep, user: PageUser,
               done: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    """``done``: which change a form made (the page says so in a sentence of its own)."""
    return page(request, "staff/assignment.html",
                assignment_context(request, session, catalog, settings, user, course, assignment_id, done=done))


def assignment_context(request: Request, session: Session, catalog: Catalog, settings, user: User, course: str,
                       assignment_id: str, error: str | None = None, done: str | None = None) -> dict:
    found = staff_course(session, user, course)
    offered = courses.course_assignment(session, found, assignment_id)
    zone = courses.zone_of(found, settings)
    stats = gradebook.stats(session, settings, catalog, offered)
    line = statistics.timeline(session, offered, zone)
    manifest = catalog.get(assignment_id).manifest
    return _context(session, user, found, settings, offered=offered, stats=stats, line=line,
                    title=getattr(manifest.title, request.state.language), section="assignments",
                    histogram=charts.columns([(f"{b['from']:g}–{b['to']:g}", b["count"], str(b["count"]))
                                              for b in stats["histogram"]]),
                    pass_rates=charts.rows([(c["name"], c["pass_rate"] or 0.0,
                                             "—" if c["pass_rate"] is None else f"{c['pass_rate'] * 100:.0f}%")
                                            for c in stats["checks"]]),
                    timeline=charts.columns([(_hours(b), b["count"], str(b["count"])) for b in line["buckets"]],
                                            tones=["late" if (b["hours_from_due"] or -1) >= 0 else ""
                                                   for b in line["buckets"]]),
                    policy=_policy(offered, zone), extensions=_extensions(session, offered, zone),
                    students=_student_names(session, found), error=error, done=done,
                    waiting=statistics.waiting(session, offered))


def _hours(bucket: dict) -> str:
    hours = bucket["hours_from_due"]
    return bucket["start"].strftime("%m-%d %H:%M") if hours is None else f"{hours:+d} h"


def _policy(offered: CourseAssignment, zone) -> dict:
    return {"due_at": clock.shown(offered.due_at, zone), "late_days": offered.late_days,
            "late_penalty_per_day": offered.late_penalty_per_day, "attempts_per_day": offered.attempts_per_day,
            "attempts_total": offered.attempts_total, "results_released": offered.results_released}


def _extensions(session: Session, offered: CourseAssignment, zone) -> list[dict]:
    found = courses.extensions_by_user(session, [offered.id])
    names = {u.id: u.name for u in session.query(User).filter(User.id.in_([uid for _, uid in found]))}
    return sorted(({"student": names[uid], "due_at": clock.shown(e.due_at, zone)} for (_, uid), e in found.items()),
                  key=lambda e: e["student"])


def _student_names(session: Session, course: Course) -> list[str]:
    return [name for _, name, _ in statistics.graded_students(session, course)]


@router.get("/assignments/{assignment_id}/progress")
def regrade_progress(request: Request, course: str, assignment_id: str, session: SessionDep,
                     user: PageUser) -> Response:
    """The regrade's progress line, polled by htmx while anything waits."""
    found = staff_course(session, user, course)
    offered = courses.course_assignment(session, found, assignment_id)
    return page(request, "staff/_progress.html", {"course": found, "assignment_id": assignment_id,
                                                  "waiting": statistics.waiting(session, offered)})


@router.post("/assignments/{assignment_id}/policy")
def change_policy(request: Request, course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep,
                  settings: SettingsDep, user: PageUser, due_at: Annotated[str, Form(max_length=40)] = "",
                  late_days: Annotated[str, Form(max_length=10)] = "0",
                  late_penalty_percent: Annotated[str, Form(max_length=10)] = "0",
                  attempts_per_day: Annotated[str, Form(max_length=10)] = "",
                  attempts_total: Annotated[str, Form(max_length=10)] = "") -> Response:
    """The policy form: a due date in course time (empty: none), late days and the penalty per
    day in percent, attempt limits (empty: none)."""
    found = courses.course_for(session, user, course, Right.policy)
    offered = courses.course_assignment(session, found, assignment_id)
    try:
        changes = _policy_form(due_at, late_days, late_penalty_percent, attempts_per_day, attempts_total)
    except BadRequest as exc:
        return _again(request, session, catalog, settings, user, course, assignment_id, exc)
    courses.update_policy(session, user, offered, changes, courses.zone_of(found, settings))
    session.commit()
    return _done(course, assignment_id, "policy")


def _policy_form(due_at: str, late_days: str, late_penalty_percent: str, attempts_per_day: str,
                 attempts_total: str) -> dict:
    values = {"due_at": due_at.strip() or None, "late_days": late_days.strip() or "0",
              "late_penalty_per_day": _fraction(late_penalty_percent),
              "attempts_per_day": attempts_per_day.strip() or None, "attempts_total": attempts_total.strip() or None}
    try:
        return PolicyIn.model_validate(values).model_dump(exclude_unset=True)
    except ValidationError as exc:
        fields = ", ".join(sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]}))
        raise BadRequest(_("these fields are not valid: {fields}", fields=fields), code="invalid_policy") from None


def _fraction(percent: str) -> float | str:
    try:
        return float(percent.strip() or 0) / 100
    except ValueError:
        return percent


@router.post("/assignments/{assignment_id}/release")
def release(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, user: PageUser) -> Response:
    """Show every check's feedback, hidden ones included, to the students."""
    found = courses.course_for(session, user, course, Right.release)
    courses.update_policy(session, user, courses.course_assignment(session, found, assignment_id),
                          {"results_released": True}, courses.zone_of(found, settings))
    session.commit()
    return _done(course, assignment_id, "released")


@router.post("/assignments/{assignment_id}/extensions")
def grant_extension(request: Request, course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep,
                    settings: SettingsDep, user: PageUser, student: Annotated[str, Form(max_length=64)] = "",
                    due_at: Annotated[str, Form(max_length=40)] = "") -> Response:
    found = courses.course_for(session, user, course, Right.extensions)
    offered = courses.course_assignment(session, found, assignment_id)
    try:
        when = ExtensionIn.model_validate({"due_at": due_at}).due_at
    except ValidationError:
        return _again(request, session, catalog, settings, user, course, assignment_id,
                      BadRequest(_("give the new due date as YYYY-MM-DD HH:MM (course time)"), code="invalid_date"))
    try:
        courses.set_extension(session, user, offered, courses.student_in(session, found, student), when,
                              courses.zone_of(found, settings))
    except ServiceError as exc:
        return _again(request, session, catalog, settings, user, course, assignment_id, exc)
    session.commit()
    return _done(course, assignment_id, "extension")


@router.post("/assignments/{assignment_id}/extensions/{student}/revoke")
def revoke_extension(course: str, assignment_id: str, student: str, session: SessionDep, user: PageUser) -> Response:
    found = courses.course_for(session, user, course, Right.extensions)
    courses.remove_extension(session, user, courses.course_assignment(session, found, assignment_id),
                             courses.student_in(session, found, student))
    session.commit()
    return _done(course, assignment_id, "revoked")


@router.post("/assignments/{assignment_id}/regrade")
def regrade(course: str, assignment_id: str, session: SessionDep, enqueuer: EnqueuerDep, user: PageUser) -> Response:
    found = courses.course_for(session, user, course, Right.grade)
    submissions.regrade(session, enqueuer, submissions.select_for_regrade(session, found, None, assignment_id),
                        user, assignment_id)
    return _done(course, assignment_id, "regrade")


def _again(request: Request, session, catalog, settings, user, course: str, assignment_id: str,
           exc: ServiceError) -> Response:
    """The assignment's page again, with the refusal said in the page's language."""
    session.rollback()
    context = assignment_context(request, session, catalog, settings, user, course, assignment_id,
                                 error=render(exc.message, request.state.language))
    return page(request, "staff/assignment.html", context, status_code=exc.status_code)


def _done(course: str, assignment_id: str, what: str) -> Response:
    return RedirectResponse(f"/staff/{course}/assignments/{assignment_id}?done={what}#{what}", status_code=303)


# ---------------------------------------------------------------------- one student
@router.get("/students/{student}")
def student_page(request: Request, course: str, student: str, session: SessionDep, catalog: CatalogDep,
                 settings: SettingsDep, user: PageUser) -> Response:
    found = staff_course(session, user, course)
    person = courses.student_in(session, found, student)
    zone = courses.zone_of(found, settings)
    tried = submissions.search(session, found, student=student, limit=10_000)
    shown = submissions.summaries(session, catalog, tried)
    for each in shown:
        each["submitted_at"] = clock.shown(each["submitted_at"], zone)
    by_assignment: dict[str, list[dict]] = {}
    for each in shown:
        by_assignment.setdefault(each["assignment"], []).append(each)
    extensions = {o.assignment_id: courses.extension_for(session, o, person.id) for o in found.assignments}
    latest = {}
    for submission in tried:  # newest first: the first of each assignment is its latest
        latest.setdefault(submission.course_assignment.assignment_id, submission)
    return page(request, "staff/student.html", _context(
        session, user, found, settings, person=person, by_assignment=by_assignment,
        code={a: diff.sources(s.filename, s.content) for a, s in latest.items()},
        titles=titles(catalog, found, request),
        extensions={a: clock.shown(e.due_at, zone) for a, e in extensions.items() if e is not None},
        section="students"))


# ---------------------------------------------------------------------- the written answers
@router.get("/written")
def written_queue(request: Request, course: str, session: SessionDep, catalog: CatalogDep, settings: SettingsDep,
                  user: PageUser, assignment: Annotated[str | None, Query(max_length=64)] = None,
                  show: Annotated[str, Query(pattern="^(pending|all)$")] = "pending",
                  at: Annotated[int, Query(ge=0, le=100_000)] = 0) -> Response:
    """One answer at a time (``at`` in the queue); j / k move, a number key sets the score."""
    found = courses.course_for(session, user, course, Right.grade)
    entries = written.queue(session, catalog, found, assignment or None, pending_only=show == "pending")
    at = min(at, max(len(entries) - 1, 0))
    return page(request, "staff/written.html", _context(
        session, user, found, settings, entries=entries, at=at, entry=entries[at] if entries else None,
        assignment=assignment or "", show=show, section="written", saved=None, error=None,
        assignments=[o.assignment_id for o in found.assignments if catalog.get(o.assignment_id).manifest.written]))


@router.post("/written/{submission_id}/{name}")
def score_answer(request: Request, course: str, submission_id: int, name: str, session: SessionDep,
                 catalog: CatalogDep, settings: SettingsDep, user: PageUser,
                 score: Annotated[str, Form(max_length=20)] = "", comment: Annotated[str, Form(max_length=10_000)] = "",
                 answer_id: Annotated[int, Form()] = 0) -> Response:
    """Save a score (htmx: the answer's form comes back saying so; without htmx: the queue, or
    the refusal on an error page)."""
    found = courses.course_for(session, user, course, Right.grade)
    submission = submissions.get_for(session, user, submission_id)
    error = saved = failure = None
    try:
        if submission.course_assignment.course_id != found.id:
            raise Forbidden(_("submission {id} is not of {slug}", id=submission_id, slug=course), code="not_staff")
        value = _number(score)
        submissions.score_written(session, catalog, user, submission, name, value, comment)
        saved = value
    except ServiceError as exc:
        session.rollback()
        failure, error = exc, render(exc.message, request.state.language)
    entry = next((e for e in written.queue(session, catalog, found, submission.course_assignment.assignment_id,
                                           pending_only=False) if e["answer_id"] == answer_id), None)
    status_code = 200 if error is None else 400
    if request.headers.get("HX-Request") and entry is not None:
        return page(request, "staff/_answer.html", _context(session, user, found, settings, entry=entry,
                                                            saved=saved, error=error), status_code=status_code)
    if failure is not None:
        raise failure
    return RedirectResponse(f"/staff/{course}/written", status_code=303)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(_("a score is a number, e.g. 3 or 2.5"), code="invalid_score") from None
    if value < 0 or value != value:
        raise BadRequest(_("a score is a number, e.g. 3 or 2.5"), code="invalid_score")
    return value


# ---------------------------------------------------------------------- roster, invitations, audit log
@router.get("/roster")
def roster_page(request: Request, course: str, session: SessionDep, settings: SettingsDep, user: PageUser,
                dropped: bool = False) -> Response:
    """The course's members (dropped ones too with ``?dropped=true``), the roster import and
    the invitations (api/services/administration.py, roster.py: the API's)."""
    found = courses.course_for(session, user, course, Right.administer)
    members = [administration.member_shown(*m) for m in administration.members(session, found,
                                                                                include_dropped=dropped)]
    return page(request, "staff/roster.html", _context(session, user, found, settings, members=members,
                                                       dropped=dropped, section="roster", report=None))


@router.post("/roster")
async def import_roster(request: Request, course: str, session: SessionDep, settings: SettingsDep,
                        user: PageUser, file: Annotated[UploadFile | None, File()] = None,
                        drop_missing: Annotated[str, Form(max_length=10)] = "") -> Response:
    """A class list (UTF-8, GBK or GB18030; Chinese or English headers; Canvas, Moodle): the
    report, and the new users' one-time invitations shown once."""
    data = b"" if file is None else await file.read(MAX_ROSTER_BYTES + 1)

    def run() -> Response:
        found = courses.course_for(session, user, course, Right.administer)
        if len(data) > MAX_ROSTER_BYTES:
            raise BadRequest(_("a class list is at most {kb} KB", kb=MAX_ROSTER_BYTES >> 10), code="roster_too_large")
        report = roster.import_roster(session, settings, user, found, data, None, drop_missing == "on")
        session.commit()
        members = [administration.member_shown(*m) for m in administration.members(session, found)]
        return page(request, "staff/roster.html", _context(session, user, found, settings, members=members,
                                                           dropped=False, section="roster", report=report))
    return await run_in_threadpool(run)


@router.post("/invitations")
def invitations(course: str, session: SessionDep, settings: SettingsDep, user: PageUser,
                student: Annotated[str, Form(max_length=64)] = "") -> Response:
    """New one-time invitations (the old ones void) for one student or every enrolled one, as the
    CSV the API gives (UTF-8 with BOM)."""
    found = courses.course_for(session, user, course, Right.administer)
    issued = administration.reissue_invitations(session, settings, user, found, [student] if student else None)
    session.commit()
    return Response(administration.invitations_csv(issued), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{course}-invitations.csv"'})


@router.post("/members/{student}/{action}")
def change_member(course: str, student: str, action: Annotated[str, Path(pattern="^(drop|enrol)$")],
                  session: SessionDep, user: PageUser) -> Response:
    found = courses.course_for(session, user, course, Right.administer)
    (administration.drop if action == "drop" else administration.reenrol)(session, user, found, student)
    session.commit()
    return RedirectResponse(f"/staff/{course}/roster?dropped=true", status_code=303)


@router.get("/audit")
def audit_page(request: Request, course: str, session: SessionDep, settings: SettingsDep, user: PageUser,
               action: Annotated[str, Query(max_length=32)] = "", actor: Annotated[str, Query(max_length=64)] = "",
               target: Annotated[str, Query(max_length=100)] = "",
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    """Who changed what and when, newest first, 100 a page (core/audit.py)."""
    found = courses.course_for(session, user, course, Right.administer)
    zone = courses.zone_of(found, settings)
    entries = [audit.shown(e, zone) for e in audit.entries(
        session, found.id, action=action if action in audit.ACTIONS else None, actor=actor or None,
        target=target or None, limit=AUDIT_PAGE, offset=offset)]
    return page(request, "staff/audit.html", _context(session, user, found, settings, entries=entries, action=action,
                                                      actor=actor, target=target, offset=offset,
                                                      actions=audit.ACTIONS, page_size=AUDIT_PAGE, section="audit"))
