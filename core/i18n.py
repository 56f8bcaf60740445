"""The service's messages (API errors, refusals, what the CLI says to operators) in Chinese and
English: ``_("...")`` with the catalogue in ``core/locale/zh.po`` (see ``grader.i18n``)."""

from __future__ import annotations

from pathlib import Path

from grader.i18n import Catalogue

_ = Catalogue(Path(__file__).resolve().parent / "locale")
