"""Spreadsheet-safe CSV cells: a text that a spreadsheet would run as a formula gets a `'`.

OWASP's rule for CSV injection: a cell starting with `=`, `+`, `-`, `@`, tab or carriage return is
a formula to Excel and LibreOffice (`=HYPERLINK(…)`, `+cmd|…`), so it is written with a leading
apostrophe, which makes it text. Only text is touched: numbers stay numbers.

The prefix can be taken off again exactly: a text that already looks escaped (apostrophes, then a
formula character) gets one more, so `restored(neutralised(x)) == x` for every text `x`; the
importer reads our own CSV exports back with `restored`.
"""

from __future__ import annotations

import re

FORMULA_START = "=+-@\t\r"
QUOTE = "'"
_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")


def neutralised(value: object) -> object:
    """The cell as a spreadsheet should see it: formula-like text quoted, anything else as is."""
    if isinstance(value, str) and _NEEDS_QUOTE.match(value):
        return QUOTE + value
    return value


def restored(value: object) -> object:
    """The text as it was before `neutralised`: one leading `'` off where we added it."""
    if isinstance(value, str) and _QUOTED.match(value):
        return value[1:]
    return value
