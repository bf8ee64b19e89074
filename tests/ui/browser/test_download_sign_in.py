"""Downloads in the browser: the invoice CSV arrives with formula-like names as text, and once
the user is deactivated a click on the export downloads nothing; the next click signs out."""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import text

from billing_core.access import Role
from db.demo_data import DEMO_PASSWORD
from db.users import create_user, deactivate_user
from ledgerline_ui.shell.setup import ACCOUNT_CHANGED
from tests.helpers import committed_session
from tests.ui.finance_data import add_draft_invoice
from tests.ui.screens import open_in_browser, wait_until_idle

HOSTILE_NAME = '=HYPERLINK("http://evil.example","x")'
# What Streamlit's server answers when a download's data function raises (or is gone).
DOWNLOAD_REFUSED = b"Failed to generate file for download"


def test_a_deactivated_user_downloads_no_invoices_and_the_next_click_signs_out(
        page, demo_database_url):
    tenant_id, _ = add_draft_invoice(demo_database_url, "ui-browser-download")
    email = f"download-{uuid.uuid4().hex[:8]}@demo"
    with committed_session(demo_database_url) as session:
        session.execute(text("UPDATE tenants SET name = :name WHERE tenant_id = :tenant"),
                        {"name": HOSTILE_NAME, "tenant": tenant_id})
        create_user(session, email, Role.FINANCE, DEMO_PASSWORD)
    sockets, downloads = [], []
    page.on("websocket", lambda socket: sockets.append(socket))
    page.on("download", lambda download: downloads.append(download))

    open_in_browser(page, f"/Invoices?tenant={tenant_id}", email=email)
    export = page.get_by_role("button", name="Export these invoices as CSV")
    with page.expect_download() as first:
        export.click()
    [row] = csv.DictReader(io.StringIO(first.value.path().read_text(encoding="utf-8")))
    assert (row["tenant_id"], row["tenant_name"]) == (tenant_id, f"'{HOSTILE_NAME}")
    wait_until_idle(page)

    with committed_session(demo_database_url) as session:
        deactivate_user(session, email)
    stream = next(socket for socket in reversed(sockets)  # the open one, if it reconnected
                  if socket.url.endswith("/_stcore/stream") and not socket.is_closed())
    with stream.expect_event("framereceived", timeout=30_000,
                             predicate=lambda frame: DOWNLOAD_REFUSED in _bytes(frame)):
        export.click()
    assert len(downloads) == 1, "only the download made while signed in"

    tenant = page.get_by_label("Tenant", exact=True)
    tenant.fill("ent-initech")
    tenant.press("Enter")
    page.get_by_role("heading", name="Sign in", exact=True).wait_for()
    page.get_by_text(ACCOUNT_CHANGED).wait_for()
    assert tenant_id not in page.locator('[data-testid="stMain"]').inner_text()


def _bytes(frame: str | bytes) -> bytes:
    return frame if isinstance(frame, bytes) else frame.encode()
