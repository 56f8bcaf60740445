"""Class lists as schools export them, imported into one course.

- Encodings: UTF-8 (with or without a byte-order mark), GBK and GB18030, detected in that order
  (GB18030 is a superset of GBK: a file GBK reads is said to be GBK); the one used is reported.
  Bytes none of them reads are refused with their line numbers.  Four candidates, tried strictly,
  need no guessing library (a statistical detector can take GBK for another legacy encoding).
- Columns: Chinese or English headers (学号, 姓名, 班级, 邮箱, 角色 / student_id, name, class, email,
  role), Canvas's roster and gradebook exports ("Student", "SIS Login ID", "SIS User ID",
  "Section"; its "Points Possible" row is skipped) and Moodle's participant exports ("First
  name", "Surname", "Username", "ID number", "Email address", "Groups"), or a mapping the caller
  gives (header -> field).  The student ID (the login name) is the LMS's login name when it has one.
- Re-importing is idempotent: each row is added, updated or unchanged; enrolled students missing
  from the file are reported, and dropped only when asked.  Every row is checked before any is
  stored.  New users get an invitation (``administration.invitations_csv`` writes them).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import accounts, administration, courses
from core import audit
from core.errors import BadRequest
from core.i18n import _
from core.models import Course, Role, User
from core.settings import Settings
from grader.i18n import Message, Text

FIELDS = ("student_id", "name", "class", "email", "role", "first_name", "surname")
ENCODINGS = (("utf-8-sig", "UTF-8 with BOM"), ("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030"))
ALIASES = {
    "student_id": ("学号", "学生学号", "工号", "账号", "用户名", "student_id", "student id", "student number", "login",
                   "login id", "username", "sis login id", "user_name"),
    "name": ("姓名", "名字", "name", "display_name", "full name", "student"),
    "class": ("班级", "行政班", "教学班", "class", "class_name", "section", "group", "groups"),
    "email": ("邮箱", "电子邮件", "电子邮箱", "email", "e-mail", "email address"),
    "role": ("角色", "身份", "role"),
    "first_name": ("first name", "firstname", "名"),
    "surname": ("surname", "last name", "lastname", "姓"),
}
# When the file has no login column: the school's student number (Canvas, Moodle).
FALLBACK_ID = ("sis user id", "id number", "idnumber")
ROLE_WORDS = {"学生": "student", "student": "student", "教师": "instructor", "老师": "instructor",
              "teacher": "instructor", "instructor": "instructor", "editingteacher": "instructor", "助教": "ta",
              "ta": "ta", "teaching assistant": "ta"}
CHINESE_ROLE = {Role.student: "学生", Role.ta: "助教", Role.instructor: "教师"}  # the words a Chinese class list uses
CANVAS_EXTRA_ROWS = ("points possible", "muted")
MAX_ROWS = 5000  # a course's class list; a million rows would hold the database's write lock for hours
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # no NUL in a PostgreSQL text; no stray control characters


@dataclasses.dataclass(frozen=True)
class Row:
    line: int
    student_id: str
    name: str
    class_name: str
    email: str
    role: Role


@dataclasses.dataclass
class Report:
    encoding: str
    columns: dict[str, str]                 # field -> the header it was read from
    ignored_columns: list[str]
    added: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)     # enrolled students not in the file
    dropped: list[str] = dataclasses.field(default_factory=list)     # those of them dropped (``drop_missing``)
    invitations: list[administration.Invitation] = dataclasses.field(default_factory=list)

    def shown(self) -> dict:
        return {**{k: v for k, v in dataclasses.asdict(self).items() if k != "invitations"},
                "invitations": [dataclasses.asdict(each) for each in self.invitations]}


# ---------------------------------------------------------------------- reading
def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of the encoding that read it, or a 400 naming the unreadable lines."""
    for codec, said in ENCODINGS:
        if codec == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf"):
            continue
        try:
            return data.decode(codec), said
        except UnicodeDecodeError:
            continue
    bad = [number for number, line in enumerate(data.split(b"\n"), start=1) if not _readable(line)]
    raise BadRequest(_("the roster is neither UTF-8 nor GBK/GB18030: line(s) {lines} cannot be read; save it as "
                       "UTF-8 (CSV UTF-8 in a spreadsheet program)", lines=", ".join(map(str, bad[:20])) or "?"),
                     code="roster_encoding")


def _readable(line: bytes) -> bool:
    for codec in ("utf-8-sig", "gb18030"):
        try:
            line.decode(codec)
            return True
        except UnicodeDecodeError:
            pass
    return False


def _key(header: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", header).strip().lstrip("\ufeff").casefold().split())


def columns(headers: list[str], mapping: dict[str, str] | None = None) -> tuple[dict[str, int], list[str]]:
    """field -> column index, and the headers left unread.  ``mapping`` (header -> field) comes
    before the aliases."""
    keys = [_key(h) for h in headers]
    found: dict[str, int] = {}
    for header, field in (mapping or {}).items():
        if field not in FIELDS:
            raise BadRequest(_("column mapping {header}={field}: the fields are {fields}", header=header,
                               field=field, fields=", ".join(FIELDS)), code="roster_mapping")
        if _key(header) not in keys:
            raise BadRequest(_("column mapping {header}={field}: the file has no column {header!r} (it has {headers})",
                               header=header, field=field, headers=", ".join(headers)), code="roster_mapping")
        found[field] = keys.index(_key(header))
    for field, aliases in ALIASES.items():
        if field not in found:
            match = next((i for i, k in enumerate(keys) if k in aliases and i not in found.values()), None)
            if match is not None:
                found[field] = match
    if "student_id" not in found:
        match = next((i for i, k in enumerate(keys) if k in FALLBACK_ID), None)
        if match is None:
            raise BadRequest(_("the roster needs a student ID column (学号, student_id, SIS Login ID, Username …) or a "
                               "mapping such as 学籍号=student_id; its columns are {headers}",
                               headers=", ".join(headers)), code="roster_columns")
        found["student_id"] = match
    return found, [h for i, h in enumerate(headers) if i not in found.values()]


def _name(cells: dict[str, str]) -> str:
    if cells.get("name"):
        return cells["name"]
    first, surname = cells.get("first_name", ""), cells.get("surname", "")
    if _cjk(first + surname):
        return surname + first
    return " ".join(part for part in (first, surname) if part)


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _role(word: str, line: int) -> Role:
    value = ROLE_WORDS.get(_key(word) or "student", _key(word))
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(f"{r.value} ({CHINESE_ROLE[r]})" for r in Role)
        raise BadRequest(_("roster line {line}: role {role!r}: use one of {roles}", line=line, role=word, roles=roles),
                         code="roster_row") from None


def parse(text: str, mapping: dict[str, str] | None = None) -> tuple[list[Row], dict[str, str], list[str]]:
    """The rows (checked: each has a valid, unique student ID and a known role), the columns read
    (field -> header) and those ignored."""
    lines = text.splitlines()
    if not lines:
        raise BadRequest(_("the roster is empty"), code="roster_columns")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    records: list[tuple[int, list[str]]] = []   # (the line a record starts on: a quoted cell may break lines)
    reader, start = csv.reader(io.StringIO(text), dialect), 1
    try:
        for record in reader:
            records.append((start, [CONTROL.sub("", cell) for cell in record]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BadRequest(_("the roster is not a CSV file a spreadsheet program would write: {why}", why=str(exc)),
                         code="roster_columns") from None
    if len(records) > MAX_ROWS + 1:
        raise BadRequest(_("the roster has {count} rows; one import takes at most {limit} (split the file)",
                           count=len(records) - 1, limit=MAX_ROWS), code="roster_too_large")
    headers = records[0][1] if records else []
    found, ignored = columns(headers, mapping)
    rows: list[Row] = []
    seen: dict[str, int] = {}
    problems: list[Message] = []   # every bad line at once: an 80-line class list is fixed in one go
    for line, record in records[1:]:
        cells = {field: record[i].strip() if i < len(record) else "" for field, i in found.items()}
        if not any(cell.strip() for cell in record) or _key(cells.get("name", "")) in CANVAS_EXTRA_ROWS:
            continue
        try:
            rows.append(_row(line, cells, seen))
        except BadRequest as exc:
            problems.append(exc.message)
    if problems:
        raise BadRequest(Text.join("\n", problems), code="roster_row")
    return rows, {field: headers[i] for field, i in found.items()}, ignored


def _row(line: int, cells: dict[str, str], seen: dict[str, int]) -> Row:
    student_id = cells["student_id"]
    if not accounts.USER_NAME.match(student_id):
        raise BadRequest(_("roster line {line}: student ID {id!r}: use letters, digits and . _ @ -", line=line,
                           id=student_id), code="roster_row")
    if student_id in seen:
        raise BadRequest(_("roster line {line}: student ID {id} is on line {first} already", line=line,
                           id=student_id, first=seen[student_id]), code="roster_row")
    row = Row(line, student_id, _name(cells), cells.get("class", ""), cells.get("email", ""),
              _role(cells.get("role", ""), line))
    seen[student_id] = line
    return row


# ---------------------------------------------------------------------- storing
def import_roster(session: Session, settings: Settings, actor: audit.Actor, course: Course, data: bytes,
                  mapping: dict[str, str] | None = None, drop_missing: bool = False) -> Report:
    """Read the file, then add, update, report (and with ``drop_missing`` drop) the course's
    members; new users get an invitation.  The caller commits."""
    text, encoding = decode(data)
    rows, used, ignored = parse(text, mapping)
    report = Report(encoding, used, ignored)
    for row in rows:
        user = session.scalar(select(User).where(User.name == row.student_id))
        created = user is None
        if created:
            accounts.add_user(session, settings.secret_key, row.student_id, row.role.value, course.slug, row.name,
                              row.email, actor)
            user = session.scalar(select(User).where(User.name == row.student_id))
        details_changed = _may_rename(session, actor, user, created) and _update_details(user, row)
        membership, outcome = accounts.enrol(session, actor, course, user, row.role, row.class_name)
        if created:
            outcome = "added"
        elif outcome == "unchanged" and details_changed:
            outcome = "updated"
        getattr(report, outcome).append(row.student_id)
        if created:
            report.invitations.append(administration.invite(session, settings, user, membership.class_name))
    listed = {row.student_id for row in rows}
    report.missing = [user.name for user, _m in administration.members(session, course, role=Role.student)
                      if user.name not in listed]
    if drop_missing:
        for name in report.missing:
            administration.drop(session, actor, course, name)
        report.dropped = list(report.missing)
    return report


def _may_rename(session: Session, actor: audit.Actor, user: User, created: bool) -> bool:
    """A roster sets the name and e-mail of the users it creates, and of those whose account the
    importer manages (core/rules.py's ``may_manage_account``), never of another course's member
    (the command line's operator may)."""
    return created or not isinstance(actor, User) or courses.may_manage_account(session, actor, user)


def _update_details(user: User, row: Row) -> bool:
    """Take the roster's name and email (an empty cell keeps what is there)."""
    changed = False
    for attribute, value in (("display_name", row.name), ("email", row.email)):
        if value and getattr(user, attribute) != value:
            setattr(user, attribute, value)
            changed = True
    return changed
