"""The service's subcommands: migrate, backup, restore, serve, course, user, roster, demo (operators) and
submit (students).  Each imports what it needs when it runs, so that `torchgrade --help` and
the engine's own subcommands do not load the web and database stack."""

from __future__ import annotations

import contextlib
import os
import signal
import secrets
import subprocess
import sys
import threading
from pathlib import Path

from core.i18n import _
from core.settings import Settings, get_settings
from grader.i18n import DEFAULT_LANGUAGE, LANGUAGES, Message, Text, render

EXIT_USAGE = 2
DEMO_COURSE = "demo"
DEMO_USERS = (("instructor", "instructor"), ("ta", "ta"), ("student", "student"))   # the TA: to try the TA's views


# ---------------------------------------------------------------------- operators
@contextlib.contextmanager
def service_session(settings: Settings):
    from core.db import session_factory

    with session_factory(settings.database_url)() as session:
        yield session


def say(message: Message, language: str, command: str | None = None, error: bool = False) -> None:
    """A line for the person at the terminal, in their language (on stderr for ``error``)."""
    prefix = f"torchgrade {command}: " if command else ""
    print(prefix + render(message, language), file=sys.stderr if error else sys.stdout, flush=True)


def report_error(command: str, exc, language: str = DEFAULT_LANGUAGE) -> int:
    say(exc.message, language, command, error=True)
    return EXIT_USAGE


def add_migrate(subparsers) -> None:
    parser = subparsers.add_parser("migrate", help="create or upgrade the database (alembic upgrade head)")
    parser.set_defaults(handler=run_migrate)


def run_migrate(args) -> int:
    from core.migrate import upgrade
    from core.readiness import shown_url

    settings = get_settings()
    upgrade(settings.database_url)
    say(_("database is at the latest revision: {url}", url=shown_url(settings.database_url)), args.lang)
    return 0


def add_backup(subparsers) -> None:
    parser = subparsers.add_parser("backup", help="write the whole database (uploads, results, answers, scores) to "
                                   "a new archive file (docs/SERVICE.md, Operations)")
    parser.add_argument("file", type=Path, help="the archive to create, e.g. torchgrade-2026-03-15.tar.gz")
    parser.set_defaults(handler=run_backup)


def run_backup(args) -> int:
    from core import backup
    from core.errors import ServiceError

    try:
        summary = backup.backup(get_settings().database_url, args.file)
    except ServiceError as exc:
        return report_error("backup", exc, args.lang)
    say(_("backed up {rows} rows of {tables} tables (schema revision {revision}, {backend}) to {path}",
          rows=summary.rows, tables=len(summary.tables), revision=summary.schema_revision, backend=summary.backend,
          path=str(args.file)), args.lang)
    return 0


def add_restore(subparsers) -> None:
    parser = subparsers.add_parser("restore", help="load a backup archive into an empty database (SQLite or "
                                   "PostgreSQL, whichever made it)")
    parser.add_argument("file", type=Path, help="an archive written by torchgrade backup")
    parser.add_argument("--replace", action="store_true", help="delete everything in a database that is not "
                        "empty before loading the backup")
    parser.set_defaults(handler=run_restore)


def run_restore(args) -> int:
    from core import backup
    from core.errors import ServiceError

    try:
        summary = backup.restore(get_settings().database_url, args.file, replace=args.replace)
    except ServiceError as exc:
        return report_error("restore", exc, args.lang)
    say(_("restored {rows} rows of {tables} tables from {path} (taken {when} on {backend}); queued and running "
          "submissions are sent to the workers again", rows=summary.rows, tables=len(summary.tables),
          path=str(args.file), when=minute_utc(summary.created_at), backend=summary.backend), args.lang)
    return 0


def minute_utc(moment: str) -> str:
    """An ISO 8601 moment as a person reads it: 2026-12-07 05:27 UTC (as it is, if it is not one)."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(moment).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return moment


def add_course(subparsers) -> None:
    parser = subparsers.add_parser("course", help="manage courses")
    actions = parser.add_subparsers(required=True, metavar="action")
    create = actions.add_parser("create", help="create a course offering the catalogue's assignments")
    create.add_argument("name", help="short name, e.g. pytorch-2026")
    create.add_argument("--title", default="")
    create.add_argument("--assignments", default="", help="comma-separated ids (default: all)")
    create.add_argument("--time-zone", default=None, help="IANA zone deadlines are entered and shown in, e.g. "
                        "Asia/Shanghai (default: TORCHGRADE_DEFAULT_TIME_ZONE, recorded with the course)")
    create.add_argument("--language", choices=LANGUAGES, default=None,
                        help="the course's default language of messages (default: TORCHGRADE_DEFAULT_LANGUAGE)")
    create.set_defaults(handler=run_course_create)
    permissions = actions.add_parser("permissions", help="show or set what the course's TAs may do besides reading "
                                                        "and grading")
    permissions.add_argument("name")
    permissions.add_argument("--ta-may", default=None, metavar="RIGHTS",
                             help="comma-separated: policy (deadlines, late policy, attempt limits), extensions, "
                                  "release (of hidden results); '' revokes all")
    permissions.set_defaults(handler=run_course_permissions)
    zone = actions.add_parser("time-zone", help="show or set the course's time zone (deadlines keep their moment)")
    zone.add_argument("name")
    zone.add_argument("zone", nargs="?", help="an IANA name, e.g. Asia/Shanghai")
    zone.set_defaults(handler=run_course_time_zone)
    for action, what in (("offer", "offer assignments of the catalogue (a pack added later, or a withdrawn one)"),
                         ("withdraw", "withdraw assignments: hidden from students, closed; their work is kept")):
        sub = actions.add_parser(action, help=what)
        sub.add_argument("name", help="the course")
        sub.add_argument("assignments", nargs="+", metavar="assignment")
        sub.set_defaults(handler=run_course_offering, action=action)


def run_course_create(args) -> int:
    from api.services import accounts
    from core.catalog import ManifestCatalog
    from core.errors import ServiceError

    settings = get_settings()
    wanted = [a.strip() for a in args.assignments.split(",") if a.strip()] or None
    with service_session(settings) as session:
        try:
            course = accounts.create_course(session, ManifestCatalog(settings.reference_dir), args.name, args.title,
                                            wanted, args.language, args.time_zone or settings.default_time_zone)
        except ServiceError as exc:
            return report_error("course create", exc, args.lang)
        session.commit()
        say(_("course {slug}: {assignments}", slug=course.slug,
              assignments=", ".join(a.assignment_id for a in course.assignments)), args.lang)
    return 0


def run_course_permissions(args) -> int:
    from api.services import accounts, courses
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            course = accounts.course_by_slug(session, args.name)
            if args.ta_may is not None:
                courses.set_ta_grants(session, None, course, [r.strip() for r in args.ta_may.split(",") if r.strip()])
        except ServiceError as exc:
            return report_error("course permissions", exc, args.lang)
        session.commit()
        grants = courses.ta_grants(course)
    words = {"policy": _("change deadlines, late policy and attempt limits (policy)"),
             "extensions": _("grant extensions (extensions)"), "release": _("release hidden results (release)")}
    rights = Text.join(", ", [words.get(grant, grant) for grant in grants])
    say(_("{slug}: TAs may also {rights}", slug=args.name, rights=rights) if grants else
        _("{slug}: TAs read the course, score written answers and regrade; nothing more", slug=args.name), args.lang)
    return 0


def run_course_time_zone(args) -> int:
    from api.services import accounts, courses
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            course = accounts.course_by_slug(session, args.name)
            if args.zone is not None:
                courses.set_time_zone(session, None, course, args.zone)
        except ServiceError as exc:
            return report_error("course time-zone", exc, args.lang)
        session.commit()
        zone = courses.zone_of(course, settings).key
    say(_("{slug}: deadlines are in {zone}", slug=args.name, zone=zone), args.lang)
    return 0


def run_course_offering(args) -> int:
    from api.services import accounts, administration
    from core.catalog import ManifestCatalog
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            course = accounts.course_by_slug(session, args.name)
            for assignment_id in args.assignments:
                if args.action == "offer":
                    administration.offer(session, ManifestCatalog(settings.reference_dir), None, course, assignment_id)
                else:
                    administration.withdraw(session, None, course, assignment_id)
        except ServiceError as exc:
            return report_error(f"course {args.action}", exc, args.lang)
        session.commit()
        for offered in administration.offerings(session, course):
            state = _("withdrawn") if offered.withdrawn_at else _("offered")
            print(f"{offered.assignment_id}\t{render(state, args.lang)}")
    return 0


def add_user(subparsers) -> None:
    parser = subparsers.add_parser("user", help="manage users")
    actions = parser.add_subparsers(required=True, metavar="action")
    add = actions.add_parser("add", help="add a user (prints their token) and enrol them in a course")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["student", "ta", "instructor", "admin"],
                     help="ta: a teaching assistant (reads the course, grades; `course permissions` for more)")
    add.add_argument("--course", help="the course to enrol in (required but for admins)")
    add.add_argument("--display-name", default="")
    add.add_argument("--email", default="")
    add.add_argument("--new-token", action="store_true", help="issue a new token to a user who exists")
    add.set_defaults(handler=run_user_add)
    for action, help_text in (("invite", "print a new one-time invitation code with which the user sets a password"),
                              ("reset-password", "void the user's password and browser sessions; print a new "
                                                 "invitation code")):
        invite = actions.add_parser(action, help=help_text)
        invite.add_argument("name")
        invite.set_defaults(handler=run_user_invite, reset=action == "reset-password")


def run_user_add(args) -> int:
    from api.services import accounts
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            enrolment = accounts.add_user(session, settings.secret_key, args.name, args.role, args.course,
                                          args.display_name, args.email)
            token = enrolment.token or (accounts.reissue_token(session, settings.secret_key, args.name)
                                        if args.new_token else None)
        except ServiceError as exc:
            return report_error("user add", exc, args.lang)
        session.commit()
    who = dict(name=args.name, role=args.role, course=args.course)
    if token:
        say(_("{name} ({role} in {course}) token:", **who) if args.course else _("{name} ({role}) token:", **who),
            args.lang, error=True)
        print(token)
    elif args.course:
        say(_("{name} exists; now {role} in {course}; their token is unchanged (--new-token issues one)", **who),
            args.lang, error=True)
    else:
        say(_("{name} exists; now {role}; their token is unchanged (--new-token issues one)", **who), args.lang,
            error=True)
    return 0


def run_user_invite(args) -> int:
    from api.services import accounts
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            user = accounts.user_by_name(session, args.name)
            code = (accounts.reset_password if args.reset else accounts.invite)(session, settings, user)
        except ServiceError as exc:
            return report_error(f"user {'reset-password' if args.reset else 'invite'}", exc, args.lang)
        session.commit()
    say(_("{name}'s invitation code (one-time; it sets their password):", name=args.name), args.lang, error=True)
    print(code)
    print(accounts.invitation_url(settings, code))
    warn_if_links_are_paths(settings, args.lang)
    return 0


def warn_if_links_are_paths(settings, language: str) -> None:
    """An invitation link is only whole when the service knows the address students open."""
    if not settings.api_url:
        say(_("the invitation links are paths (/invite/CODE): set TORCHGRADE_API_URL to the address your students "
              "open (e.g. https://grader.example.edu.cn) for whole links"), language, error=True)


def add_roster(subparsers) -> None:
    parser = subparsers.add_parser("roster", help="a course's class list: import, list, drop, re-enrol, invitations")
    actions = parser.add_subparsers(required=True, metavar="action")
    load = actions.add_parser("import", help="import a CSV (UTF-8, GBK or GB18030; 学号/姓名/班级/邮箱/角色, "
                                             "student_id/name/class/email/role, or a Canvas or Moodle export)")
    load.add_argument("file", type=Path)
    load.add_argument("--course", required=True)
    load.add_argument("--map", action="append", default=[], metavar="HEADER=FIELD",
                      help="read a column as a field (student_id, name, class, email, role), e.g. 学籍号=student_id")
    load.add_argument("--drop-missing", action="store_true", help="drop enrolled students the file leaves out")
    load.add_argument("--invitations", type=Path, metavar="FILE.csv",
                      help="write the new users' invitations there (default: standard output)")
    load.set_defaults(handler=run_roster_import)
    listing = actions.add_parser("list", help="the course's members")
    listing.add_argument("course")
    listing.add_argument("--dropped", action="store_true", help="dropped members too")
    listing.set_defaults(handler=run_roster_list)
    for action, what in (("drop", "drop members (their work is kept)"), ("enrol", "re-enrol dropped members")):
        sub = actions.add_parser(action, help=what)
        sub.add_argument("course")
        sub.add_argument("names", nargs="+", metavar="student_id")
        sub.set_defaults(handler=run_roster_change, action=action)
    invite = actions.add_parser("invitations", help="new invitations (old ones void) as a CSV (UTF-8 with BOM)")
    invite.add_argument("course")
    invite.add_argument("names", nargs="*", metavar="student_id", help="default: every enrolled student")
    invite.add_argument("--output", type=Path, metavar="FILE.csv", help="default: standard output")
    invite.set_defaults(handler=run_roster_invitations)


def run_roster_import(args) -> int:
    from api.services import accounts, administration, roster
    from core.errors import ServiceError

    settings = get_settings()
    mapping = dict(pair.split("=", 1) for pair in args.map if "=" in pair)
    if len(mapping) != len(args.map):
        say(_("--map takes HEADER=FIELD, e.g. 学籍号=student_id"), args.lang, "roster import", error=True)
        return EXIT_USAGE
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        say(_("cannot read {path}: {why}", path=str(args.file), why=str(exc)), args.lang, "roster import", error=True)
        return EXIT_USAGE
    with service_session(settings) as session:
        try:
            report = roster.import_roster(session, settings, None, accounts.course_by_slug(session, args.course),
                                          data, mapping, args.drop_missing)
        except ServiceError as exc:
            return report_error("roster import", exc, args.lang)
        session.commit()
    say(_("read as {encoding}; added {added}, updated {updated}, unchanged {unchanged}, missing {missing}, dropped "
          "{dropped}", encoding=report.encoding, added=len(report.added), updated=len(report.updated),
          unchanged=len(report.unchanged), missing=len(report.missing), dropped=len(report.dropped)),
        args.lang, error=True)
    if report.missing and not args.drop_missing:
        say(_("not in the file (still enrolled; --drop-missing drops them): {names}",
              names=", ".join(report.missing)), args.lang, error=True)
    if report.invitations:
        warn_if_links_are_paths(settings, args.lang)
    return write_csv(administration.invitations_csv(report.invitations), args.invitations, args.lang)


def write_csv(content: bytes, path: Path | None, language: str) -> int:
    if path is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return 0
    path.write_bytes(content)
    say(_("invitations written to {path}", path=str(path)), language, error=True)
    return 0


def run_roster_list(args) -> int:
    from api.services import accounts, administration
    from core import spreadsheet
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            found = administration.members(session, accounts.course_by_slug(session, args.course),
                                           include_dropped=args.dropped)
        except ServiceError as exc:
            return report_error("roster list", exc, args.lang)
        writer = spreadsheet.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["student_id", "name", "class", "email", "role", "dropped_at"])
        for user, membership in found:
            shown = administration.member_shown(user, membership)
            writer.writerow([shown["student_id"], shown["name"], shown["class"], shown["email"], shown["role"],
                             shown["dropped_at"].isoformat() if shown["dropped_at"] else ""])
    return 0


def run_roster_change(args) -> int:
    from api.services import accounts, administration
    from core.errors import ServiceError

    settings = get_settings()
    change = administration.drop if args.action == "drop" else administration.reenrol
    with service_session(settings) as session:
        try:
            course = accounts.course_by_slug(session, args.course)
            for name in args.names:
                change(session, None, course, name)
        except ServiceError as exc:
            return report_error(f"roster {args.action}", exc, args.lang)
        session.commit()
    who = dict(course=args.course, names=", ".join(args.names))
    say(_("dropped from {course}: {names}", **who) if args.action == "drop" else
        _("enrolled in {course}: {names}", **who), args.lang)
    return 0


def run_roster_invitations(args) -> int:
    from api.services import accounts, administration
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            invitations = administration.reissue_invitations(
                session, settings, None, accounts.course_by_slug(session, args.course), args.names or None)
        except ServiceError as exc:
            return report_error("roster invitations", exc, args.lang)
        session.commit()
    warn_if_links_are_paths(settings, args.lang)
    return write_csv(administration.invitations_csv(invitations), args.output, args.lang)


def add_audit(subparsers) -> None:
    from core.audit import ACTIONS

    parser = subparsers.add_parser("audit", help="a course's audit log, newest first")
    parser.add_argument("course")
    parser.add_argument("--action", choices=ACTIONS)
    parser.add_argument("--actor", help="a user's name, or cli:LOGIN")
    parser.add_argument("--target", help="a substring of the assignment, student or submission")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(handler=run_audit)


def run_audit(args) -> int:
    import json

    from api.services import accounts, courses
    from core import audit
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            course = accounts.course_by_slug(session, args.course)
        except ServiceError as exc:
            return report_error("audit", exc, args.lang)
        for entry in audit.entries(session, course.id, action=args.action, actor=args.actor, target=args.target,
                                   limit=args.limit):
            shown = audit.shown(entry, courses.zone_of(course, settings))
            shown["at"] = shown["at"].isoformat()  # in the course's time, as the instructor entered it
            if args.json:
                print(json.dumps(shown, ensure_ascii=False))
            else:
                print(f"{shown['at']}  {entry.actor}  {entry.action}  {entry.target}  "
                      f"{json.dumps(entry.old, ensure_ascii=False)} -> {json.dumps(entry.new, ensure_ascii=False)}")
    return 0


def add_demo(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="create the demo course with an instructor, a TA and a "
                                                "student; print their (new) passwords and tokens")
    parser.set_defaults(handler=run_demo)


def run_demo(args) -> int:
    from sqlalchemy import select

    from api.services import accounts
    from core.catalog import ManifestCatalog
    from core.models import Course

    settings = get_settings()
    tokens, passwords = {}, {}
    with service_session(settings) as session:
        if session.scalar(select(Course).where(Course.slug == DEMO_COURSE)) is None:
            accounts.create_course(session, ManifestCatalog(settings.reference_dir), DEMO_COURSE, "Demo course",
                                   language="zh", time_zone="Asia/Shanghai")
        for name, role in DEMO_USERS:
            enrolment = accounts.add_user(session, settings.secret_key, name, role, DEMO_COURSE)
            tokens[name] = enrolment.token or accounts.reissue_token(session, settings.secret_key, name)
            passwords[name] = secrets.token_urlsafe(9)
            accounts.set_password(session, accounts.user_by_name(session, name), passwords[name])
        session.commit()
    url = f"http://{settings.api_host}:{settings.api_port}"   # where `torchgrade serve` listens, as configured
    say(_("demo course {course!r} is ready. Log in at {url} (new passwords each run):", course=DEMO_COURSE,
          url=f"{url}/"), args.lang)
    for name, password in passwords.items():
        print(f"  {name} / {password}")
    say(_("Tokens for the API and `torchgrade submit` (new ones each run):"), args.lang)
    for name, token in tokens.items():
        print(f"  export {name.upper()}={token}")
    say(_("then, once `torchgrade serve` is up:"), args.lang)
    print('  curl -H "Authorization: Bearer $STUDENT" -F file=@reference/w1-normal-modes/selftest/good_torch_normal.py '
          f"{url}/api/v1/assignments/w1-normal-modes/submissions")
    return 0


def add_gradebook(subparsers) -> None:
    parser = subparsers.add_parser("gradebook", help="a course's gradebook")
    actions = parser.add_subparsers(required=True, metavar="action")
    export = actions.add_parser("export", help="write the gradebook as CSV (UTF-8 with BOM) for a spreadsheet or "
                                               "an LMS's grade import")
    export.add_argument("--course", required=True)
    export.add_argument("--format", dest="export_format", choices=["plain", "canvas", "moodle"], default="plain")
    export.add_argument("--policy", choices=["best", "latest"], default="best", help="which submission counts")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    export.set_defaults(handler=run_gradebook_export)


def run_gradebook_export(args) -> int:
    from api.services import accounts, gradebook
    from core.catalog import ManifestCatalog
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            book = gradebook.gradebook(session, settings, ManifestCatalog(settings.reference_dir),
                                       accounts.course_by_slug(session, args.course), args.policy)
        except ServiceError as exc:
            return report_error("gradebook export", exc, args.lang)
    text = gradebook.gradebook_csv(book, args.export_format)
    if args.output is None:
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.flush()
    else:
        args.output.write_bytes(text.encode("utf-8"))
    return 0


def add_lti(subparsers) -> None:
    parser = subparsers.add_parser("lti", help="LTI 1.3: register an LMS platform, show this tool's keys and settings")
    actions = parser.add_subparsers(required=True, metavar="action")
    register = actions.add_parser("register", help="register (or update) an LMS platform for a course")
    register.add_argument("--course", required=True)
    register.add_argument("--issuer", required=True,
                          help="the platform's issuer (iss), e.g. https://canvas.instructure.com")
    register.add_argument("--client-id", required=True, help="the client id the platform gave this tool")
    register.add_argument("--deployment-id", action="append", required=True, help="repeat for several")
    register.add_argument("--auth-login-url", required=True, help="the platform's OIDC authorization endpoint")
    register.add_argument("--auth-token-url", required=True, help="the platform's OAuth 2 token endpoint")
    register.add_argument("--key-set-url", required=True, help="the platform's JWKS URL")
    register.add_argument("--auth-audience", default=None, help="aud of token requests (default: the token URL)")
    register.add_argument("--student-id-claim", default="lis.person_sourcedid",
                          help="the launch claim carrying the student ID: lis.person_sourcedid, custom.<name>, "
                               "email, sub (default lis.person_sourcedid)")
    register.add_argument("--base-url", default=None, help="where this service is reached (default: "
                                                             "TORCHGRADE_API_URL, else http://127.0.0.1:8000)")
    register.set_defaults(handler=run_lti_register)
    keys = actions.add_parser("jwks", help="print this tool's public keys (JWKS)")
    keys.set_defaults(handler=run_lti_jwks)
    config = actions.add_parser("config", help="print the URLs to enter in the LMS")
    config.add_argument("--base-url", default=None, help="where this service is reached (default: "
                                                         "TORCHGRADE_API_URL, else http://127.0.0.1:8000)")
    config.set_defaults(handler=run_lti_config)
    passback = actions.add_parser("passback", help="send the grades of an assignment's LMS students again")
    passback.add_argument("--course", required=True)
    passback.add_argument("--assignment", required=True)
    passback.set_defaults(handler=run_lti_passback)


def run_lti_register(args) -> int:
    from api.services import lti
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            lti.register(session, args.course, args.issuer, args.client_id, args.deployment_id, args.auth_login_url,
                         args.auth_token_url, args.key_set_url, args.auth_audience, args.student_id_claim)
        except ServiceError as exc:
            return report_error("lti register", exc, args.lang)
        session.commit()
    say(_("{issuer} ({client_id}) is registered for {course}; enter these in the LMS:", issuer=args.issuer,
          client_id=args.client_id, course=args.course), args.lang, error=True)
    return run_lti_config(args)


def run_lti_config(args) -> int:
    import json

    from api.services import lti

    base_url = args.base_url or get_settings().api_url or "http://127.0.0.1:8000"
    print(json.dumps(lti.tool_config(base_url), indent=2, ensure_ascii=False))
    return 0


def run_lti_jwks(args) -> int:
    import json

    from api.services import lti

    with service_session(get_settings()) as session:
        print(json.dumps(lti.jwks(session), indent=2))
    return 0


def run_lti_passback(args) -> int:
    import requests
    from pylti1p3.exception import LtiException

    from api.services import accounts, courses, lti
    from core.catalog import ManifestCatalog
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            offered = courses.course_assignment(session, accounts.course_by_slug(session, args.course),
                                                args.assignment)
        except ServiceError as exc:
            return report_error("lti passback", exc, args.lang)
        catalog = ManifestCatalog(settings.reference_dir)
        try:
            sent = sum(lti.passback(session, settings, catalog, user_id, offered.id)
                       for user_id in lti.linked_students(session, offered.id))
        except (requests.RequestException, LtiException) as exc:
            say(_("the LMS did not take the scores: {why}", why=str(exc)), args.lang, "lti passback", error=True)
            return 1
    say(_("{count} score(s) sent to the LMS", count=sent), args.lang)
    return 0


# ---------------------------------------------------------------------- serve
LOCK_FILE = "serve.lock"
EXIT_WORKER_DIED = 1
WORKER_STOP_TIMEOUT_S = 20


def add_serve(subparsers) -> None:
    from core.readiness import STARTUP_WAIT_S

    parser = subparsers.add_parser("serve", help="run the API with an embedded grading worker")
    parser.add_argument("--host", default=None, help="default TORCHGRADE_API_HOST (127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="default TORCHGRADE_API_PORT (8000)")
    parser.add_argument("--queues", default="cpu", help="queues of the embedded worker (default cpu)")
    parser.add_argument("--no-worker", action="store_true", help="the API only (workers run elsewhere)")
    parser.add_argument("--wait-for-services", type=float, default=STARTUP_WAIT_S, metavar="SECONDS",
                        help="how long to wait for an unreachable database or broker before refusing to start "
                             f"(default {STARTUP_WAIT_S:g})")
    parser.set_defaults(handler=run_serve)


def run_serve(args) -> int:
    """The API, and unless ``--no-worker`` a worker that lives and dies with it: started only
    once the data directory, database and broker are usable and no other ``serve`` holds the
    data directory; stopped warm on SIGINT, SIGTERM and SIGHUP; SIGKILLed by the kernel if this
    process dies first (its parent-death signal).  If the worker exits, so does the server:
    nothing would grade what it accepts."""
    import uvicorn

    from api.app import create_app
    from core import logs, readiness

    settings = get_settings()
    if readiness.refuse_to_start("serve", settings, args.wait_for_services, args.lang):
        return EXIT_USAGE
    lock = hold_data_dir(settings.data_dir, args.lang)
    if lock is None:
        return EXIT_USAGE
    logs.configure(settings.log_format)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host or settings.api_host,
                                           port=args.port or settings.api_port, log_level="info",
                                           log_config=logs.uvicorn_config(settings.log_format)))
    hangups: list[int] = []

    def on_hangup(signum, frame) -> None:
        # The terminal closed: a graceful stop, as uvicorn does for SIGINT and SIGTERM.
        hangups.append(signum)
        server.should_exit = True

    # uvicorn re-raises SIGTERM after its graceful shutdown: make it an exit that runs `finally`.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, on_hangup)
    worker, running, died = None, threading.Event(), threading.Event()
    if not args.no_worker:
        worker = subprocess.Popen(
            [sys.executable, "-m", "torchgrade.cli", "worker", "--queues", args.queues, "--loglevel", "warning",
             "--parent-pid", str(os.getpid()), "--wait-for-services", "0"],
            start_new_session=True, pass_fds=[lock])  # the worker holds the data directory's lock too
        running.set()
        app.state.embedded_worker = running.is_set
        threading.Thread(target=_watch_worker, args=(worker, running, died, server, args.lang), daemon=True,
                         name="embedded-worker").start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        running.clear()  # from here on the worker's exit is expected
        if worker is not None:
            _stop(worker)
        os.close(lock)
    if died.is_set():
        return EXIT_WORKER_DIED
    return 128 + hangups[0] if hangups else 0


def hold_data_dir(data_dir: Path, language: str = DEFAULT_LANGUAGE) -> int | None:
    """Lock ``data_dir`` for this process's life (and its embedded worker's): a descriptor, or
    None, with the reason printed, when another ``serve`` (or what is left of one) holds it."""
    import fcntl

    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        say(_("another torchgrade serve (pid {pid}) or its worker is using the data directory {path}; stop it first, "
              "or give this one its own TORCHGRADE_DATA_DIR", pid=holder, path=str(data_dir)), language, "serve",
            error=True)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _watch_worker(worker: subprocess.Popen, running: threading.Event, died: threading.Event, server,
                  language: str = DEFAULT_LANGUAGE) -> None:
    status = worker.wait()
    if running.is_set():
        running.clear()
        died.set()
        say(_("the embedded worker exited (status {status}); the server stops, since nothing would grade the "
              "submissions it accepts", status=status), language, "serve", error=True)
        server.should_exit = True


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _stop(worker: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=WORKER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


# ---------------------------------------------------------------------- students
RESULT_FIELDS = ("status", "max_score", "pending_max_score", "message", "notes", "tests", "output", "timings",
                 "environment")

def add_submit(subparsers) -> None:
    from torchgrade_client.cli import add_arguments

    parser = subparsers.add_parser("submit", help="submit a file to a torchgrade server and show the result "
                                   "(students: the torchgrade-client package has it without torch)")
    add_arguments(parser).set_defaults(handler=run_submit)


def run_submit(args) -> int:
    """The student client's ``submit_and_follow`` (client/torchgrade_client), the result shown
    as ``torchgrade grade`` shows one."""
    from torchgrade_client.submit import submit_and_follow

    if not args.token:
        say(_("give your token with --token or TORCHGRADE_TOKEN"), args.lang, "submit", error=True)
        return EXIT_USAGE
    return submit_and_follow(args.server, args.token, args.assignment, args.file, args.course, args.json, args.lang,
                             show=show_result)


def show_result(shown: dict, language: str) -> None:
    from rich.console import Console

    from grader.report import render as report
    from grader.results import GradeResult

    console = Console()
    fields = {k: shown[k] for k in RESULT_FIELDS if k in shown}
    report(GradeResult(assignment=shown["assignment"], submission=shown["filename"], score=shown["score"] or 0.0,
                       **fields), console, language)
    if shown.get("days_late"):
        console.print(render(_("{days} day(s) late: {penalty:.0%} off, {points:g} points count",
                                       days=shown["days_late"], penalty=shown["late_penalty"],
                                       points=shown["adjusted_score"]), language))


SUBCOMMANDS = [add_migrate, add_backup, add_restore, add_serve, add_course, add_user, add_roster, add_audit, add_demo,
               add_gradebook, add_lti, add_submit]
