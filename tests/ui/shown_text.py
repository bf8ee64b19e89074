"""Markdown source as the reader sees it, for tests of text made by `escape_markdown`.

AppTest gives a markdown, caption, alert or label element's Markdown source. `shown`
undoes the two things `ledgerline_ui.tables.plain_text.escape_markdown` writes: a backslash
before ASCII punctuation (CommonMark drops it) and the invisible word joiner. The browser
test tests/ui/browser/test_plain_text.py checks the same against Streamlit's renderer.
"""

from __future__ import annotations

import re

from ledgerline_ui.tables.plain_text import WORD_JOINER

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    return _ESCAPE.sub(r"\1", markdown).replace(WORD_JOINER, "")
