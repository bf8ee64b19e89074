"""User text inside Markdown is shown as typed: no LaTeX, link, image, HTML or shortcode."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerline_ui.tables.plain_text import WORD_JOINER, escape_chart_text, escape_markdown
from tests.ui.shown_text import shown

J = WORD_JOINER


@pytest.mark.parametrize(("text", "markdown"), [
    pytest.param("x $ crafted $", r"x \$ crafted \$", id="latex-pair"),
    pytest.param("$9,000.00 refund $\\phantom{0}$", r"\$9,000.00 refund \$\\phantom{0}\$",
                 id="latex-command"),
    pytest.param("![x](http://evil/img.png)", rf"!\[x\](http\:{J}//evil/img.png)",
                 id="image"),
    pytest.param("[link](http://evil)", rf"\[link\](http\:{J}//evil)", id="link"),
    pytest.param("<img src=http://evil/x.png>", rf"\<img src=http\:{J}//evil/x.png>",
                 id="html"),
    pytest.param("<http://evil>", rf"\<http\:{J}//evil>", id="angle-autolink"),
    pytest.param("**bold** *it* ~gone~ `code`", r"\*\*bold\*\* \*it\* \~gone\~ \`code\`",
                 id="emphasis-strike-code"),
    pytest.param("_it_ and snake_case", r"\_it\_ and snake_case", id="underscore-at-edges"),
    pytest.param(r"a\b \$", r"a\\b \\\$", id="backslashes"),
    pytest.param(":material/home: and :smile:", rf"\:{J}material/home: and \:{J}smile:",
                 id="shortcodes"),
    pytest.param(":red[alert]", r"\:red\[alert\]", id="directive"),
    pytest.param("www.evil.com, me@evil.com, cs@demo", f"www{J}.evil.com, me@{J}evil.com, cs@demo",
                 id="bare-links"),
    pytest.param("&amp; & Tom", r"\&amp; & Tom", id="entity"),
    pytest.param("a | b", r"a \| b", id="table-pipe"),
    pytest.param("# heading", r"\# heading", id="heading-at-start"),
    pytest.param("- item", r"\- item", id="list-at-start"),
    pytest.param("1. item", r"1\. item", id="ordered-list-at-start"),
    pytest.param("> quote", r"\> quote", id="quote-at-start"),
    pytest.param("first\n\n    second", "first      second", id="line-breaks-to-spaces"),
    pytest.param("amount: '12,3x' is not a number", "amount: '12,3x' is not a number",
                 id="prose-unchanged"),
    pytest.param("Credit #7 for Acme (ent-acme), 2024-11", "Credit #7 for Acme (ent-acme), 2024-11",
                 id="ids-and-dates-unchanged"),
])
def test_markup_is_escaped_and_prose_is_left_alone(text, markdown):
    assert escape_markdown(text) == markdown


def test_a_reason_with_dollars_cannot_swallow_the_amount_before_it():
    line = f"$9,000.00 · {escape_markdown('x $ y $')}"
    assert line == r"$9,000.00 · x \$ y \$"
    assert shown(line) == "$9,000.00 · x $ y $"


# Text built from the pieces markup is made of, so the properties meet it often.
PIECES = ["$", "$$", "\\", "*", "_", "~", "`", "[", "]", "(", ")", "!", "<", ">", "&", "amp;",
          "#", "|", ":", "-", "+", "1.", " ", "\n", "a", "é", "x_y", "http://", "https://",
          "www.", "@", "evil.com", "material/", "material_", "home", "smile", "streamlit",
          "red[", "{", "}"]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join) | st.text(max_size=40)


@given(texts)
def test_the_reader_sees_the_text_as_typed_on_one_line(text):
    assert shown(escape_markdown(text)) == re.sub(r"\r\n|[\r\n\u2028\u2029\x0b\x0c\x85]",
                                                  " ", text)


@given(texts)
def test_no_markup_character_is_left_unescaped(text):
    escaped = escape_markdown(text)
    # Each escape pair stands for one literal character, which is no letter: it ends a word
    # (for `_`) and breaks an entity (`&\$amp;` shows as typed).
    bare = re.sub(r"\\.", "\x00", escaped)
    assert not set(bare) & set("\\`*~$[]<|")
    assert not re.search(r"(?<![^\W_])_|_(?![^\W_])|&#?\w+;", bare)


@given(texts)
def test_nothing_found_after_the_escapes_are_gone_is_a_link_or_a_shortcode(text):
    # Streamlit's shortcodes and GFM's bare links are matched in the text Markdown leaves.
    left = re.sub(r"\\(.)", r"\1", escape_markdown(text))
    # An icon's name may be finished by the text after the value (`:material/ho` + `me: ...`).
    assert not re.search(r"(?i)https?://|\bwww\.|@[\w-]+\.\w|:material[/_]\w*(?::|$)|:[\w+-]+:",
                         left)


@pytest.mark.parametrize(("text", "label"), [
    pytest.param('<a href="http://evil">x</a>', '&lt;a href="http://evil"&gt;x&lt;/a&gt;',
                 id="link"),
    pytest.param("<b>Tom</b> & Jerry", "&lt;b&gt;Tom&lt;/b&gt; &amp; Jerry", id="tags-and-amp"),
    pytest.param("Acme Corp (ent-acme)", "Acme Corp (ent-acme)", id="plain-unchanged"),
])
def test_chart_labels_write_plotly_markup_as_entities(text, label):
    assert escape_chart_text(text) == label
