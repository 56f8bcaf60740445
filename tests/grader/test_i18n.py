"""Messages in Chinese and English: rendering, negotiation, and catalogues that are complete
(every ``_("...")`` of the engine and of every pack has its Chinese)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from grader import i18n
from grader.i18n import Catalogue, Text, negotiate, render

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalogue(tmp_path) -> Catalogue:
    (tmp_path / "zh.po").write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                                    'msgid "expected shape {expected}, got {got}"\n'
                                    'msgstr "形状应为 {expected}，实际为 {got}"\n\n'
                                    'msgid "the {what} is wrong"\nmsgstr "{what}不对"\n\n'
                                    'msgid "tensor"\nmsgstr "张量"\n', encoding="utf-8")
    return Catalogue(tmp_path)


def test_a_message_renders_in_each_language(catalogue):
    text = catalogue("expected shape {expected}, got {got}", expected=[2, 3], got=[3, 2])
    assert text.render("zh") == "形状应为 [2, 3]，实际为 [3, 2]"
    assert text.render("en") == str(text) == "expected shape [2, 3], got [3, 2]"
    assert i18n.in_languages(text) == {"zh": "形状应为 [2, 3]，实际为 [3, 2]", "en": "expected shape [2, 3], got [3, 2]"}


def test_messages_compose_and_join(catalogue):
    nested = catalogue("the {what} is wrong", what=catalogue("tensor"))
    assert nested.render("zh") == "张量不对" and nested.render("en") == "the tensor is wrong"
    joined = Text.join("\n", [nested, "x = 1"])
    assert render(joined, "zh") == "张量不对\nx = 1"
    assert not Text.join("\n", []) and Text.join("\n", [nested])


def test_a_missing_translation_falls_back_to_english_and_is_remembered(catalogue):
    i18n.MISSING.clear()
    assert catalogue("not translated {n}", n=3).render("zh") == "not translated 3"
    assert (str(catalogue.locale_dir), "not translated {n}") in i18n.MISSING
    i18n.MISSING.clear()


def test_a_translation_naming_other_fields_falls_back(tmp_path):
    (tmp_path / "zh.po").write_text('msgid "{a} items"\nmsgstr "{b} 项"\n', encoding="utf-8")
    assert Catalogue(tmp_path)("{a} items", a=2).render("zh") == "2 items"


@pytest.mark.parametrize(("preferences", "header", "expected"), [
    (("en", "zh"), None, "en"),
    ((None, "zh"), "en-US,en;q=0.9", "zh"),
    ((None, None), "en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    ((None, None), "fr-FR, zh-Hans;q=0.5", "zh"),
    ((None, None), "fr", "zh"),
    (("zh_CN",), None, "zh"),
    (("klingon",), "en", "en"),
])
def test_negotiation(preferences, header, expected):
    assert negotiate(*preferences, accept_language=header) == expected


def catalogues() -> list[tuple[Path, list[Path]]]:
    """Every catalogue and the folders whose messages it holds: the engine's, the service's, and
    each pack's."""
    service = [REPOSITORY / name for name in ("api", "core", "torchgrade", "web", "workers")]
    packs = sorted(p for p in (REPOSITORY / "reference").iterdir() if p.is_dir())
    return [(REPOSITORY / "grader", [REPOSITORY / "grader"]), (REPOSITORY / "core", service),
            *((pack, [pack]) for pack in packs)]


def extracted(folders: list[Path]) -> dict[str, str]:
    """msgid -> where it is said, for every ``_("...")`` in the folders' Python files."""
    found = {}
    for path in sorted(p for folder in folders for p in folder.rglob("*.py")):
        if "selftest" in path.parts or "locale" in path.parts or "node_modules" in path.parts:
            continue
        for lineno, message, _, _ in extract_from_file("python", str(path), keywords={"_": None}):
            if isinstance(message, str):
                found.setdefault(message, f"{path.relative_to(REPOSITORY)}:{lineno}")
    return found


@pytest.mark.parametrize(("owner", "folders"), catalogues(), ids=lambda value: getattr(value, "name", ""))
def test_every_message_has_its_chinese(owner, folders):
    said = extracted(folders)
    translated = i18n.translations(owner / "locale", "zh")
    missing = [f"{where}: {msgid!r}" for msgid, where in said.items() if not translated.get(msgid)]
    assert not missing, "messages without a Chinese translation (add them to locale/zh.po):\n" + "\n".join(missing)
    unused = sorted(set(translated) - set(said))
    assert not unused, f"translations of messages no code says any more: {unused}"


def test_the_chinese_keeps_every_placeholder_of_the_english():
    import string

    for owner, _ in catalogues():
        for msgid, msgstr in i18n.translations(owner / "locale", "zh").items():
            fields = {name for _, name, _, _ in string.Formatter().parse(msgid) if name}
            assert fields == {name for _, name, _, _ in string.Formatter().parse(msgstr) if name}, (owner, msgid)


def test_every_check_of_every_pack_is_described_in_chinese_and_english():
    from grader.assignments import Catalog

    catalog = Catalog(REPOSITORY / "reference")
    english_only = [f"{pack}/{spec.name}" for pack in catalog.ids() for spec in catalog.get(pack).manifest.checks
                    if isinstance(spec.description, str)]
    assert not english_only, "manifest descriptions without Chinese ({zh = ..., en = ...}): " + ", ".join(english_only)


TEMPLATES = REPOSITORY / "web" / "templates"
TEMPLATE_LOCALE = REPOSITORY / "web" / "locale"


def template_messages(folder: Path = TEMPLATES) -> dict[str, str]:
    """msgid -> where it is said, for every ``_("...")`` and ``{% trans %}`` of the templates."""
    found = {}
    options = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
    for path in sorted(folder.rglob("*.html")):
        for lineno, message, _, _ in extract_from_file("jinja2.ext:babel_extract", str(path), options=options):
            if isinstance(message, str):
                found.setdefault(message, f"{path.name}:{lineno}")
    return found


def test_every_template_message_has_its_chinese():
    said = template_messages()
    assert "My assignments" in said and "Log in" in said, "the extraction reads the templates"
    translated = i18n.translations(TEMPLATE_LOCALE, "zh")
    missing = [f"{where}: {msgid!r}" for msgid, where in said.items() if not translated.get(msgid)]
    assert not missing, "template messages without a Chinese translation (add them to web/locale/zh.po):\n" + \
        "\n".join(missing)
    unused = sorted(set(translated) - set(said))
    assert not unused, f"translations of messages no template says any more: {unused}"


def test_a_template_translation_keeps_every_placeholder():
    import re

    placeholders = re.compile(r"%\((\w+)\)s")
    for msgid, msgstr in i18n.translations(TEMPLATE_LOCALE, "zh").items():
        assert set(placeholders.findall(msgid)) == set(placeholders.findall(msgstr)), msgid


def test_a_template_string_without_a_translation_is_found(tmp_path):
    (tmp_path / "new.html").write_text('<p>{{ _("A sentence nobody translated") }}</p>', encoding="utf-8")
    assert "A sentence nobody translated" in template_messages(tmp_path)
    assert "A sentence nobody translated" not in i18n.translations(TEMPLATE_LOCALE, "zh")
