"""Every download builds its data only for a sign-in that still holds when the user clicks.

Streamlit builds a download's data when the button is clicked, on a worker thread, without
running the page again; so the page's own sign-in check does not run. These tests take the data
function a page registered (as Streamlit's runtime would call it), then deactivate the user, or
let the idle limit pass, and call it: it must refuse and hand out no invoice data.
"""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import text

import ledgerline_ui.shell.setup
from billing_core.access import Actor, PermissionDenied, Role
from db.demo_data import DEMO_PASSWORD
from db.users import create_user, deactivate_user
from tests.helpers import committed_session
from tests.ui.finance_data import add_draft_invoice
from tests.ui.synthetic import add_disputed_tenant


@pytest.fixture
def registered_downloads(monkeypatch) -> dict[str, object]:
    """File name -> the data function of each deferred download the page registered."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    registered: dict[str, object] = {}
    add_deferred = MediaFileManager.add_deferred

    def record(manager, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        registered[file_name] = data_callable
        return add_deferred(manager, data_callable, mimetype, coordinates, file_name=file_name,
                            **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return registered


def _new_finance_user(url) -> Actor:
    email = f"download-{uuid.uuid4().hex[:8]}@demo"
    with committed_session(url) as session:
        create_user(session, email, Role.FINANCE, DEMO_PASSWORD)
    return Actor(email, Role.FINANCE)


def _deactivate(url, actor: Actor, monkeypatch) -> None:
    with committed_session(url) as session:
        deactivate_user(session, actor.user_id)


def _demote(url, actor: Actor, monkeypatch) -> None:
    with committed_session(url) as session:
        session.execute(text("UPDATE users SET role = 'manager' WHERE email = :email"),
                        {"email": actor.user_id})


def _idle_past_the_limit(url, actor: Actor, monkeypatch) -> None:
    later = time.time() + 31 * 60  # the default limit is 30 minutes
    monkeypatch.setattr(ledgerline_ui.shell.setup, "time", SimpleNamespace(time=lambda: later))


def _invoices_screen(url) -> tuple[str, dict[str, str], str, bytes]:
    tenant_id, _ = add_draft_invoice(url, "ui-download")
    return "pages/1_Invoices.py", {"tenant": tenant_id}, f"{tenant_id}.csv", tenant_id.encode()


def _invoice_screen(url) -> tuple[str, dict[str, str], str, bytes]:
    tenant = add_disputed_tenant(url, "ui-download-pdf")
    query = {"tenant": tenant.tenant_id, "invoice": str(tenant.paid_invoice_id)}
    return "pages/2_Invoice.py", query, f"_{tenant.tenant_id}.pdf", b"%PDF"


def _reconciliation_screen(url) -> tuple[str, dict[str, str], str, bytes]:
    return "pages/9_Reconciliation.py", {}, "reconciliation_report.csv", b"OLD-2024-11-0004"


@pytest.mark.parametrize("screen", [_invoices_screen, _invoice_screen, _reconciliation_screen],
                         ids=["invoices-csv", "invoice-pdf", "reconciliation-csv"])
@pytest.mark.parametrize("lapse", [_deactivate, _demote, _idle_past_the_limit],
                         ids=["deactivated", "role-changed", "idle"])
def test_a_download_hands_out_nothing_once_the_sign_in_lapsed(
        open_screen, demo_database_url, registered_downloads, monkeypatch, screen, lapse):
    script, query, file_name_end, content_marker = screen(demo_database_url)
    actor = _new_finance_user(demo_database_url)
    app = open_screen(script, query=query, as_actor=actor)
    [data] = [data for name, data in registered_downloads.items()
              if name and name.endswith(file_name_end)]
    built = data()
    assert content_marker in (built if isinstance(built, bytes) else built.encode())

    lapse(demo_database_url, actor, monkeypatch)
    with pytest.raises(PermissionDenied, match=actor.user_id):
        data()

    app.run()
    assert [t.value for t in app.title] == ["Sign in"], "and the next run signs out"
