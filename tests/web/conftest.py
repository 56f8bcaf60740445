"""The web's tests: pages in process (TestClient, SQLite and PostgreSQL) and in a real browser
(Debian's chromium through its chromedriver, headless, Selenium) against a real stack: uvicorn
serving ``api.app``, a Celery worker, a private PostgreSQL schema and Redis prefix.

Shared by every page family's tests (the student's, the staff's): ``stack`` (one per session),
``browser``, ``people`` (a course with a password for each member), ``log_in``, ``axe_check``
(axe-core from web/node_modules: no serious or critical violation) and ``screenshot`` (into
``build/screenshots/``, which the README names).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import accounts
from core.catalog import ManifestCatalog
from core.db import session_factory
from tests.api.conftest import RecordingQueue
from tests.workers.stack import (REPOSITORY, migrated, postgres_schema, redis_broker, reference_dir, seed_course,
                                 service_settings, start_api, start_worker)

SLOT = int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + 500
SCREENSHOTS = REPOSITORY / "build" / "screenshots"
AXE = REPOSITORY / "web" / "node_modules" / "axe-core" / "axe.min.js"
VENDOR = REPOSITORY / "web" / "static" / "vendor"
PASSWORD = "correct horse battery staple"
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}", "\u202eexe.py\u200b",
           "长" * 300]


def browser_unavailable(what: str) -> None:
    """A missing browser (or front-end files) fails under CI and is skipped elsewhere (make test installs them)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI runs scripts/ensure-browser and make setup first)")
    pytest.skip(f"{what}; run scripts/ensure-browser and make setup")


def set_passwords(settings, names: list[str]) -> None:
    with session_factory(settings.database_url)() as session:
        for name in names:
            accounts.set_password(session, accounts.user_by_name(session, name), PASSWORD)
        session.commit()


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# ---------------------------------------------------------------------- in process
@pytest.fixture(scope="session")
def web_references(tmp_path_factory):
    return reference_dir(tmp_path_factory.mktemp("web-references"))


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def web_settings(request, tmp_path_factory, web_references):
    data_dir = tmp_path_factory.mktemp(f"web-{request.param}")
    if request.param == "sqlite":
        yield migrated(service_settings(data_dir, web_references, slot=SLOT, default_language="zh"))
        return
    with postgres_schema() as url:
        yield migrated(service_settings(data_dir, web_references, slot=SLOT, database_url=url, default_language="zh"))


@pytest.fixture(scope="session")
def web_app(web_settings):
    queue = RecordingQueue()
    with TestClient(create_app(web_settings, enqueuer=queue), follow_redirects=False) as client:
        client.queue = queue
        yield client


@pytest.fixture
def pages(web_app):
    """A browser-like client of the app, not following redirects: no cookies, an empty queue.
    (One client for the session: the submit path's connections belong to its event loop.)"""
    web_app.cookies.clear()
    web_app.queue.sent.clear()
    return web_app


@pytest.fixture
def course_people(web_settings):
    """A fresh course: its instructor and two students, each with the password ``PASSWORD``."""
    people = seed_course(web_settings, ManifestCatalog(web_settings.reference_dir))
    set_passwords(web_settings, [people["instructor"], *people["students"]])
    return people


def log_in_client(client, name: str, password: str = PASSWORD):
    answer = client.post("/login", data={"name": name, "password": password, "next": "/",
                                         "csrf_token": form_token(client.get("/login").text)})
    assert answer.status_code == 303, answer.text
    return answer


# ---------------------------------------------------------------------- a real stack and browser
@dataclasses.dataclass
class Stack:
    settings: object
    url: str
    catalog: ManifestCatalog

    def course(self, students: int = 1) -> dict:
        """A new course on the stack, every member with the password ``PASSWORD``."""
        people = seed_course(self.settings, self.catalog, students=students)
        set_passwords(self.settings, [people["instructor"], *people["students"]])
        return people


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not (VENDOR / "htmx.min.js").exists() or not AXE.exists():
        browser_unavailable("web/static/vendor or web/node_modules is missing (scripts/vendor-web)")
    data_dir = tmp_path_factory.mktemp("web-stack")
    references = reference_dir(data_dir / "references")
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix):
        settings = migrated(service_settings(data_dir, references, SLOT, database_url=database_url,
                                             broker_url=broker_url, broker_key_prefix=prefix, default_language="zh",
                                             cookie_secure=False))  # served over http
        worker = start_worker(settings, data_dir / "worker.log")
        api, url = start_api(settings, data_dir / "api.log")
        try:
            yield Stack(settings, url, ManifestCatalog(references))
        finally:
            api.stop()
            worker.stop()


@pytest.fixture(scope="session")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        browser_unavailable("chromium or chromedriver is not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--lang=zh-CN"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.implicitly_wait(0)
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture
def fresh_browser(browser):
    """The browser with no cookies (logged out, no language chosen)."""
    browser.delete_all_cookies()
    return browser


def log_in(browser, url: str, name: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{url}/login")
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    WebDriverWait(browser, 20).until(expected_conditions.url_changes(f"{url}/login"))


def axe_check(browser, page: str) -> None:
    """axe-core's WCAG rules on the page as it is: no serious or critical violation."""
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)),"
        " e => done(JSON.stringify([{id: 'axe-failed', impact: 'critical', help: String(e), nodes: []}])));")
    bad = [v for v in json.loads(result) if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{page}: " + "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at "
                                            f"{[n.get('target') for n in v.get('nodes', [])][:3]}" for v in bad)


def screenshot(browser, name: str, language: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return Math.max(document.body.scrollHeight, 600)")
    browser.set_window_size(1280, min(int(height) + 120, 4000))
    path = SCREENSHOTS / f"{name}-{language}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(1280, 1000)
    return path


def console_errors(browser) -> list[str]:
    """The page's console errors (a Content-Security-Policy refusal shows there)."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
