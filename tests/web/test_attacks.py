"""Attacks on the pages that the pages' own tests do not make: links that leave the site, and
what a logged-out visitor can learn."""

from __future__ import annotations

import re

from markupsafe import escape

from api.services import accounts
from core.db import session_factory
from tests.web.conftest import HOSTILE, PASSWORD, log_in_client


def hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|action)="([^"]*)"', html)


def test_the_language_switch_never_links_to_another_site(pages):
    """Attack: https://torchgrade.example//evil.example/login is torchgrade's 404 page, whose
    language switch linked to //evil.example/login?lang=en (another host: a phishing login page
    one click away, from a link that shows torchgrade's address)."""
    for path in ("//evil.example/login", "/\\evil.example/login", "//evil.example/"):
        page = pages.get(f"http://testserver{path}")
        assert page.status_code == 404, path
        leaving = [h for h in hrefs(page.text) if h.startswith(("//", "/\\", "\\")) or "evil.example" in h.split("?")[0]]
        assert not leaving, (path, leaving)


def test_a_hostile_roster_name_is_text_on_every_page_that_shows_it(pages, course_people, web_settings):
    """Attack: stored XSS through 姓名.  The display name comes from a roster (a school's export,
    an LMS where students edit their own name) and is shown in every page's header and on the
    invitation page: it must stay text."""
    student = course_people["students"][1]
    with session_factory(web_settings.database_url)() as session:
        user = accounts.user_by_name(session, student)
        user.display_name = HOSTILE[1]
        code = accounts.invite(session, web_settings, user)
        session.commit()
    invitation = pages.get(f"/invite/{code}")
    assert invitation.status_code == 200 and "<img" not in invitation.text and str(escape(HOSTILE[1])) in invitation.text
    with session_factory(web_settings.database_url)() as session:
        accounts.set_password(session, accounts.user_by_name(session, student), PASSWORD)
        session.commit()
    log_in_client(pages, student)
    home = pages.get("/")
    assert home.status_code == 200 and "<img" not in home.text and str(escape(HOSTILE[1])) in home.text
