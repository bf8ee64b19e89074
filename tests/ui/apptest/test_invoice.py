"""The invoice screen: every line explained, the sum shown, moves confirmed or refused."""

from __future__ import annotations

import re

import pytest

from db.database import make_engine, make_sessionmaker
from db.reads.invoices import invoice_detail
from db.transitions import finalize_invoice
from ledgerline_ui.invoices.invoice_pdf import NotExportable, export_refusal, invoice_pdf
from tests.actors import finance
from tests.ui.finance_data import add_draft_invoice, rows, scalar
from tests.ui.shown_text import shown

PAGE = "pages/2_Invoice.py"
NUMBER = re.compile(r"INV-\d{4}-\d{6}")


def invoice_id_of(url, tenant_id: str, period: str) -> int:
    return scalar(url, "SELECT invoice_id FROM invoices WHERE tenant_id = :t AND period_label = :p"
                       " AND status <> 'void'", t=tenant_id, p=period)


def audit_count(url, tenant_id: str) -> int:
    return scalar(url, "SELECT count(*) FROM audit_log WHERE tenant_id = :t", t=tenant_id)


def button(app, label: str):
    return next(b for b in app.button if b.label == label)


def texts(app) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [e.value for e in app.success] + [e.value for e in app.error]
    parts += [e.value for e in app.info] + [e.value for e in app.warning]
    return "\n".join(str(p) for p in parts)


def test_initech_invoice_shows_each_discount_step_in_order_and_the_sum(open_screen,
                                                                        demo_database_url):
    invoice_id = invoice_id_of(demo_database_url, "ent-initech", "2024-11")
    app = open_screen(PAGE, query={"tenant": "ent-initech", "invoice": str(invoice_id)})

    assert app.title[0].value == "Invoice draft 2024-11"  # a draft has no number yet
    lines = app.table[0].value.map(shown)  # a Markdown table: its cells are escaped
    assert list(lines["Item"]) == ["Plan: Compute tier", "Discount: Enterprise discount",
                                   "Discount: Promotional credit"]
    assert list(lines["Amount"]) == ["$1,000.00", "-$100.00", "-$50.00"]
    assert list(lines["Running total"]) == ["$1,000.00", "$900.00", "$850.00"]
    assert "30 of 30 days" in lines["Calculation"][0]
    assert "10% of $1,000.00 = 100.00" in lines["Calculation"][1]
    assert list(lines["Rounding"]) == ["exact, no rounding"] * 3
    assert app.success[0].value == ("The lines add up to the total: "
                                    "$1,000.00 - $100.00 - $50.00 = $850.00.")
    assert [m.value for m in app.metric] == ["$850.00", "Draft", "2024-11", "not yet"]


def test_proration_lines_show_days_used_of_days_in_period(open_screen, demo_database_url):
    invoice_id = invoice_id_of(demo_database_url, "ent-acme-corp", "2024-11")
    app = open_screen(PAGE, query={"tenant": "ent-acme-corp", "invoice": str(invoice_id)})

    lines = app.table[0].value.map(shown)  # a Markdown table: its cells are escaped
    assert list(lines["Amount"]) == ["$300.00", "$500.00"]
    assert "15 of 30 days from 2024-11-01 x $600.00" in lines["Calculation"][0]
    assert "15 of 30 days from 2024-11-16 x $1,000.00" in lines["Calculation"][1]
    assert "$300.00 + $500.00 = $800.00" in app.success[0].value


def test_draft_offers_finalize_and_void_and_explains_why_not_payment(open_screen,
                                                                     demo_database_url):
    invoice_id = invoice_id_of(demo_database_url, "ent-initech", "2024-11")
    app = open_screen(PAGE, query={"tenant": "ent-initech", "invoice": str(invoice_id)})

    assert not button(app, "Finalize…").disabled
    assert not button(app, "Void…").disabled
    assert button(app, "Record payment…").disabled
    shown = texts(app)
    assert "Invoice draft 2024-11 cannot move from draft to paid" in shown
    assert "Invoice draft 2024-11 has no invoice number yet" in shown
    assert "cannot be exported" in shown and f"#{invoice_id}" not in shown
    assert not app.get("download_button")


def test_finalizing_a_draft_after_confirming_numbers_it_and_records_who(open_screen,
                                                                        demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-finalize")
    app = open_screen(PAGE, query={"tenant": tenant_id, "invoice": str(invoice_id)})

    button(app, "Finalize…").click().run()
    assert scalar(demo_database_url, "SELECT status FROM invoices WHERE tenant_id = :t",
                  t=tenant_id) == "draft", "asking must not finalize before confirming"
    assert "Finalizing assigns the next invoice number" in texts(app)
    button(app, "Confirm: finalize").click().run()

    status, number = rows(demo_database_url, "SELECT status, number FROM invoices "
                                             "WHERE tenant_id = :t", t=tenant_id)[0]
    assert status == "finalized"
    assert NUMBER.fullmatch(number)
    assert app.success[0].value == f"Invoice {number} is finalized."
    assert app.title[0].value == f"Invoice {number}"
    assert [m.value for m in app.metric][1] == "Finalized"
    assert button(app, "Finalize…").disabled
    assert not button(app, "Record payment…").disabled
    assert app.get("download_button"), "a finalized invoice can be exported"
    audit = rows(demo_database_url, "SELECT actor, action FROM audit_log WHERE tenant_id = :t "
                                    "ORDER BY audit_id", t=tenant_id)
    assert audit[-1] == ("finance@demo", "invoice.finalized")
    trail = app.dataframe[-1].value
    assert trail["What"][0] == "invoice.finalized"
    assert f"number: - -> {number}" in trail["Change"][0]


def test_cancelling_the_confirmation_changes_nothing(open_screen, demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-cancel")
    before = audit_count(demo_database_url, tenant_id)
    app = open_screen(PAGE, query={"tenant": tenant_id, "invoice": str(invoice_id)})

    button(app, "Void…").click().run()
    button(app, "Cancel").click().run()

    assert not [b for b in app.button if b.label.startswith("Confirm")]
    assert scalar(demo_database_url, "SELECT status FROM invoices WHERE tenant_id = :t",
                  t=tenant_id) == "draft"
    assert audit_count(demo_database_url, tenant_id) == before


def test_a_concurrent_finalization_is_reported_not_repeated(open_screen, demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-race")
    app = open_screen(PAGE, query={"tenant": tenant_id, "invoice": str(invoice_id)})
    button(app, "Finalize…").click().run()

    engine = make_engine(demo_database_url)
    with make_sessionmaker(engine).begin() as session:  # someone else, a moment earlier
        number = finalize_invoice(session, tenant_id, invoice_id,
                                  actor=finance("someone@else")).number
    engine.dispose()
    button(app, "Confirm: finalize").click().run()

    assert [e.value for e in app.error] == [f"Invoice {number} is already finalized"]
    finalized_by = rows(demo_database_url, "SELECT actor FROM audit_log WHERE tenant_id = :t "
                                           "AND action = 'invoice.finalized'", t=tenant_id)
    assert finalized_by == [("someone@else",)]


def test_paid_invoice_refuses_every_move_with_a_reason_and_exports(open_screen,
                                                                   demo_database_url):
    invoice_id = invoice_id_of(demo_database_url, "ent-umbrella", "2024-10")
    app = open_screen(PAGE, query={"tenant": "ent-umbrella", "invoice": str(invoice_id)})

    assert all(b.disabled for b in app.button if b.label.endswith("…"))
    shown = texts(app)
    assert "cannot move from paid to void" in shown
    assert "is already paid" in shown
    assert "To correct a paid invoice, issue a credit note." in shown
    assert app.get("download_button")[0].label == "Download PDF"


@pytest.mark.parametrize("query, message", [
    ({"tenant": "ent-initech", "invoice": "abc"}, "invoice: 'abc' is not an invoice id"),
    ({"invoice": "3"}, "tenant: is missing from the link"),
    ({"tenant": "ent-nobody", "invoice": "3"}, "invoice 3 of tenant ent-nobody was not found"),
], ids=["malformed id", "no tenant", "unknown"])
def test_a_bad_link_names_the_problem_and_writes_nothing(open_screen, demo_database_url,
                                                         query, message):
    before = scalar(demo_database_url, "SELECT count(*) FROM audit_log")
    app = open_screen(PAGE, query=query)

    assert message in app.error[0].value
    assert scalar(demo_database_url, "SELECT count(*) FROM audit_log") == before


def test_without_a_link_the_picker_finds_a_tenants_invoices_and_links_the_chosen_one(
        open_screen):
    app = open_screen(PAGE)
    app.text_input(key="picker_search").set_value("initech").run()

    [found] = [b for b in app.button if "2024-11 · draft · $850.00" in b.label]
    found.click().run()
    assert app.query_params["tenant"] == "ent-initech"
    assert app.title[0].value == "Invoice draft 2024-11"


def test_pdf_holds_a_finalized_invoice_and_refuses_a_draft(demo_database_url):
    tenant_id, invoice_id = add_draft_invoice(demo_database_url, "ui-pdf")
    engine = make_engine(demo_database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        draft = invoice_detail(session, tenant_id, invoice_id)
    assert export_refusal(draft.invoice).startswith("Invoice draft 2024-11 has no invoice number")
    with pytest.raises(NotExportable, match="cannot be exported as a final invoice"):
        invoice_pdf(draft)

    with sessions.begin() as session:
        finalize_invoice(session, tenant_id, invoice_id, actor=finance("test"))
    with sessions() as session:
        final = invoice_detail(session, tenant_id, invoice_id)
    engine.dispose()
    document = invoice_pdf(final)

    assert export_refusal(final.invoice) is None
    assert document.startswith(b"%PDF-")
    shown = pdf_text(document)
    assert f"Invoice {final.invoice.number}" in shown
    assert f"Flow {tenant_id[-8:]} ({tenant_id})" in shown
    assert "30 of 30 days from 2024-11-01 x $100.00" in shown
    assert "Total due" in shown and "$100.00" in shown


def pdf_text(document: bytes) -> str:
    """The text drawn in the PDF's (zlib-compressed) content streams, escapes undone."""
    import zlib

    found = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", document, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        found += [m.replace(b"\\(", b"(").replace(b"\\)", b")").decode("latin-1")
                  for m in re.findall(rb"\((.*?)(?<!\\)\) ?Tj", content, re.S)]
    return "\n".join(found)
