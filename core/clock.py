"""Course time: each course has a time zone (Asia/Shanghai for this course); deadlines are
entered and shown in it and stored in UTC.  A naive time an instructor enters ("2026-03-15
23:59") means course time."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Shanghai"
UTC = ZoneInfo("UTC")


@lru_cache(maxsize=64)
def zone(name: str | None, default: str) -> ZoneInfo:
    """The zone of that name (a course's), else the default (the service's,
    TORCHGRADE_DEFAULT_TIME_ZONE: no path may count a course's days in another zone than it is
    shown in, so there is no fallback here)."""
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def known(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def stored(moment: dt.datetime, course_zone: ZoneInfo) -> dt.datetime:
    """What the database keeps: UTC; a naive moment is read as course time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=course_zone)
    return moment.astimezone(dt.timezone.utc)


def shown(moment: dt.datetime | None, course_zone: ZoneInfo) -> dt.datetime | None:
    """A stored moment as the course sees it (with its offset, e.g. +08:00)."""
    return None if moment is None else moment.astimezone(course_zone)


def days_later(moment: dt.datetime, days: int, course_zone: ZoneInfo) -> dt.datetime:
    """The same wall-clock time ``days`` calendar days later in course time (in UTC): across a
    daylight-saving change that is 23 or 25 hours a day, not 24."""
    return (moment.astimezone(course_zone) + dt.timedelta(days=days)).astimezone(dt.timezone.utc)


def said(moment: dt.datetime, course_zone: ZoneInfo) -> str:
    """A moment in a sentence: ``2026-03-15 23:59 (Asia/Shanghai)``."""
    return f"{moment.astimezone(course_zone):%Y-%m-%d %H:%M} ({course_zone.key})"
