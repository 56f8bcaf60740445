"""A student in a real browser (headless chromium) against a real stack: logs in, reads the
statement, submits, watches the grading live and reads the feedback in Chinese; every page passes
axe-core and is photographed in Chinese and English (build/screenshots/)."""

from __future__ import annotations

import pytest

from api.services import accounts
from core.db import session_factory
from tests.web.conftest import axe_check, console_errors, log_in, screenshot
from tests.workers.stack import GOOD, VARIANCE

pytestmark = pytest.mark.timeout(600)
ASSIGNMENT = "w1-normal-modes"


def wait(browser, condition, seconds: float = 240):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:  # a live part of the page replaced while it is read is asked again, not a failure
        return WebDriverWait(browser, seconds, poll_frequency=0.2,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                             ).until(condition)
    except TimeoutException:
        raise AssertionError(f"timed out on {browser.current_url}: {find(browser, 'main').text[:2000]}\n"
                             f"console: {browser.get_log('browser')}") from None


def find(browser, selector: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector)


def heading(browser) -> str:
    return find(browser, "h1").text


def submit_file(browser, path) -> None:
    find(browser, "input[type=file]").send_keys(str(path))
    find(browser, "form[enctype='multipart/form-data'] button[type=submit]").click()
    wait(browser, lambda b: "/submissions/" in b.current_url, 30)


def drop(browser, name: str, text: str) -> None:
    """Drop a file on the upload area, as a file dragged from the desktop is."""
    browser.execute_script(
        "const zone = document.querySelector('[data-dropzone]'), data = new DataTransfer();"
        "data.items.add(new File([arguments[1]], arguments[0], {type: 'text/x-python'}));"
        "for (const type of ['dragenter', 'dragover', 'drop'])"
        "  zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));",
        name, text)


def graded(browser) -> bool:
    box = find(browser, "#result")
    return box.get_attribute("aria-busy") is None and "已评分" in box.text


def test_a_student_submits_and_watches_the_result_in_chinese(stack, fresh_browser, tmp_path):
    browser, people = fresh_browser, stack.course()
    student = people["students"][0]
    browser.get(f"{stack.url}/")
    assert "/login?next=%2F" in browser.current_url and heading(browser) == "登录"
    axe_check(browser, "login")
    screenshot(browser, "login", "zh")

    log_in(browser, stack.url, student)
    assert heading(browser) == "我的作业" and "torch.normal 的四种模式" in find(browser, "main").text
    axe_check(browser, "home")
    screenshot(browser, "home", "zh")

    browser.get(f"{stack.url}/assignments/{ASSIGNMENT}?course={people['course']}")
    assert "提交作业" in find(browser, "main").text and find(browser, ".statement h1, .statement h2")
    axe_check(browser, "assignment")
    screenshot(browser, "assignment", "zh")

    (tmp_path / "hw.py").write_bytes(VARIANCE)
    submit_file(browser, tmp_path / "hw.py")
    wait(browser, graded)  # live: the page is not reloaded, the events stream fills it in
    result = find(browser, "#result").text
    assert "未通过" in result and "通过" in result, result
    assert any("\u4e00" <= ch <= "\u9fff" for ch in find(browser, ".checks .feedback:not(:empty)").text), \
        "the feedback is in Chinese"
    find(browser, "details summary").click()
    assert find(browser, "pre code.hljs .hljs-keyword"), "the code is highlighted (highlight.js from /static)"
    axe_check(browser, "submission")
    screenshot(browser, "submission", "zh")

    browser.get(f"{stack.url}/assignments/{ASSIGNMENT}?course={people['course']}")
    (tmp_path / "hw2.py").write_bytes(GOOD)
    submit_file(browser, tmp_path / "hw2.py")
    wait(browser, graded)
    assert "32 / 32" in find(browser, "#result").text

    browser.get(f"{stack.url}/assignments/{ASSIGNMENT}?course={people['course']}")
    find(browser, "form[action$='/diff'] button[type=submit]").click()
    wait(browser, lambda b: "/diff" in b.current_url, 20)
    assert find(browser, ".diff .add") and find(browser, ".diff .del")
    axe_check(browser, "diff")
    screenshot(browser, "diff", "zh")
    browser.get(browser.current_url + "&lang=en")
    assert heading(browser) == "Difference between two submissions"
    screenshot(browser, "diff", "en")
    assert not console_errors(browser)


def test_the_pages_in_english(stack, fresh_browser, tmp_path):
    browser, people = fresh_browser, stack.course()
    with session_factory(stack.settings.database_url)() as session:
        code = accounts.invite(session, stack.settings, accounts.user_by_name(session, people["students"][0]))
        session.commit()
    for language, title in (("zh", "设置密码"), ("en", "Set your password")):
        browser.get(f"{stack.url}/invite/{code}?lang={language}")
        assert heading(browser) == title
        axe_check(browser, f"invitation ({language})")
        screenshot(browser, "invitation", language)
    log_in(browser, stack.url, people["students"][0])
    browser.get(f"{stack.url}/?lang=en")
    assert heading(browser) == "My assignments"
    screenshot(browser, "home", "en")
    browser.get(f"{stack.url}/assignments/{ASSIGNMENT}?course={people['course']}")
    assert "Hand in" in find(browser, "main").text, "the choice is remembered (cookie)"
    screenshot(browser, "assignment", "en")
    drop(browser, "dropped.py", VARIANCE.decode())
    assert find(browser, "input[type=file]").get_property("files")[0]["name"] == "dropped.py"
    assert find(browser, "[data-chosen]").text == "dropped.py", "the dropped file is named"
    find(browser, "form[enctype='multipart/form-data'] button[type=submit]").click()
    wait(browser, lambda b: "/submissions/" in b.current_url, 30)
    wait(browser, lambda b: "graded" in find(b, "#result").text and find(b, "#result").get_attribute("aria-busy") is None)
    axe_check(browser, "submission (en)")
    screenshot(browser, "submission", "en")
    assert not console_errors(browser)
    browser.get(f"{stack.url}/no-such-page")
    assert heading(browser) == "Not found"
    screenshot(browser, "error", "en")
    browser.get(f"{stack.url}/no-such-page?lang=zh")
    assert heading(browser) == "找不到页面"
    axe_check(browser, "error")
    screenshot(browser, "error", "zh")
    assert all("404" in message for message in console_errors(browser))
    browser.get(f"{stack.url}/")
    find(browser, "form[action='/logout'] button").click()
    wait(browser, lambda b: b.current_url.endswith("/login"), 20)
    browser.get(f"{stack.url}/login?lang=en")
    screenshot(browser, "login", "en")
    assert not console_errors(browser)


def test_the_api_documentation_is_served_from_this_server(stack, fresh_browser):
    browser = fresh_browser
    browser.get(f"{stack.url}/docs")
    wait(browser, lambda b: b.find_elements("css selector", ".swagger-ui .info .title"), 60)
    assert "torchgrade" in find(browser, ".swagger-ui .info .title").text
    scripts = [s.get_attribute("src") for s in browser.find_elements("css selector", "script[src], link[href]")]
    assert all(src.startswith(stack.url) for src in scripts if src), scripts
    assert not console_errors(browser)
