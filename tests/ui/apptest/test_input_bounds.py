"""A number from outside is measured before it is used, on the screens as in the core.

Security review item 2: "1e900000" as the used quantity on Preview stalled every
user for about 48 s per click; "1e3000000" pasted as a weight on Cost allocation
froze the server. Here each answers with a message on the same run.
"""

from __future__ import annotations

import pytest

from tests.ui.finance_data import scalar


def test_preview_refuses_1e900000_as_used_quantity_naming_the_field(open_screen):
    app = open_screen("pages/3_Preview.py")
    {t.label: t for t in app.text_input}["Used quantity (in the billing unit)"].input("1e900000")
    app.button[0].click().run()

    assert not app.exception
    assert [e.value for e in app.error] == [
        "used quantity: '1e900000' has too many digits: 900,001 written out, at most 100"]
    assert not any("Correct price" in s.value for s in app.subheader)


def test_cost_allocation_refuses_a_pasted_weight_of_1e3000000_for_a_manager(
        open_screen, demo_database_url):
    runs = scalar(demo_database_url, "SELECT count(*) FROM allocation_runs")
    app = open_screen("pages/5_Cost_allocation.py", as_role="manager")
    app.radio[0].set_value("By uploaded weights (CSV)").run()
    app.text_area[0].input("tenant_id,weight\nent-acme-corp,1e3000000\nent-initech,1\n")
    next(b for b in app.button if b.label == "Calculate split").click()
    app.run()

    assert not app.exception
    assert [e.value for e in app.error] == [
        "weights CSV: line 2: weight for 'ent-acme-corp': '1e3000000' has too many digits: "
        "3,000,001 written out, at most 18"]
    assert scalar(demo_database_url, "SELECT count(*) FROM allocation_runs") == runs


@pytest.mark.parametrize("invoice", ["²", "9" * 5000], ids=["superscript-two", "5000-digits"])
def test_a_tenant_link_with_an_unreadable_invoice_id_opens_the_first_invoice(open_screen, invoice):
    app = open_screen("pages/7_Tenant.py", query={"tenant": "ent-initech", "invoice": invoice})

    assert not app.exception
    assert next(box for box in app.selectbox if box.label == "Invoice").index == 0
