"""Reconciliation screen on the demo data: the sample's six rules, totals and chart; issuing
credits once; a bad file names every bad line in one message and writes nothing; the umbrella
outage credit shown beside its legacy record, which is not proposed again."""

from __future__ import annotations

import re

from ledgerline_ui.tables.plain_text import escape_markdown
from tests.actors import finance
from tests.helpers import committed_session
from tests.ui.finance_data import scalar
from tests.ui.synthetic import add_disputed_tenant

SIX_RULES = ["Proration", "Duplicate invoice", "Discount order", "Credit on a finalized invoice",
             "Overage at the limit", "Allocation rounding"]


def _discrepancies(app):
    """The page of discrepancies, as read (a table's cells are Markdown-escaped)."""
    frame = next(f.value for f in app.table if "Why" in f.value.columns)
    return frame.replace(r"\\(.)", r"\1", regex=True)


def _proposals(app):
    """The table of the proposals the credit notes tab's filters chose."""
    return next(f.value for f in app.dataframe if "Amount" in f.value.columns)


def _totals(app):
    return next(f.value for f in app.dataframe if "Net to the customer" in f.value.columns)


def test_the_sample_shows_the_six_rules_with_totals_and_a_chart(open_screen):
    app = open_screen("pages/9_Reconciliation.py")
    table = _discrepancies(app)
    sample = table[table["Legacy record"].str.startswith("OLD-2024") |
                   table["Legacy record"].str.startswith("OLD-ALLOC")]
    assert list(sample["Rule"]) == SIX_RULES
    assert list(sample["Tenant"]) == ["ent-acme-corp", "ent-globex-industries", "ent-initech",
                                      "ent-umbrella", "smb-wayne-tech", "ent-initech"]
    row = table[table["Rule"] == "Proration"].iloc[0]
    assert (row["Billed"], row["Correct"], row["Difference"]) == ("$802.00", "$800.00", "$2.00")
    totals = _totals(app).set_index("Rule")
    # (Proration and the overall row also count the legacy rows other screen tests import.)
    assert totals.loc["Discount order", "Net to the customer"] == "$5.00"
    assert totals.loc["Duplicate invoice", "Overcharged"] == "$1,000.00"
    assert totals.loc["Credit on a finalized invoice", "Overcharged"] == "$200.00"
    assert totals.loc["Overage at the limit", "Overcharged"] == "$23.00"
    assert totals.loc["Allocation rounding", "Undercharged"] == "$0.10"
    assert totals.loc["All rules", "Undercharged"] == "$0.10"
    assert len(app.get("plotly_chart")) == 1
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["Discrepancies"]) == len(table) >= 6


def test_a_bad_file_names_the_line_and_writes_nothing(open_screen, demo_database_url):
    app = open_screen("pages/9_Reconciliation.py")
    imports = scalar(demo_database_url, "SELECT count(*) FROM legacy_imports")
    invoices = scalar(demo_database_url, "SELECT count(*) FROM legacy_invoices")
    bad = ("record,tenant_id,period,legacy_id,status,currency,plans,billed_recurring,"
           "billed_total\n"
           "invoice,ent-acme-corp,2024-12,NEW-1,paid,USD,2024-06-01 c 600.00,600.00,600.00\n"
           "invoice,ent-acme-corp,2024-13,NEW-2,paid,USD,2024-06-01 c 600.00,600.00,600.00\n")
    _upload(app, bad.encode(), "bad.csv")
    assert any("line 3: period: '2024-13' is not a month like 2024-01" in e.value
               for e in app.error), [e.value for e in app.error]
    assert scalar(demo_database_url, "SELECT count(*) FROM legacy_imports") == imports
    assert scalar(demo_database_url, "SELECT count(*) FROM legacy_invoices") == invoices


def _upload(app, content: bytes, name: str):
    """AppTest cannot fill a file_uploader: the screen runs with `st.file_uploader` answering
    an uploaded file, and the Import button is pressed as a user would."""
    from unittest.mock import patch

    class Uploaded:
        def __init__(self):
            self.name = name
            self.size = len(content)

        def getvalue(self):
            return content

    with patch("streamlit.file_uploader", return_value=Uploaded()):
        app.run()
        next(b for b in app.button if b.label == "Import file").click()
        app.run()
    return app


def _legacy_overcharge(url) -> str:
    """A tenant of this test's own (the demo tenants stay as they are for the other screens),
    billed $802.00 instead of $800.00 by the old system; returns its id."""
    from db.reconciliation import import_legacy_file

    tenant = add_disputed_tenant(url, "ui-legacy")
    with committed_session(url) as session:
        import_legacy_file(session, (
            "record,tenant_id,period,legacy_id,status,currency,plans,billed_recurring,"
            "billed_total\n"
            f"invoice,{tenant.tenant_id},2024-11,OLD-UI-1,paid,USD,"
            "2024-06-01 compute-600 600.00; 2024-11-16 compute-1000 1000.00,802.00,802.00\n"),
            "ui.csv", actor=finance("tests"))
    return tenant.tenant_id


def test_issuing_a_proposed_credit_note_twice_issues_it_once(open_screen, demo_database_url):
    tenant_id = _legacy_overcharge(demo_database_url)
    app = open_screen("pages/9_Reconciliation.py")
    # The tenant filter chooses this tenant's proposals: exactly the one, its count and total.
    assert tenant_id in app.selectbox(key="tenant_credit").options
    app.selectbox(key="tenant_credit").set_value(tenant_id).run()
    assert [tuple(row) for row in _proposals(app).itertuples(index=False)] == [
        (tenant_id, "OLD-UI-1", "2024-11", "Proration", "$2.00")]
    assert f"**1 proposal** for {escape_markdown(tenant_id)}: $2.00 in all." in [
        m.value for m in app.markdown]
    app.button(key="review_credit").click().run()
    assert any("Issue **1 service credit(s)**, **$2.00** in all" in w.value for w in app.warning)
    app.button(key="confirm_credit_button").click().run()
    assert [s.value for s in app.success] == ["1 service credit issued ($2.00)."]
    table = _discrepancies(app)
    [state] = table[table["Tenant"] == tenant_id]["State"]
    assert state.startswith("credit #") and state.endswith(" issued")

    # A second press with the same selection (a stale screen, a double click) writes nothing.
    from db.reconciliation import issue_legacy_credits

    with committed_session(demo_database_url) as session:
        again = issue_legacy_credits(session, [(tenant_id, "invoice", "OLD-UI-1", "proration")],
                                     actor=finance("finance@test"))
    assert (len(again.done), len(again.already)) == (0, 1)
    assert scalar(demo_database_url, "SELECT count(*) FROM credits WHERE tenant_id = :t",
                  t=tenant_id) == 1
    # The draft November invoice took it: $1,000.00 -> $998.00.
    assert scalar(demo_database_url, "SELECT total_minor FROM invoices WHERE tenant_id = :t "
                  "AND status = 'draft'", t=tenant_id) == 99800
    assert scalar(demo_database_url, "SELECT count(*) FROM audit_log WHERE tenant_id = :t "
                  "AND action = 'legacy_correction.credited'", t=tenant_id) == 1


# A bad number, a bad status, a tenant that is not here (its id Markdown-like: it must read as
# typed) and a currency the tenant does not bill in: one upload names all four lines.
FOUR_WAYS_BAD = (
    "record,tenant_id,period,legacy_id,status,currency,plans,billed_recurring,billed_total\n"
    "invoice,ent-acme-corp,2024-12,NEW-1,paid,USD,2024-06-01 c 600.00,600.00,6OO.00\n"
    "invoice,ent-acme-corp,2025-01,NEW-2,settled,USD,2024-06-01 c 600.00,600.00,600.00\n"
    "invoice,**nobody**,2024-12,NEW-3,paid,USD,2024-06-01 c 600.00,600.00,600.00\n"
    "invoice,ent-initech,2024-12,NEW-4,paid,EUR,2024-06-01 c 600.00,600.00,600.00\n")
FOUR_PROBLEMS = [
    (2, "billed_total", "'6OO.00' is not a number"),
    (3, "status", "'settled' is not one of draft, finalized, paid, void"),
    (4, "tenant_id", "'**nobody**' is not a tenant here; add the tenant first"),
    (5, "currency", "ent-initech bills in USD, the row says EUR")]


def test_a_file_bad_in_four_ways_names_every_line_in_one_message(open_screen,
                                                                 demo_database_url):
    app = open_screen("pages/9_Reconciliation.py")
    imports = scalar(demo_database_url, "SELECT count(*) FROM legacy_imports")
    _upload(app, FOUR_WAYS_BAD.encode(), "four.csv")
    [message] = [e.value for e in app.error]
    assert message.startswith("legacy file: 4 bad lines, nothing imported: line 2: ")
    for line, column, problem in FOUR_PROBLEMS:
        assert escape_markdown(f"line {line}: {column}: {problem}") in message
    [table] = [f.value for f in app.dataframe if "Problem" in f.value.columns]
    assert [tuple(row) for row in table.itertuples(index=False)] == FOUR_PROBLEMS
    assert scalar(demo_database_url, "SELECT count(*) FROM legacy_imports") == imports


def test_the_umbrella_outage_credit_is_beside_its_legacy_record_which_is_not_proposed(
        open_screen):
    app = open_screen("pages/9_Reconciliation.py")
    table = _discrepancies(app)
    [umbrella] = table[table["Legacy record"] == "OLD-2024-11-0005"].to_dict("records")
    assert (umbrella["Rule"], umbrella["Difference"], umbrella["State"]) == (
        "Credit on a finalized invoice", "$200.00", "already granted: not proposed")
    assert umbrella["Already granted"].startswith("$200.00 service credit #")
    assert "'Outage 2024-11-12, 4 hours', on " in umbrella["Already granted"]

    # Not proposed: every proposal is chosen by default, the count the tab says, and the
    # umbrella record is not among them; its tenant has nothing else, so is not offered.
    proposed = int(re.search(r"\((\d+) proposed", app.tabs[0].label).group(1))
    assert f"**All {proposed} proposals**:" in " ".join(m.value for m in app.markdown)
    assert "OLD-2024-11-0005" not in list(_proposals(app)["Legacy record"])
    assert "ent-umbrella" not in app.selectbox(key="tenant_credit").options
    assert "1 already granted)" in app.tabs[0].label
    assert any(c.value.startswith("1 proposal left out: already granted.") for c in app.caption)
    # The first table of the credit notes tab: the proposals left out.
    left_out = next(f.value for f in app.dataframe
                    if "Already granted" in f.value.columns and "Why" not in f.value.columns)
    assert list(left_out["Legacy record"]) == ["OLD-2024-11-0005"]
    assert list(left_out["Already granted"]) == [umbrella["Already granted"]]
