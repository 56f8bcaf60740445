"""The navigation bar's links: each page family adds its own (the student pages here, the
staff's in their module) with who may see it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from core.models import User
from grader.i18n import Message, render


@dataclasses.dataclass(frozen=True)
class Link:
    label: Message                              # ``core.i18n._("...")``
    href: Callable[[User], str]
    shown_to: Callable[[User], bool] = lambda user: True
    section: str = ""                           # the pages it covers (``active`` when the path starts so)


LINKS: list[Link] = []


def add(link: Link) -> None:
    LINKS.append(link)


def links(user: User | None, language: str) -> list[dict]:
    if user is None:
        return []
    return [{"label": render(link.label, language), "href": link.href(user), "section": link.section or link.href(user)}
            for link in LINKS if link.shown_to(user)]
