"""What the API reads and writes: one schema per direction (``...In`` read, ``...Public`` written)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from grader.results import Environment, Output, TestResult, Timings
from grader.status import SubmissionStatus


MAX_ID = 2**31 - 1  # ids are 32-bit integer columns; a larger one is refused before it reaches the database

# Dates a course can use.  Near datetime's own limits (years 1 and 9999) a time zone or the late
# days added to a due date overflow, so such a date is refused on the way in.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.timezone.utc)
def _in_range(moment: dt.datetime) -> dt.datetime:
    compared = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    if not EARLIEST <= compared <= LATEST:
        raise ValueError("a date between 1900 and 9000")
    return moment


Moment = Annotated[dt.datetime, AfterValidator(_in_range),
                   Field(description="between 1900 and 9000; without a time zone it is the course's time "
                                     "(e.g. 2026-03-15T23:59 in Asia/Shanghai)")]
PackVersion = Annotated[str | None, Field(description="the version of the assignment's pack that graded it "
                                                     "(a content hash, docs/PACKS.md)")]
PackOutdated = Annotated[bool | None, Field(description="graded by another version of the pack than the current one "
                                                        "(a regrade grades with the current one); null: not graded")]

Language = Literal["zh", "en"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable", examples=["deadline_passed"])
    message: str = Field(description="what went wrong and what to do", examples=[
        "w1-normal-modes closed at 2026-03-01T16:00:00+00:00; ask your instructor for an extension"])
    details: list[dict] | None = Field(None, description="one entry per invalid field (validation errors)")


class ErrorPublic(BaseModel):
    error: ErrorDetail


# ---------------------------------------------------------------------- users and courses
class MembershipPublic(BaseModel):
    course: str
    role: str


class UserPublic(BaseModel):
    name: str
    display_name: str
    is_admin: bool
    language: Language | None = Field(None, description="preferred language of messages and feedback; none: the "
                                                        "course's default, then the browser's (Accept-Language)")
    courses: list[MembershipPublic]


class LoginIn(Strict):
    name: str = Field(max_length=64, description="your student or staff ID")
    password: str = Field(max_length=1024)


class PasswordIn(Strict):
    password: str = Field(max_length=1024, description="at least 8 characters, not your ID")


class SessionPublic(BaseModel):
    user: UserPublic
    csrf_token: str = Field(description="send it as the X-CSRF-Token header (or a csrf_token form field) with "
                                        "every change made with the session cookie")


class InvitationPublic(BaseModel):
    name: str
    display_name: str


class InvitationIssued(BaseModel):
    name: str
    code: str = Field(description="one-time, shown once")
    url: str
    expires_at: dt.datetime


class TokenIn(Strict):
    name: str = Field(max_length=100, description="what it is for, e.g. 'laptop'")
    expires_at: dt.datetime | None = Field(None, ge=EARLIEST, le=LATEST, description="none: until revoked; "
                                           "without a time zone: UTC")


class TokenPublic(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="shown once: send it as 'Authorization: Bearer <token>'")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language | None = Field(description="zh or en; null: no preference")


class AssignmentPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "w1-normal-modes", "course": "pytorch-2026", "title": "The four modes of torch.normal",
        "title_zh": "torch.normal 的四种模式", "week": 1, "queue": "cpu", "max_score": 32.0,
        "due_at": "2026-03-01T16:00:00Z", "closes_at": "2026-03-03T16:00:00Z", "late_penalty_per_day": 0.1,
        "attempts_per_day": 10, "attempts_total": None, "attempts_used": 2, "results_released": False,
        "latest_submission": 17, "latest_status": "graded", "best_score": 32.0}]})

    id: str
    course: str
    title: str
    title_zh: str
    week: int
    queue: str
    max_score: float
    due_at: dt.datetime | None = Field(description="your due date: the later of the course's and your extension; none: no deadline "
                                                   "(no due date, or you are on the course's staff)")
    closes_at: dt.datetime | None = Field(description="the last moment a late submission is accepted")
    late_penalty_per_day: float
    attempts_per_day: int | None
    attempts_total: int | None
    attempts_used: int
    results_released: bool
    withdrawn: bool = Field(False, description="withdrawn from the course (only its staff still see it; it takes no "
                                               "new submissions)")
    latest_submission: int | None
    latest_status: SubmissionStatus | None
    best_score: float | None


class PolicyIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "due_at": "2026-03-01T16:00:00Z", "late_days": 2, "late_penalty_per_day": 0.1, "attempts_per_day": 10}]})

    due_at: Moment | None = None
    late_days: int | None = Field(None, ge=0, le=365, description="days after the due date still accepted (days of "
                                                                  "the course's calendar, in its time zone)")
    late_penalty_per_day: float | None = Field(None, ge=0, le=1, description="fraction of the score per day late")
    attempts_per_day: int | None = Field(None, ge=1, description="submissions in any 24 hours; null: no limit")
    attempts_total: int | None = Field(None, ge=1, description="null: no limit")
    results_released: bool | None = Field(None, description="show hidden checks to students")

    @model_validator(mode="after")
    def _required_values(self) -> "PolicyIn":
        cleared = [f for f in ("late_days", "late_penalty_per_day", "results_released")
                   if f in self.model_fields_set and getattr(self, f) is None]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null")
        return self


class PermissionsIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ta_may": ["extensions"]}]})

    ta_may: list[str] = Field(
        max_length=8, description="the instructor's rights the course's TAs hold too: policy (deadlines, late policy, "
                                  "attempt limits), extensions, release (of hidden results); [] revokes all")


class PermissionsPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "course": "pytorch-2026", "ta_may": ["extensions"],
        "roles": {"student": ["graded", "member"], "ta": ["exempt", "extensions", "grade", "member", "see_all"],
                  "instructor": ["administer", "exempt", "extensions", "grade", "member", "policy", "release",
                                 "see_all"]}}]})

    course: str
    ta_may: list[str]
    roles: dict[str, list[str]] = Field(description="each role's rights in this course (docs/SERVICE.md, \"Roles\")")


class PolicyPublic(BaseModel):
    course: str
    assignment: str
    time_zone: str = Field(description="the course's time zone: due dates are shown in it, and a due date sent "
                                       "without one is read in it")
    due_at: dt.datetime | None
    late_days: int
    late_penalty_per_day: float
    attempts_per_day: int | None
    attempts_total: int | None
    results_released: bool


class ExtensionIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"due_at": "2026-03-08T16:00:00Z"}]})

    due_at: Moment


class ExtensionPublic(BaseModel):
    course: str
    assignment: str
    student: str
    due_at: dt.datetime


# ---------------------------------------------------------------------- submissions
class SubmissionAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 17, "status": "queued", "course": "pytorch-2026", "assignment": "w1-normal-modes",
        "filename": "hw.py", "submitted_at": "2026-02-27T09:15:02Z", "url": "/api/v1/submissions/17",
        "events_url": "/api/v1/submissions/17/events"}]})

    id: int
    status: SubmissionStatus
    course: str
    assignment: str
    filename: str
    submitted_at: dt.datetime
    url: str
    events_url: str


class PointsPublic(BaseModel):
    """Points, one meaning per name (core/points.py, docs/SERVICE.md "Points").  A grade counts
    the chosen code submission's auto points and the student's current written answers; a
    submission shows what it would count as, were it the chosen one."""

    score: float | None = Field(description="points counted: auto-graded plus scored written answers; null until "
                                            "graded")
    max_score: float = Field(description="all points: auto-graded checks plus written questions")
    adjusted_score: float | None = Field(description="score after late penalties (the code's on auto points, each "
                                                     "answer's own on its score)")
    auto_score: float | None = Field(description="points earned in the auto-graded checks (0 for a .md of answers)")
    auto_max_score: float = Field(description="points the auto-graded checks offer")
    written_score: float = Field(description="points an instructor gave the current written answers")
    written_max_score: float = Field(description="points the written questions offer")
    pending_max_score: float = Field(description="points of written answers given and awaiting a score (never of "
                                                 "unanswered questions)")


class SubmissionSummary(PointsPublic):
    id: int
    course: str
    assignment: str
    student: str
    filename: str
    status: SubmissionStatus
    submitted_at: dt.datetime
    finished_at: dt.datetime | None
    pack_version: PackVersion = None
    pack_outdated: PackOutdated = None


class SubmissionPublic(PointsPublic):
    """A submission as its student sees it: hidden checks as one aggregate until released."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 17, "course": "pytorch-2026", "assignment": "w1-normal-modes", "student": "alice",
        "filename": "hw.py", "status": "graded", "submitted_at": "2026-02-27T09:15:02Z",
        "started_at": "2026-02-27T09:15:02Z", "finished_at": "2026-02-27T09:15:03Z", "score": 32.0,
        "max_score": 32.0, "adjusted_score": 32.0, "auto_score": 32.0, "auto_max_score": 32.0, "written_score": 0.0,
        "written_max_score": 0.0, "pending_max_score": 0.0, "days_late": 0, "late_penalty": 0.0,
        "message": "", "notes": [], "tests": [
            {"name": "tensor_tensor_shape_dtype", "score": 2.0, "max_score": 2.0, "status": "passed",
             "feedback": "", "visibility": "visible", "description": "normal_tensor_tensor: the output has the "
             "shape of mean and std broadcast together", "detail": ""},
            {"name": "hidden checks", "score": 8.0, "max_score": 8.0, "status": "passed",
             "feedback": "3 hidden check(s); their feedback is shown when results are released",
             "visibility": "hidden", "description": "", "detail": ""}]}]})

    id: int
    course: str
    assignment: str
    student: str
    filename: str
    status: SubmissionStatus
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    days_late: int
    late_penalty: float = Field(description="fraction taken off this upload for lateness")
    waiting: str | None = Field(None, description="while queued: why it is not being graded, when no live worker "
                                "consumes its queue (\"waiting: no GPU worker is running\"); null otherwise")
    message: str = ""
    notes: list[str] = []
    tests: list[TestResult] = []
    output: Output = Output()
    timings: Timings = Timings()
    environment: Environment = Environment()


class SubmissionDetail(SubmissionPublic):
    """The instructor's view: every check, hidden output and written answers."""

    sha256: str
    size: int
    attempts: int = Field(description="grading attempts so far (a worker death or grader fault adds one)")
    worker: str | None
    hidden_output: Output = Output()
    answers: dict[str, str] = Field({}, description="the student's current written answers, whichever upload "
                                                    "carried them")
    pack_version: PackVersion = None
    pack_outdated: PackOutdated = None


class WrittenScoreIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"score": 4, "comment": "Right idea; say why a tensor of order 0 has no axes."}]})

    score: float = Field(ge=0)
    comment: str = Field("", max_length=20000)


class WrittenScorePublic(BaseModel):
    submission: int
    name: str
    score: float
    comment: str
    scored_by: str
    scored_at: dt.datetime
    answer_sha256: str = Field(description="the answer text this score is kept with")


class RegradeIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"assignment": "w1-normal-modes"}, {"student": "alice"}, {"student": "alice", "assignment": "w1-autograd"}]})

    student: str | None = None
    assignment: str | None = None


class RegradeAccepted(BaseModel):
    submissions: list[int]


# ---------------------------------------------------------------------- grades
class GradeEntry(PointsPublic):
    submission_id: int = Field(description="the code submission that counts (a .md of answers only while there is "
                                           "no code)")
    status: SubmissionStatus
    days_late: int = Field(description="of that submission")
    late_penalty: float = Field(description="of that submission, on the auto points")
    submitted_at: dt.datetime
    pack_version: PackVersion = None
    pack_outdated: PackOutdated = None


class MyGrade(BaseModel):
    course: str
    assignment: str
    max_score: float
    grade: GradeEntry | None


class GradebookRow(BaseModel):
    student: str
    display_name: str
    class_: str = Field("", alias="class", description="the class (班级) as the roster names it")
    grades: dict[str, GradeEntry | None]
    total: float


class Gradebook(BaseModel):
    course: str
    policy: str
    assignments: list[str]
    max_scores: dict[str, float]
    max_total: float
    pack_versions: dict[str, str] = Field(default_factory=dict, description="each assignment's current pack version")
    warnings: list[str] = Field(default_factory=list, description="what keeps the course's submissions from being "
                                "graded now, e.g. no live worker for a queue its assignments use")
    students: list[GradebookRow]


class HistogramBin(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: float = Field(alias="from")
    to: float
    count: int


class FailureCount(BaseModel):
    feedback: str
    count: int
    students: list[str] = Field(default_factory=list, description="the students whose best attempt failed so")


class CheckStats(BaseModel):
    name: str
    graded: int
    pass_rate: float | None
    common_failures: list[FailureCount]


class Counts(BaseModel):
    submissions: int
    students: int
    by_status: dict[str, int]


class AssignmentStats(BaseModel):
    course: str
    assignment: str
    max_score: float
    counts: Counts
    students_scored: int = Field(description="students whose best grade is complete (no answer awaits a score); "
                                             "mean, median and histogram are over them")
    students_pending: int = Field(description="students left out because a written answer awaits a score")
    mean: float | None
    median: float | None
    histogram: list[HistogramBin]
    checks: list[CheckStats]


class AssignmentOverview(BaseModel):
    assignment: str
    due_at: dt.datetime | None = Field(description="in the course's time zone")
    results_released: bool
    students_submitted: int
    students: int = Field(description="the course's graded members")
    submissions: int
    by_status: dict[str, int]
    faults: int = Field(description="submissions that met a grader fault (internal_error)")


class SubmittedCell(BaseModel):
    count: int
    last_at: dt.datetime


class SubmittedRow(BaseModel):
    student: str
    display_name: str
    assignments: dict[str, SubmittedCell] = Field(description="only the assignments the student submitted to")


class QueueEntry(BaseModel):
    queue: str
    status: str
    count: int
    oldest: dt.datetime


class Fault(BaseModel):
    submission_id: int
    student: str
    assignment: str
    created_at: dt.datetime
    worker: str | None
    message: str


class CourseOverview(BaseModel):
    course: str
    time_zone: str
    students: int
    assignments: list[AssignmentOverview]
    submitted: list[SubmittedRow]
    queue: list[QueueEntry] = Field(description="the course's submissions queued or running, per queue")
    faults: list[Fault] = Field(description="the latest grader faults, newest first")


class TimelineBucket(BaseModel):
    start: dt.datetime
    hours_from_due: int | None
    count: int


class Timeline(BaseModel):
    course: str
    assignment: str
    time_zone: str
    due_at: dt.datetime | None
    bucket_hours: int
    before: int = Field(description="submissions before the first bucket")
    after: int = Field(description="submissions after the last bucket")
    buckets: list[TimelineBucket]


class WrittenQueueEntry(BaseModel):
    answer_id: int
    assignment: str
    name: str = Field(description="the question, e.g. Q1")
    text: str
    submission_id: int | None = Field(description="the upload that carried the text: score it there "
                                                  "(PUT /submissions/{id}/written/{name})")
    answered_at: dt.datetime
    student: str
    display_name: str
    points: float
    prompt: dict[str, str] = Field(description="the question, in zh and en")
    score: float | None = Field(description="none: awaiting a score")
    comment: str


class Health(BaseModel):
    status: str = Field(examples=["ok"], description="always ok: the process answers (/readyz checks the rest)")


# ---------------------------------------------------------------------- course administration
class OfferingPublic(BaseModel):
    course: str
    assignment: str
    withdrawn: bool = Field(description="hidden from students, closed to new submissions; its work is kept")
    withdrawn_at: dt.datetime | None


class MemberPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "student_id": "2026001", "name": "李雷", "class": "计科2301", "email": "", "role": "student",
        "dropped": False, "dropped_at": None}]})

    student_id: str = Field(description="the login name")
    name: str = Field(description="the display name (姓名)")
    class_: str = Field(alias="class", description="the class (班级) as the roster names it")
    email: str
    role: str
    dropped: bool
    dropped_at: dt.datetime | None


class RosterInvitation(BaseModel):
    student_id: str
    name: str
    class_name: str
    code: str = Field(description="a one-time code, shown only here")
    url: str


class RosterReport(BaseModel):
    encoding: str = Field(description="the encoding the file was read in", examples=["GBK"])
    columns: dict[str, str] = Field(description="field -> the header it was read from")
    ignored_columns: list[str]
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    missing: list[str] = Field(description="enrolled students the file does not list")
    dropped: list[str] = Field(description="those of them dropped (drop_missing)")
    invitations: list[RosterInvitation] = Field(description="one for each new user")


class InvitationsIn(Strict):
    students: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        None, max_length=5000, description="student IDs (at most 5000, as a roster); none: every enrolled student")


class AuditEntryPublic(BaseModel):
    id: int
    at: dt.datetime
    actor: str = Field(description="a user's name, or cli:LOGIN for the command line")
    action: str
    target: str
    old: dict | None
    new: dict | None


# ---------------------------------------------------------------------- code similarity
class SimilarityWho(BaseModel):
    submission: int
    student: str
    filename: str


class SimilaritySkipped(SimilarityWho):
    reason: str = Field(description="why its code could not be read")


class SimilarityLines(BaseModel):
    file: str = Field(description="the file in the upload (a zip's path; a notebook's 'cell N')")
    start: int = Field(description="first line, from 1")
    end: int = Field(description="last line, inclusive")


class SimilarityRegion(BaseModel):
    a: SimilarityLines
    b: SimilarityLines
    matched: int = Field(description="normalised characters matched")


class SimilarityPair(BaseModel):
    score: float = Field(description="the larger of the two similarities")
    similarity: list[float] = Field(description="the share of a's, then of b's normalised code that the other has "
                                                "and no base has")
    matched: int = Field(description="normalised characters of a that b has too, bases aside")
    a: SimilarityWho
    b: SimilarityWho
    regions: list[SimilarityRegion] = Field(description="matched regions side by side, longest first")


class SimilarityCluster(BaseModel):
    students: list[str]
    submissions: list[int]
    max_score: float
    links: int = Field(description="pairs of the cluster at or above the threshold")


class SimilarityBaseUsed(BaseModel):
    name: str
    origin: Literal["starter", "course", "instructor"]


class SimilarityReport(BaseModel):
    course: str
    assignment: str
    policy: str = Field(description="latest, best, or chosen (submissions named by id)")
    threshold: float
    method: dict[str, str | int]
    bases: list[SimilarityBaseUsed] = Field(description="code subtracted from every submission")
    submissions: int
    pairs_compared: int
    skipped: list[SimilaritySkipped]
    empty: list[SimilarityWho] = Field(description="submissions with no code of their own once the bases are "
                                                   "subtracted")
    pairs: list[SimilarityPair] = Field(description="best first")
    clusters: list[SimilarityCluster] = Field(description="three or more submissions linked by pairs at or above "
                                                          "the threshold, largest first")


class SimilarityBasePublic(SimilarityBaseUsed):
    size: int
    sha256: str
    added_at: dt.datetime | None = Field(None, description="instructors' files only")
