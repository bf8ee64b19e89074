"""Tenant screen: one tenant's story, and its invoice explained in sentences."""

from __future__ import annotations

from tests.ui.finance_data import scalar
from tests.ui.shown_text import shown


def _bullets(app) -> str:
    """The explanation as read: its sentences are escaped Markdown (they quote typed text)."""
    return "\n".join(shown(m.value) for m in app.markdown)


def test_acme_invoice_is_explained_day_by_day(open_screen):
    app = open_screen("pages/7_Tenant.py", query={"tenant": "ent-acme-corp"})

    assert app.header[0].value == "Acme Corp (ent-acme-corp)"
    text = _bullets(app)
    assert ("- Until 2024-11-15 the tenant was on Compute tier (legacy) ($600.00/month): "
            "15 of 30 days = $300.00.") in text
    assert ("- From 2024-11-16 the tenant was on Compute tier ($1,000.00/month): "
            "15 of 30 days = $500.00.") in text
    assert "- Total: $800.00." in text
    plans = next(f.value for f in app.table if "Price per month" in f.value.columns)
    plans = plans.replace(r"\\(.)", r"\1", regex=True)  # a table's cells are escaped
    assert list(plans["Price per month"]) == ["$600.00", "$1,000.00"]


def _invoice_id(url, tenant_id: str, period: str) -> int:
    return scalar(url, "SELECT invoice_id FROM invoices WHERE tenant_id = :t "
                       "AND period_label = :p AND status <> 'void'", t=tenant_id, p=period)


def test_umbrella_shows_paid_october_draft_november_and_the_credit(open_screen,
                                                                    demo_database_url):
    app = open_screen("pages/7_Tenant.py", query={"tenant": "ent-umbrella"})

    invoices = next(f.value for f in app.dataframe if "Period" in f.value.columns
                    and "Paid" in f.value.columns)
    assert list(zip(invoices["Period"], invoices["Status"], invoices["Total"], strict=True)) == [
        ("2024-11", "draft", "$800.00"), ("2024-10", "paid", "$1,000.00")]
    assert invoices["Invoice"][0] == "draft 2024-11"  # a draft is named by its month, not "#5"
    credits = next(f.value for f in app.table if "Where" in f.value.columns)
    assert shown(credits["Where"][0]) == "$200.00 on invoice draft 2024-11"
    # The paid October is the one in dispute, so the screen opens on it; November is a choice.
    next(s for s in app.selectbox if s.label == "Invoice").set_value(
        _invoice_id(demo_database_url, "ent-umbrella", "2024-11")).run()
    assert "- Service credit: Outage 2024-11-12, 4 hours took $200.00 off." in _bullets(app)
    audit = next(f.value for f in app.dataframe if "Changes" in f.value.columns)
    credited = audit[audit["Action"] == "invoice.credited"].iloc[0]
    assert "total: $1,000.00 → $800.00" in credited["Changes"]


def test_choosing_another_invoice_explains_that_one(open_screen, demo_database_url):
    october = scalar(demo_database_url, """
        SELECT invoice_id FROM invoices
        WHERE tenant_id = 'ent-umbrella' AND period_label = '2024-10'
    """)
    app = open_screen("pages/7_Tenant.py", query={"tenant": "ent-umbrella"})
    next(s for s in app.selectbox if s.label == "Invoice").set_value(october).run()

    text = _bullets(app)
    assert "- Invoice INV-" in text and "covers 2024-10-01 to 2024-10-31 (31 days)." in text
    assert "- Total: $1,000.00." in text
    assert "and paid on" in text


def test_wayne_tech_usage_at_the_limit_is_no_overage_and_charted(open_screen):
    app = open_screen("pages/7_Tenant.py", query={"tenant": "smb-wayne-tech"})
    assert ("- Storage: 1 TB used of 1 TB included (1,000,000,000,000 of 1,000,000,000,000 "
            "base units), so there is no overage charge") in _bullets(app)
    assert len(app.get("plotly_chart")) == 1


def test_without_a_query_parameter_a_picker_chooses_the_tenant(open_screen):
    app = open_screen("pages/7_Tenant.py")
    app.text_input[0].input("initech").run()
    assert app.header[0].value == "Initech (ent-initech)"
    assert "- Total: $850.00." in _bullets(app)


def _links(app) -> list[str]:
    return [link.value for link in app.get("page_link")] + [m.value for m in app.markdown]


def test_the_chosen_invoice_is_opened_in_the_app_not_in_a_new_tab(open_screen,
                                                                   demo_database_url):
    october = scalar(demo_database_url, """
        SELECT invoice_id FROM invoices
        WHERE tenant_id = 'ent-umbrella' AND period_label = '2024-10'
    """)
    app = open_screen("pages/7_Tenant.py", query={"tenant": "ent-umbrella"})
    assert not app.get("link_button")  # a new tab is a new, signed-out session
    next(s for s in app.selectbox if s.label == "Invoice").set_value(october).run()

    assert any(f"/Invoice?tenant=ent-umbrella&invoice={october}" in text
               for text in _links(app)), _links(app)
    invoices = next(f.value for f in app.dataframe if "Paid" in f.value.columns)
    assert not any("/Invoice?" in label for label in invoices["Invoice"])


def test_an_invoice_that_cannot_be_loaded_is_an_error_not_a_crash(open_screen, monkeypatch):
    import db.reads.invoices
    from db.errors import NotFound

    def missing(session, tenant_id, invoice_id):
        raise NotFound("invoice", f"{invoice_id} of tenant {tenant_id}")

    monkeypatch.setattr(db.reads.invoices, "invoice_detail", missing)
    app = open_screen("pages/7_Tenant.py", query={"tenant": "ent-umbrella"})

    assert len(app.error) == 1 and "was not found" in app.error[0].value
    assert app.header[0].value.startswith("Umbrella")
    assert next(f.value for f in app.dataframe if "Paid" in f.value.columns) is not None
