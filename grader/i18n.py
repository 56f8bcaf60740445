"""Messages in Chinese and English, from gettext catalogues (Babel's ``.po`` files).

A message is written once, in English, as a catalogue's msgid, and translated in the
catalogue beside the code that says it: the engine's in ``grader/locale/zh.po``, a pack's in
``reference/<id>/locale/zh.po``.  In code it is a ``Text``, made by the catalogue's ``_``:

    _ = i18n.catalogue_beside(__file__)          # the pack's (or the engine's) catalogue
    failed(_("expected shape {expected}, got {got}", expected=[2, 3], got=list(out.shape)))

A ``Text`` renders in any language (``text.render("zh")``); its arguments are formatted with
``str.format`` after those that are ``Text`` themselves are rendered in the same language, so
messages compose (``Text.join`` joins several).  ``str(text)`` is the English.  A message
missing from a catalogue renders in English and is remembered in ``MISSING``: the tests fail
on any (tests/grader/test_i18n.py extracts every ``_("...")`` of the engine and the packs with
Babel and checks each has its translation).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Union

from babel.messages.pofile import read_po

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
SOURCE_LANGUAGE = "en"  # the msgids
ENGINE_LOCALE = Path(__file__).resolve().parent / "locale"
MISSING: set[tuple[str, str]] = set()  # (catalogue folder, msgid) rendered without a translation


@functools.lru_cache(maxsize=256)
def _translations(locale_dir: str, language: str, stamp: float) -> dict[str, str]:
    path = Path(locale_dir) / f"{language}.po"
    if not path.exists():
        return {}
    with open(path, "rb") as handle:
        catalogue = read_po(handle, locale=language.replace("-", "_"))
    return {message.id: message.string for message in catalogue
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy}


def translations(locale_dir: Path, language: str) -> dict[str, str]:
    """msgid -> translation, re-read when the file changes (packs change mid-term)."""
    path = locale_dir / f"{language}.po"
    stamp = path.stat().st_mtime_ns if path.exists() else 0.0
    return _translations(str(locale_dir), language, stamp)


def language_of(value: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_Hans``, ``en-GB`` ... -> a language torchgrade speaks, or None."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def negotiate(*preferences: str | None, accept_language: str | None = None, default: str = DEFAULT_LANGUAGE) -> str:
    """The first language torchgrade speaks among the preferences (in order: the user's, the
    course's, ...), then the best of an ``Accept-Language`` header, then the default."""
    for preference in preferences:
        language = language_of(preference)
        if language:
            return language
    if accept_language:
        ranked = []
        for position, part in enumerate(accept_language.split(",")):
            tag, _, quality = part.strip().partition(";q=")
            try:
                weight = float(quality) if quality else 1.0
            except ValueError:
                weight = 0.0
            language = language_of(tag)
            if language and weight > 0:
                ranked.append((-weight, position, language))
        if ranked:
            return min(ranked)[2]
    return default


@dataclasses.dataclass(frozen=True)
class Text:
    """One message of a catalogue, with its arguments."""

    msgid: str
    args: tuple[tuple[str, Any], ...] = ()
    locale_dir: Path = ENGINE_LOCALE

    def render(self, language: str = SOURCE_LANGUAGE) -> str:
        template = self.msgid
        if language != SOURCE_LANGUAGE:
            translated = translations(self.locale_dir, language).get(self.msgid)
            if translated is None:
                MISSING.add((str(self.locale_dir), self.msgid))
            else:
                template = translated
        values = {name: value.render(language) if _is_message(value) else value for name, value in self.args}
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):  # a translation that names other fields
            return self.msgid.format(**values)

    def __str__(self) -> str:
        return self.render(SOURCE_LANGUAGE)

    @staticmethod
    def join(separator: str, parts: Iterable[Message]) -> "Joined":
        return Joined(separator, tuple(parts))


@dataclasses.dataclass(frozen=True)
class Joined:
    """Messages one after another (feedback of several parts, lines of a note)."""

    separator: str
    parts: tuple[Message, ...]

    def render(self, language: str = SOURCE_LANGUAGE) -> str:
        return self.separator.join(render(part, language) for part in self.parts)

    def __str__(self) -> str:
        return self.render(SOURCE_LANGUAGE)

    def __bool__(self) -> bool:
        return any(bool(part) for part in self.parts)


Message = Union[Text, Joined, str]


def _is_message(value: Any) -> bool:
    return not isinstance(value, str) and callable(getattr(value, "render", None))


def render(message: Message, language: str = SOURCE_LANGUAGE) -> str:
    """Any message in a language; a plain ``str`` (data, a name, a number) is the same in all."""
    return message if isinstance(message, str) else message.render(language)


def in_languages(message: Message) -> dict[str, str]:
    """The message in every language torchgrade speaks."""
    return {language: render(message, language) for language in LANGUAGES}


class Catalogue:
    """The ``_`` of one folder's catalogue."""

    def __init__(self, locale_dir: Path):
        self.locale_dir = locale_dir

    def __call__(self, msgid: str, /, **args: Any) -> Text:
        return Text(msgid, tuple(sorted(args.items())), self.locale_dir)


def catalogue_beside(module_file: str) -> Catalogue:
    """The catalogue in the ``locale/`` folder beside a module (a pack's checks, say)."""
    return Catalogue(Path(module_file).resolve().parent / "locale")


_ = Catalogue(ENGINE_LOCALE)  # the engine's own messages
