"""The escaping helpers against the real renderers: hostile text reads as typed in Chromium.

`ledgerline_ui.tables.plain_text` relies on what Streamlit's Markdown (with its LaTeX,
shortcodes, directives and GFM links) and Plotly's label markup do with escapes;
the unit tests only see strings. Here a probe screen (plain_text_probe.py) shows
every case in every kind of element that renders Markdown, and each must read
exactly as typed: no link, image, formula, icon or emphasis, and no request made.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerline_ui.tables.plain_text import WORD_JOINER
from tests.ui.browser.harness import new_page, served
from tests.ui.browser.plain_text_probe import CASES, CHART_LABELS
from tests.ui.screens import REPO_ROOT, wait_until_idle

PROBE = Path(__file__).with_name("plain_text_probe.py")
# Where each kind of element keeps the text a reader sees.
SHOWN_IN = {
    "markdown": '[data-testid="stMarkdown"] [data-testid="stMarkdownContainer"]',
    "caption": '[data-testid="stCaptionContainer"]',
    "alert": '[data-testid="stAlertContentError"]',
    "subheader": "h3",
    "button": '[data-testid="stButton"] button',
    "expander": '[data-testid="stExpander"] summary [data-testid="stMarkdownContainer"]',
    "metric label": '[data-testid="stMetricLabel"]',
    "metric value": '[data-testid="stMetricValue"]',
    "select label": '[data-testid="stSelectbox"] label',
    "tab": '[role="tab"]',
}


@pytest.fixture(scope="module")
def probe_url(_chromium) -> Iterator[str]:
    with served(PROBE, {**os.environ, "PYTHONPATH": str(REPO_ROOT)}) as url:
        yield url


@pytest.fixture(scope="module")
def probe(browser, probe_url):
    page = new_page(browser)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(probe_url)
    page.locator(".js-plotly-plot .ytick").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    yield page, requested
    page.context.close()


def _read(text: str) -> str:
    """Text as compared: HTML shows a run of spaces (or a line break) as one space."""
    return " ".join(text.replace(WORD_JOINER, "").split())


@pytest.mark.parametrize("number", range(len(CASES)), ids=lambda n: f"case-{n}")
def test_each_case_reads_as_typed_in_every_markdown_element(probe, number):
    page, _ = probe
    case = page.locator(f".st-key-case_{number}")
    typed = _read(CASES[number])
    for kind, selector in SHOWN_IN.items():
        shown = [_read(text) for text in case.locator(selector).all_inner_texts()]
        wanted = [f"Before {typed}: after $1.00 then $2.00", typed] if kind == "markdown" else [
            typed]
        assert sorted(shown) == sorted(wanted), kind
    for markup in ("img", "a[href]:not([href^='#'])", ".katex", "strong", "em", "del", "code",
                   "li", "blockquote", "hr", "table", "[data-testid='stIconMaterial']"):
        inside = case.locator(f"[data-testid='stMarkdownContainer'] {markup}")
        assert inside.count() == 0, markup


def test_chart_labels_read_as_typed_and_link_nowhere(probe):
    page, requested = probe
    chart = page.locator(".js-plotly-plot")
    ticks = [text.strip() for text in chart.locator(".ytick text").all_text_contents()]
    assert sorted(ticks) == sorted(CHART_LABELS)
    assert chart.locator(".gtitle").text_content().strip() == CHART_LABELS[0]
    assert chart.locator("a").count() == 0
    assert not [url for url in requested if "127.0.0.1:9/" in url]
