"""Attacks on the pages that the pages' own tests do not make: links that leave the site, and
what a logged-out visitor can learn."""

from __future__ import annotations

import re


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
