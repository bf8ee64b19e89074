"""No other site may show Ledgerline in a frame (security review, item 9): a framed app can be
clicked through without its user seeing it. The app sends the anti-framing headers itself
(app.py, ledgerline_ui/shell/response_headers.py), and Chromium honours them."""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import expect

from ledgerline_ui.shell.response_headers import NO_FRAMING_HEADERS


@pytest.mark.parametrize("path", ["/", "/Invoices", "/_stcore/health"])
def test_every_response_says_it_may_not_be_framed(app_url, path):
    with urllib.request.urlopen(f"{app_url}{path}", timeout=30) as answer:
        headers = {name.lower(): value for name, value in answer.getheaders()}
    assert headers["content-security-policy"] == "frame-ancestors 'none'"
    assert headers["x-frame-options"] == "DENY"
    assert {name.decode() for name, _ in NO_FRAMING_HEADERS} <= set(headers)


def test_a_page_of_another_site_cannot_show_the_app_in_a_frame(page, app_url):
    # Chromium says why it refused.
    with page.expect_console_message(lambda message: "frame-ancestors" in message.text):
        page.set_content(f'<iframe id="app" src="{app_url}/Invoices"></iframe>')
    framed = page.frame_locator("#app")
    expect(framed.locator('[data-testid="stMain"]')).to_have_count(0)
