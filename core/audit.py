"""The audit log: every change of a course's policies, releases, written scores, regrades,
enrolments, roles, offerings and password resets, with who made it, when, and the values before and after.

``record`` is called by the service function that makes the change, before that function's
commit, so that the change and its entry are stored together or not at all.  An actor is a user
(API, web) or, at the command line, the operator's login name (``cli:NAME``).
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import utcnow
from core.models import AuditEntry, User

Actor = User | str | None   # None: the operator at the command line
ACTIONS = ("policy", "release", "extension", "written_score", "regrade", "enrolment", "role", "permissions", "offer",
           "withdraw", "password_reset")


def operator() -> str:
    """The command line's actor."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def plain(value: Any) -> Any:
    """A value as JSON holds it (dates in ISO 8601, UTC)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: plain(each) for key, each in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(each) for each in value]
    return value.value if hasattr(value, "value") else value


def record(session: Session, course_id: int, actor: Actor, action: str, target: str = "",
           old: dict | None = None, new: dict | None = None) -> AuditEntry:
    """Add an entry to the session (the caller's commit stores it with the change)."""
    assert action in ACTIONS, action
    entry = AuditEntry(course_id=course_id, actor_id=actor.id if isinstance(actor, User) else None,
                       actor=actor.name if isinstance(actor, User) else (actor or operator())[:64],
                       action=action, target=target[:200], old=plain(old), new=plain(new), at=utcnow())
    session.add(entry)
    return entry


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields whose value changed, before and after."""
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def entries(session: Session, course_id: int, *, action: str | None = None, actor: str | None = None,
            target: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
            limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    """The course's entries, newest first, filtered by action, actor name, target (a substring)
    and time."""
    query = (select(AuditEntry).where(AuditEntry.course_id == course_id)
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset))
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if target:
        query = query.where(AuditEntry.target.contains(target, autoescape=True))
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return list(session.scalars(query))


def shown(entry: AuditEntry, zone: ZoneInfo) -> dict:
    """An entry as the instructor reads it: when, in the course's time (as they entered it)."""
    return {"id": entry.id, "at": clock.shown(entry.at, zone), "actor": entry.actor, "action": entry.action,
            "target": entry.target, "old": entry.old, "new": entry.new}
