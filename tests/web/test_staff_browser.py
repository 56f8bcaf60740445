"""An instructor in a real browser (headless chromium) against a real stack: scores a written
answer with the keyboard, changes a deadline, grants an extension and exports the gradebook
(the changes then read in the audit log);
a TA sees no policy control.  Every staff page passes axe-core and is photographed in Chinese
and English (build/screenshots/staff-*)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.web.conftest import axe_check, console_errors, log_in, screenshot
from tests.workers.stack import ANSWER

pytestmark = pytest.mark.timeout(600)


def wait(browser, condition, seconds: float = 30):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # htmx swaps the part of the page being read: an element found just before a swap is stale, so
    # the condition is asked again (as for one not there yet), until the time is up.
    return WebDriverWait(browser, seconds, poll_frequency=0.2,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(condition)


def find(browser, selector: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector)


def graded_submissions(stack, people: dict) -> list[int]:
    """Each student submits w0-service (with a written answer) through the API; the real worker grades it."""
    ids = []
    for student in people["students"]:
        response = httpx.post(f"{stack.url}/api/v1/assignments/w0-service/submissions",
                              headers={"Authorization": f"Bearer {people['tokens'][student]}"},
                              files={"file": ("hw.py", ANSWER)})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    deadline = time.monotonic() + 240
    teacher = {"Authorization": f"Bearer {people['tokens']['instructor']}"}
    while time.monotonic() < deadline:
        statuses = [httpx.get(f"{stack.url}/api/v1/submissions/{i}", headers=teacher).json()["status"] for i in ids]
        if all(status == "graded" for status in statuses):
            return ids
        time.sleep(0.5)
    raise AssertionError(f"not graded in time: {statuses}")


def set_value(browser, selector: str, value: str) -> None:
    """A datetime-local input's value, as the browser's own picker would set it."""
    browser.execute_script("arguments[0].value = arguments[1]", find(browser, selector), value)


def visit(browser, url: str, name: str) -> None:
    """The page in both languages: axe-core clean, no console error (CSP), photographed."""
    for language in ("zh", "en"):
        browser.get(f"{url}{'&' if '?' in url else '?'}lang={language}")
        axe_check(browser, f"{name} ({language})")
        errors = [e for e in console_errors(browser) if "favicon.ico" not in e]
        assert not errors, errors
        screenshot(browser, f"staff-{name}", language)


def test_an_instructor_scores_changes_a_deadline_grants_an_extension_and_exports(stack, fresh_browser):
    browser, people = fresh_browser, stack.course(students=2)
    course, (alice, bob) = people["course"], people["students"]
    graded_submissions(stack, people)
    log_in(browser, stack.url, people["instructor"])
    base = f"{stack.url}/staff/{course}"

    browser.get(f"{base}/written?lang=en")
    assert "Answer 1 of 2" in find(browser, "main").text and alice in find(browser, "#answer-heading").text
    find(browser, "body").send_keys("4")   # the number key scores and saves (htmx)
    wait(browser, lambda b: "Saved: 4 points." in find(b, "#answer [role=status]").text)
    teacher = {"Authorization": f"Bearer {people['tokens']['instructor']}"}
    pending = httpx.get(f"{stack.url}/api/v1/courses/{course}/written", headers=teacher).json()
    assert [entry["student"] for entry in pending] == [bob]
    find(browser, "body").send_keys("j")
    wait(browser, lambda b: "at=1" in b.current_url and bob in find(b, "#answer-heading").text)

    browser.get(f"{base}/assignments/w0-service?lang=en")
    set_value(browser, "#due_at", "2031-03-15T23:59")
    find(browser, "#late_days").clear()
    find(browser, "#late_days").send_keys("2")
    find(browser, "#policy form button[type=submit]").click()
    wait(browser, lambda b: "The policy is saved." in find(b, "main").text)
    policy = httpx.get(f"{stack.url}/api/v1/courses/{course}/assignments/w0-service/policy", headers=teacher).json()
    assert (policy["due_at"], policy["late_days"]) == ("2031-03-15T23:59:00+08:00", 2)  # course time

    find(browser, "#ext-student").send_keys(bob)
    set_value(browser, "#ext-due", "2031-03-20T12:00")
    find(browser, "#extension form.stack button[type=submit]").click()
    wait(browser, lambda b: "The extension is granted." in find(b, "main").text)
    assert bob in find(browser, "#extension table").text and "2031-03-20 12:00" in find(browser, "#extension").text

    browser.get(f"{base}/gradebook?lang=en")
    href = find(browser, "a[download]").get_attribute("href")
    csv_text = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done, e => done(String(e)));", href)
    lines = csv_text.splitlines()
    assert lines[0].startswith("student,display_name,") and {alice, bob} <= {line.split(",")[0] for line in lines}
    alice_row = next(line for line in lines if line.startswith(alice + ","))
    assert ",10," in alice_row + ","  # 6 auto points (GOOD answer) + the 4 given above

    browser.get(f"{base}/audit?lang=en")
    log = find(browser, "main").text
    assert "written_score" in log and "policy" in log and "extension" in log

    for name, url in (("overview", base), ("gradebook", f"{base}/gradebook"),
                      ("assignment", f"{base}/assignments/w0-service"), ("student", f"{base}/students/{alice}"),
                      ("written", f"{base}/written?show=all"), ("roster", f"{base}/roster"),
                      ("audit", f"{base}/audit")):
        visit(browser, url, name)


def test_a_ta_sees_no_policy_control(stack, fresh_browser):
    from api.services import accounts
    from core.db import session_factory
    from tests.web.conftest import set_passwords

    browser, people = fresh_browser, stack.course(students=1)
    ta = f"{people['course']}-ta"
    with session_factory(stack.settings.database_url)() as session:
        accounts.add_user(session, stack.settings.secret_key, ta, "ta", people["course"])
        session.commit()
    set_passwords(stack.settings, [ta])
    log_in(browser, stack.url, ta)
    url = f"{stack.url}/staff/{people['course']}/assignments/w0-service"
    browser.get(f"{url}?lang=en")
    page = find(browser, "main")
    assert "or TAs they allow to" in page.text and not page.find_elements("css selector", "#late_days, #ext-due")
    assert page.find_elements("css selector", "#regrade button[type=submit]")  # a TA regrades
    axe_check(browser, "assignment (TA)")
    screenshot(browser, "staff-assignment-ta", "en")
