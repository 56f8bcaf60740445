"""The rules on plain values: rights per role, the deadline with extensions, attempt limits, the
one offering a user works on."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from core import rules
from core.errors import BadRequest, Forbidden, NotFound, TooManyAttempts
from core.models import Role
from core.rules import Attempts, Deadline, Right

DUE = dt.datetime(2030, 3, 1, 16, 0, tzinfo=dt.timezone.utc)
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


# ---------------------------------------------------------------------- rights
def test_every_role_has_a_row_in_the_table():
    assert set(rules.RIGHTS) == set(Role)


@pytest.mark.parametrize(("is_admin", "role", "member", "administers", "exempt", "sees_all"), [
    (False, None, False, False, False, False),
    (False, Role.student, True, False, False, False),
    (False, "student", True, False, False, False),          # a raw column of the submit path's query
    (False, Role.instructor, True, True, True, True),
    (False, "instructor", True, True, True, True),
    (False, Role.ta, True, False, True, True),              # staff for reading, not an instructor
    (True, None, True, True, True, True),                   # an admin, member or not
    (True, Role.student, True, True, True, True),
])
def test_rights_by_role_and_admin(is_admin, role, member, administers, exempt, sees_all):
    assert rules.may_see_course(is_admin, role) is member
    assert rules.may_administer(is_admin, role) is administers
    assert rules.exempt(is_admin, role) is exempt
    assert rules.sees_all(is_admin, role) is sees_all


def test_a_ta_grades_and_holds_the_instructors_rights_only_as_granted():
    plain = rules.rights(False, Role.ta)
    assert {Right.see_all, Right.grade, Right.exempt} <= plain and not plain & (rules.GRANTABLE | {Right.administer})
    granted = rules.rights(False, "ta", ["extensions", "administer", "nonsense"])   # only grantable ones count
    assert granted == plain | {Right.extensions}
    assert rules.rights(False, Role.student, ["policy"]) == rules.RIGHTS[Role.student]   # grants are the TAs'
    assert rules.rights(False, Role.instructor) >= rules.GRANTABLE | {Right.administer}


def test_a_refusal_says_which_right_is_missing_and_tells_a_ta_to_ask():
    ta = rules.rights(False, Role.ta)
    for right, words in ((Right.policy, "deadlines"), (Right.extensions, "extensions"), (Right.release, "release")):
        with pytest.raises(Forbidden) as refused:
            rules.require(ta, right, "c")
        assert refused.value.code == "ta_not_allowed" and words in str(refused.value.message)
        assert "allow TAs" in str(refused.value.message)
    with pytest.raises(Forbidden) as refused:
        rules.require(ta, Right.administer, "c")
    assert refused.value.code == "not_instructor"
    with pytest.raises(Forbidden) as refused:
        rules.require(rules.rights(False, Role.student), Right.see_all, "c")
    assert refused.value.code == "not_instructor" and "TAs" in str(refused.value.message)
    rules.require(ta, {Right.see_all, Right.grade}, "c")


def test_a_change_of_policy_needs_the_right_of_each_field():
    assert rules.policy_rights(["due_at", "late_days"]) == {Right.policy}
    assert rules.policy_rights(["results_released"]) == {Right.release}
    assert rules.policy_rights([]) == {Right.policy}          # a change of nothing is no loophole
    with pytest.raises(BadRequest):
        rules.checked_grants(["administer"])
    assert rules.checked_grants(["release", "policy", "release"]) == ["policy", "release"]


def test_a_submission_is_seen_by_its_student_and_the_staff_only():
    assert rules.may_see_submission(False, Role.student, own=True)
    assert not rules.may_see_submission(False, Role.student, own=False)
    assert not rules.may_see_submission(False, None, own=False)
    assert rules.may_see_submission(False, Role.instructor, own=False)
    assert rules.may_see_submission(True, None, own=False)


def test_the_gradebook_lists_students_only():
    assert rules.roles_with(Right.graded) == [Role.student]


def test_an_unknown_role_is_an_error_not_a_right():
    with pytest.raises(ValueError):
        rules.rights(False, "janitor")


# ---------------------------------------------------------------------- the deadline
def test_no_extension_keeps_the_assignments_due_date():
    assert Deadline.of(DUE, 2, 0.1).due_at == DUE
    assert Deadline.of(DUE, 2, 0.1, None).closes_at == DUE + 2 * DAY


def test_an_extension_extends():
    deadline = Deadline.of(DUE, 2, 0.1, DUE + 3 * DAY)
    assert deadline.due_at == DUE + 3 * DAY and deadline.closes_at == DUE + 5 * DAY
    assert deadline.days_late(DUE + 3 * DAY) == 0 and deadline.accepts(DUE + 5 * DAY)


def test_an_extension_never_shortens():
    """An extension granted before the due date was moved later does not pull it back."""
    deadline = Deadline.of(DUE, 0, 0.5, DUE - 2 * DAY)
    assert deadline.due_at == DUE
    assert deadline.penalty(DUE - DAY) == 0 and deadline.accepts(DUE)


def test_no_due_date_no_deadline_for_anybody_extension_or_not():
    """The cleared due date: nothing refused, nothing late (the submit path and the gradebook
    used to disagree here)."""
    for extended_to in (None, DUE, DUE - 30 * DAY):
        deadline = Deadline.of(None, 2, 0.5, extended_to)
        assert deadline.due_at is None and deadline.closes_at is None
        later = DUE + 100 * DAY
        assert deadline.accepts(later) and deadline.days_late(later) == 0 and deadline.penalty(later) == 0
        assert not deadline.passed(later)
        deadline.check("w0", later, SHANGHAI)


def test_each_started_day_late_costs_the_penalty_up_to_everything():
    deadline = Deadline.of(DUE, 10, 0.25)
    assert [deadline.days_late(DUE + t) for t in (0 * HOUR, HOUR, DAY, DAY + HOUR, 3 * DAY + HOUR)] == [0, 1, 1, 2, 4]
    assert deadline.penalty(DUE + HOUR) == 0.25
    assert deadline.penalty(DUE + 3 * DAY + HOUR) == 1.0
    assert deadline.penalty(DUE + 9 * DAY) == 1.0


def test_accepted_until_the_late_days_run_out():
    deadline = Deadline.of(DUE, 2, 0.1)
    assert deadline.accepts(DUE + 2 * DAY)
    assert not deadline.accepts(DUE + 2 * DAY + dt.timedelta(seconds=1))
    with pytest.raises(Forbidden) as refused:
        deadline.check("w0-service", DUE + 3 * DAY, SHANGHAI)
    assert refused.value.code == "deadline_passed"
    assert "closed at 2030-03-04 00:00 (Asia/Shanghai)" in str(refused.value.message), "16:00 UTC is midnight there"


def test_a_late_day_is_a_day_of_the_course_calendar():
    due = dt.datetime(2026, 3, 15, 23, 59, tzinfo=SHANGHAI)
    deadline = Deadline.of(due, 1, 0.1, zone=SHANGHAI)
    assert deadline.days_late(dt.datetime(2026, 3, 16, 0, 30, tzinfo=SHANGHAI)) == 1
    assert deadline.days_late(dt.datetime(2026, 3, 16, 23, 59, tzinfo=SHANGHAI)) == 1
    assert deadline.days_late(dt.datetime(2026, 3, 17, 0, 0, tzinfo=SHANGHAI)) == 2
    assert deadline.closes_at == dt.datetime(2026, 3, 16, 23, 59, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("due", "days", "closes", "hours"), [
    ((2026, 3, 7, 23, 59), 1, (2026, 3, 8, 23, 59), 23),    # spring forward: a 23-hour day
    ((2026, 10, 31, 23, 59), 1, (2026, 11, 1, 23, 59), 25),  # fall back: a 25-hour day
    ((2026, 3, 7, 23, 59), 3, (2026, 3, 10, 23, 59), 71),
])
def test_late_days_across_daylight_saving_keep_the_wall_clock(due, days, closes, hours):
    zone = ZoneInfo("America/New_York")
    deadline = Deadline.of(dt.datetime(*due, tzinfo=zone), days, 0.1, zone=zone)
    assert deadline.closes_at == dt.datetime(*closes, tzinfo=zone)
    assert deadline.closes_at - deadline.due_at == dt.timedelta(hours=hours)
    assert deadline.days_late(deadline.closes_at) == days
    assert deadline.days_late(deadline.closes_at + dt.timedelta(seconds=1)) == days + 1


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "UTC"]),
       due_minutes=st.integers(0, 366 * 24 * 60), late_days=st.integers(0, 6),
       after_minutes=st.integers(-3 * 24 * 60, 20 * 24 * 60))
def test_days_late_is_the_first_late_day_whose_end_is_not_passed(zone, due_minutes, late_days, after_minutes):
    """Whatever the zone (daylight saving included: Lord Howe moves half an hour), however long
    after the late days: the count of started course days, as its definition says."""
    due = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=due_minutes)
    deadline = Deadline.of(due, late_days, 0.1, zone=ZoneInfo(zone))
    when = due + dt.timedelta(minutes=after_minutes)
    expected = 0 if when <= due else next(day for day in range(1, 100) if when <= deadline.days_after(day))
    assert deadline.days_late(when) == expected
    assert deadline.late(when) == (expected, min(1.0, expected * 0.1))


def test_nobody_is_late_before_the_assignments_own_due_date():
    for extended_to, exempt in [(None, False), (DUE + DAY, False), (DUE - DAY, False), (None, True)]:
        deadline = Deadline.of(DUE, 2, 0.5, extended_to, exempt=exempt)
        assert deadline.days_late(rules.late_for_nobody_until(DUE)) == 0
    assert rules.late_for_nobody_until(None) > DUE + 100_000 * DAY


def test_passed_is_after_the_students_due_date():
    deadline = Deadline.of(DUE, 2, 0.1, DUE + DAY)
    assert not deadline.passed(DUE + HOUR) and deadline.passed(DUE + DAY + HOUR)


# ---------------------------------------------------------------------- attempts
NOW = DUE - 10 * DAY


def test_the_phase_a_submission_made_now_falls_in():
    deadline = Deadline.of(DUE, late_days=2, penalty_per_day=0.1)
    assert [deadline.phase(DUE + offset) for offset in (-HOUR, dt.timedelta(0), HOUR, 2 * DAY, 2 * DAY + HOUR)] == \
        [rules.Phase.open, rules.Phase.open, rules.Phase.late, rules.Phase.late, rules.Phase.closed]
    assert Deadline.of(None, 2, 0.1).phase(DUE) == rules.Phase.no_deadline
    assert Deadline.of(DUE, 0, 0.1, exempt=True).phase(DUE + 9 * DAY) == rules.Phase.no_deadline


@pytest.mark.parametrize(("per_day", "total", "used", "today", "left"), [
    (None, None, 50, 10, None), (None, 5, 3, 3, 2), (3, None, 9, 1, 2), (3, 5, 4, 0, 1), (3, 5, 7, 3, 0)])
def test_attempts_left(per_day, total, used, today, left):
    assert Attempts(per_day, total).remaining(used, today) == left


def test_unlimited_attempts():
    assert not Attempts(None, None).limited
    Attempts(None, None).check("w0", NOW, 1000, 1000, NOW - HOUR)


def test_total_attempts():
    limit = Attempts(None, 3)
    assert limit.limited
    limit.check("w0", NOW, 2, 2, NOW - HOUR)
    with pytest.raises(TooManyAttempts, match="all 3 attempts"):
        limit.check("w0", NOW, 3, 0, None)


def test_daily_attempts_say_when_the_next_one_is_possible():
    limit = Attempts(2, None)
    limit.check("w0", NOW, 10, 1, NOW - HOUR)
    with pytest.raises(TooManyAttempts) as refused:
        limit.check("w0", NOW, 10, 2, NOW - 20 * HOUR)
    assert refused.value.headers["Retry-After"] == str(4 * 3600 + 1)


# ---------------------------------------------------------------------- which offering
def test_one_offering_or_why_not():
    slug = str.upper
    assert rules.one_offering(["a"], slug, "w0", None) == "a"
    with pytest.raises(NotFound) as none:
        rules.one_offering([], slug, "w0", "c1")
    assert none.value.code == "assignment_not_found" and "in c1" in str(none.value.message)
    with pytest.raises(BadRequest) as several:
        rules.one_offering(["b", "a"], slug, "w0", None)
    assert several.value.code == "course_ambiguous" and "(A, B)" in str(several.value.message)


# ---------------------------------------------------------------------- enrolment and offering
def test_a_dropped_membership_grants_nothing():
    assert rules.enrolled_role(Role.student, None) == Role.student
    assert rules.enrolled_role(Role.student, DUE) is None
    assert rules.enrolled_role(Role.instructor, DUE) is None
    assert not rules.may_see_course(False, rules.enrolled_role("student", DUE))


@pytest.mark.parametrize(("is_admin", "role", "sees_offered", "sees_withdrawn"), [
    (False, None, False, False),
    (False, Role.student, True, False),
    (False, Role.instructor, True, True),
    (True, None, True, True),
])
def test_a_withdrawn_assignment_is_hidden_from_students_only(is_admin, role, sees_offered, sees_withdrawn):
    assert rules.may_see_offering(is_admin, role, None) is sees_offered
    assert rules.may_see_offering(is_admin, role, DUE) is sees_withdrawn


def test_a_withdrawn_assignment_takes_no_submission():
    rules.check_offered("w1-hello", "pytorch-2026", None)
    with pytest.raises(Forbidden) as refused:
        rules.check_offered("w1-hello", "pytorch-2026", DUE)
    assert refused.value.code == "assignment_withdrawn"
    assert refused.value.message.render("zh") == "w1-hello 已从 pytorch-2026 撤回，不再接受新的提交"
