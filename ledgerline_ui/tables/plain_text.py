"""User text inside Markdown: shown as typed, never read as markup (STYLE.md rule 13).

Streamlit reads the strings given to `st.markdown`, `st.write`, `st.caption`, the
alerts, titles and every widget label as Markdown with extras: `$...$` LaTeX,
`:material/icon:`, `:emoji:` and `:streamlit:` shortcodes, `:red[...]`
directives, links and images, and bare URLs and e-mail addresses made into
links. A credit reason, a tenant name, a legacy file's field or a query
parameter put into such a string raw is markup: a reason holding a `$` turned
the amount before it into LaTeX (the approver read "$90.00" for a $9,000.00
request), and `![p](http://...)` made every reader's browser fetch an image.

So a whole value goes into a dataframe cell or `st.text`, which Streamlit never
parses, and a value that must sit inside a sentence goes through
`escape_markdown`. It backslash-escapes what opens Markdown, LaTeX, HTML or a
directive, and leaves ordinary punctuation alone, so "amount: '12,3x' is not a
number" reads (and tests) the same before and after. Two kinds of markup are
not stopped by a backslash, because they are found in the text after Markdown
has removed the backslashes:

- shortcodes (`:material_home:`, `:smile:`, `:streamlit:`) and bare links
  (`https://...`, `www.`, `someone@example.com`): an invisible WORD JOINER
  after the colon, before the dot or after the `@` keeps them from matching
  (raw HTML such as an empty comment would split them too, but Streamlit shows
  raw HTML as text);
- line breaks would start blocks (a list, a heading, a code block), and a value
  inside a sentence is one line, so they become spaces.

Plotly charts have a markup of their own in every label and title (`<b>`,
`<a href=...>`), so a tenant name or a metric name on a chart goes through
`escape_chart_text`, which writes `<`, `>` and `&` as the entities Plotly shows.

Both are checked against the real renderers in headless Chromium
(tests/ui/browser/test_plain_text.py).
"""

from __future__ import annotations

import html
import re

WORD_JOINER = "\u2060"
"""Zero-width and no space: splits a pattern without changing what the reader sees."""

# Characters that open or close markup wherever they stand in a line.
_MARKUP = frozenset("\\`*~$[]<|")
# `_` emphasises only at a word's edge (CommonMark), `&` only starts an entity (`&lt;`):
# "idempotency_key" and "Tom & Jerry" stay as they are.
_UNDERSCORE_AT_EDGE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
# A colon before a non-space opens a directive (`:red[`), a shortcode or a URL scheme;
# a colon before a space ("amount: ...") is prose and stays as it is.
_OPENING_COLON = re.compile(r":(?=\S)")
# Found after the escapes are gone. A shortcode's opening colon is one before a name that
# a colon closes, in the value or in the text that follows it (`:smile` + ": ...").
_SPLIT_AFTER = re.compile(r":(?=[\w+-][\w+/-]*(?::|$))|(?i:https?:)(?=//)|@(?=[\w-]+\.\w)")
_SPLIT_BEFORE = re.compile(r"(?i)(?<=\bwww)\.")
# Blocks a line can start: `- x`, `+ x`, `---`, `> quote`, `# heading`, `1. x`, `2) x`.
_LEADING_MARKER = re.compile(r"^(\s*)(?:([-+>]|#+(?=\s|$))|(\d+)([.)])(?=\s|$))")
_LINE_BREAK = re.compile(r"\r\n|[\r\n\u2028\u2029\x0b\x0c\x85]")


def escape_markdown(value: object) -> str:
    """`value` as Markdown that Streamlit shows character for character (on one line).

    `escape_markdown("x $ crafted $")` -> `x \\$ crafted \\$`;
    `escape_markdown("![p](evil)")` -> `!\\[p\\](evil)`.
    """
    text = _LINE_BREAK.sub(" ", str(value))
    text = _SPLIT_AFTER.sub(lambda found: found.group() + WORD_JOINER, text)
    text = _SPLIT_BEFORE.sub(WORD_JOINER + ".", text)
    escaped = "".join(f"\\{char}" if char in _MARKUP else char for char in text)
    escaped = _UNDERSCORE_AT_EDGE.sub(r"\\_", escaped)
    escaped = _ENTITY.sub(r"\\&", escaped)
    escaped = _OPENING_COLON.sub(r"\\:", escaped)
    return _LEADING_MARKER.sub(_escape_marker, escaped, count=1)


def _escape_marker(marker: re.Match[str]) -> str:
    spaces, mark, number, closer = marker.groups()
    return f"{spaces}\\{mark}" if mark else f"{spaces}{number}\\{closer}"


def escape_chart_text(value: object) -> str:
    """`value` as a Plotly label or title that shows it as typed: "<b>" -> "&lt;b&gt;"."""
    return html.escape(str(value), quote=False)
