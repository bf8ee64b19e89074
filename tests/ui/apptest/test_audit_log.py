"""Audit log screen: filters, paging, and before/after shown readably."""

from __future__ import annotations

from tests.ui.finance_data import scalar


def _page_caption(app) -> str:
    return next(c.value for c in app.caption if c.value.startswith("Page "))


def _table(app):
    return next(f.value for f in app.dataframe if "Changes" in f.value.columns)


def test_umbrella_credit_reads_as_a_change_of_total(open_screen):
    app = open_screen("pages/8_Audit_log.py", query={"tenant": "ent-umbrella"})
    table = _table(app)
    assert set(table["Tenant"]) == {"ent-umbrella"}
    credited = table[table["Action"] == "invoice.credited"].iloc[0]
    assert credited["Actor"] == "finance@demo"
    assert "credit: $0.00 → $200.00" in credited["Changes"]
    assert "total: $1,000.00 → $800.00" in credited["Changes"]


def test_filters_by_actor_and_action(open_screen, demo_database_url):
    app = open_screen("pages/8_Audit_log.py")
    next(s for s in app.selectbox if s.label == "Actor").set_value("finance@demo").run()
    next(s for s in app.selectbox if s.label == "Action").set_value("allocation.run").run()
    table = _table(app)
    expected = scalar(demo_database_url, "SELECT count(*) FROM audit_log WHERE actor = "
                      "'finance@demo' AND action = 'allocation.run'")
    assert len(table) == expected >= 1
    assert "label: Shared database cluster, 2024-11" in table.iloc[-1]["Changes"]
    assert "total: $1,000.00" in table.iloc[-1]["Changes"]


def test_pages_older_and_newer_without_repeating_entries(open_screen):
    app = open_screen("pages/8_Audit_log.py")
    first = list(_table(app)["Entity"]), _page_caption(app)
    assert len(first[0]) == 50
    next(b for b in app.button if b.label == "Older →").click().run()
    second_caption = _page_caption(app)
    assert second_caption.startswith("Page 2")
    first_ids = [int(x) for x in first[1].split("entries ")[1].split(" to ")]
    second_ids = [int(x) for x in second_caption.split("entries ")[1].split(" to ")]
    assert second_ids[0] < first_ids[1]
    next(b for b in app.button if b.label == "← Newer").click().run()
    assert _page_caption(app) == first[1]


def test_a_date_range_with_no_entries_says_so(open_screen):
    from datetime import date

    app = open_screen("pages/8_Audit_log.py")
    app.date_input[0].set_value((date(2001, 1, 1), date(2001, 1, 31))).run()
    assert [i.value for i in app.info] == ["No audit entries match these filters."]
