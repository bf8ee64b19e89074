"""The Invoice screen shows when a draft was priced, and finalizes only the version reviewed
(SPEC 13)."""

from __future__ import annotations

from db.discounts import add_discount
from tests.actors import finance
from tests.helpers import committed_session
from tests.ui.finance_data import add_draft_invoice, scalar

PAGE = "pages/2_Invoice.py"


def _button(app, label: str):
    return next(b for b in app.button if b.label == label)


def test_a_draft_repriced_after_finalize_was_pressed_is_refused_with_both_totals(
        open_screen, demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-stale")
    app = open_screen(PAGE, query={"tenant": tenant_id, "invoice": str(invoice_id)})
    assert any(c.value.startswith("Priced at ") and c.value.endswith("(version 1)")
               for c in app.caption)

    _button(app, "Finalize…").click().run()
    with committed_session(demo_database_url) as session:  # someone adds a discount meanwhile
        add_discount(session, tenant_id, "Goodwill", percent="10", actor=finance("other@test"))
    _button(app, "Confirm: finalize").click().run()

    assert [e.value for e in app.error] == [
        "Invoice draft 2024-11 changed since you opened it: \\$100.00 is now \\$90.00; "
        "review it again"]
    assert scalar(demo_database_url, "SELECT status FROM invoices WHERE invoice_id = :i",
                  i=invoice_id) == "draft"

    app.run()  # reviewed again: version 2 on screen, and it finalizes
    assert any(c.value.endswith("(version 2)") for c in app.caption)
    _button(app, "Finalize…").click().run()
    _button(app, "Confirm: finalize").click().run()
    assert not app.error
    assert scalar(demo_database_url, "SELECT status FROM invoices WHERE invoice_id = :i",
                  i=invoice_id) == "finalized"
