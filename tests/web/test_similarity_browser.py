"""The instructors' code similarity pages in a real browser against a real stack: the report
and a pair side by side pass axe-core and are photographed in Chinese and English
(build/screenshots/)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.core.similarity_corpus import corpus
from tests.web.conftest import axe_check, console_errors, log_in, screenshot

pytestmark = pytest.mark.timeout(600)
W0 = "w0-service"
FINAL = {"graded", "error", "timeout", "memory", "crashed"}


def submit_all(url: str, people: dict) -> list[int]:
    """A solution and two copies of it, one per student, graded by the stack's worker."""
    family = [s.source for s in corpus() if s.family == "ind_dict_loop"]
    ids = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for name, source in zip(people["students"], family):
            answer = client.post(f"/api/v1/assignments/{W0}/submissions", files={"file": (source.filename,
                                                                                          source.content)},
                                 headers={"Authorization": f"Bearer {people['tokens'][name]}"})
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
        teacher = {"Authorization": f"Bearer {people['tokens']['instructor']}"}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if all(client.get(f"/api/v1/submissions/{i}", headers=teacher).json()["status"] in FINAL for i in ids):
                return ids
            time.sleep(0.5)
    raise AssertionError("the worker did not grade the submissions in time")


def test_the_instructor_reads_the_report_and_a_pair_in_a_browser(stack, fresh_browser):
    from selenium.webdriver.common.by import By

    browser, people = fresh_browser, stack.course(students=3)
    submit_all(stack.url, people)
    log_in(browser, stack.url, people["instructor"])
    report = f"{stack.url}/courses/{people['course']}/assignments/{W0}/similarity"
    browser.get(report)
    assert browser.find_element(By.CSS_SELECTOR, "h1").text.startswith("代码相似度")
    assert "相似群组" in browser.find_element(By.CSS_SELECTOR, "main").text
    axe_check(browser, "similarity report")
    screenshot(browser, "similarity-report", "zh")
    browser.find_element(By.LINK_TEXT, "并排对照").click()
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == "两份提交并排对照"
    axe_check(browser, "similarity pair")
    screenshot(browser, "similarity-pair", "zh")
    browser.get(f"{report}?lang=en")
    assert browser.find_element(By.CSS_SELECTOR, "h1").text.startswith("Code similarity")
    screenshot(browser, "similarity-report", "en")
    browser.find_element(By.LINK_TEXT, "side by side").click()
    screenshot(browser, "similarity-pair", "en")
    assert not console_errors(browser)
