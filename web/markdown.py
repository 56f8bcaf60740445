"""Statements in Markdown, rendered on the server with markdown-it-py: CommonMark plus tables and
strikethrough, raw HTML off (it is shown as text, so a statement can carry no script), links
limited to http(s), mailto and relative ones (markdown-it's ``validateLink``)."""

from __future__ import annotations

import functools

from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_SCHEMES = ("http:", "https:", "mailto:")


def _safe_link(url: str) -> bool:
    lowered = url.strip().lower()
    return ":" not in lowered.split("/", 1)[0] or lowered.startswith(ALLOWED_SCHEMES)


@functools.cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.validateLink = _safe_link
    return parser


def to_html(text: str) -> Markup:
    """The statement's HTML, safe to put in a page as it is."""
    return Markup(_parser().render(text))
