"""The stored reconciliation report (issue 17): each import stores what `reconcile` gives, and
the screen's reads (counts, totals, pages, selections by rule and tenant) say exactly what the
report computed in full says, with corrections and credits already granted laid over it."""

from __future__ import annotations

from billing_core.reconciliation import CorrectionKind, Rule
from db.reads.reconciliation import (
    PAGE_SIZE,
    discrepancy_count,
    discrepancy_page,
    proposal_filters,
    proposal_selection,
    report_summary,
    selected_keys,
    stored_report_rows,
)
from db.reconciliation import import_legacy_file, issue_legacy_credits, reconciliation_report
from tests.helpers import usd
from tests.integration.factories import add_tenant
from tests.integration.test_reconciliation import ACTOR, grant_outage_credit, incident_file

CREDIT, VOID = CorrectionKind.CREDIT, CorrectionKind.VOID
HEADER = "record,tenant_id,period,legacy_id,status,currency,plans,billed_recurring,billed_total\n"


def test_the_stored_report_says_what_the_full_report_says(session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    grant_outage_credit(session, ids["ent-umbrella"])  # beside its record: left out
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)

    full = reconciliation_report(session)
    summary = report_summary(session)
    stored = stored_report_rows(session, summary)
    assert [(row.discrepancy, row.state, row.granted) for row in stored] == [
        (row.discrepancy, row.state, row.granted) for row in full.rows]
    assert summary.totals == full.totals
    assert summary.discrepancy_count == len(full.rows)
    assert (summary.invoice_count, summary.allocation_count) == (
        full.invoice_count, full.allocation_count)
    assert (summary.proposed_credit_count, summary.proposed_void_count) == (
        len(full.proposed_credits), len(full.proposed_voids))
    assert summary.left_out == full.left_out
    # The selection of every proposal counts, totals and keys the same proposals.
    everything = proposal_selection(session, summary, CREDIT)
    assert everything.count == len(selected_keys(session, summary, CREDIT)) == len(
        full.proposed_credits)
    assert sum(amount.to_minor_units() for amount in everything.amounts) == sum(
        row.discrepancy.difference.to_minor_units() for row in full.proposed_credits)
    assert [row.discrepancy.legacy_id for row in summary.left_out
            if row.discrepancy.tenant_id == ids["ent-umbrella"]] == ["OLD-2024-11-0005"]


def test_a_selection_by_rule_and_tenant_counts_totals_and_corrects_its_proposals(
        session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    acme, initech, umbrella = ids["ent-acme-corp"], ids["ent-initech"], ids["ent-umbrella"]
    grant_outage_credit(session, umbrella)
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    summary = report_summary(session)

    chosen = proposal_selection(session, summary, CREDIT, Rule.PRORATION, acme)
    assert (chosen.count, chosen.amounts, [row.discrepancy.legacy_id for row in chosen.rows]) == (
        1, (usd("2.00"),), ["OLD-2024-11-0001"])
    # Initech's allocation cents are an undercharge: reported, never proposed.
    initech_chosen = proposal_selection(session, summary, CREDIT, tenant_id=initech)
    assert (initech_chosen.count, initech_chosen.amounts) == (1, (usd("5.00"),))
    # The umbrella outage was granted already: not chosen, not offered as a filter.
    assert proposal_selection(session, summary, CREDIT, tenant_id=umbrella).count == 0
    rules, tenants = proposal_filters(summary, CREDIT)
    assert acme in tenants and umbrella not in tenants and Rule.DUPLICATE_INVOICE not in rules
    duplicates = proposal_selection(session, summary, VOID, tenant_id=ids["ent-globex-industries"])
    assert (duplicates.count, duplicates.amounts) == (1, (usd("1000.00"),))

    keys = selected_keys(session, summary, CREDIT, Rule.PRORATION, acme)
    assert keys == ((acme, "invoice", "OLD-2024-11-0001", "proration"),)
    issue_legacy_credits(session, keys, actor=ACTOR)
    after = report_summary(session)
    assert proposal_selection(session, after, CREDIT, Rule.PRORATION, acme).count == 0
    assert after.proposed_credit_count == summary.proposed_credit_count - 1
    [state] = [row.state for row in stored_report_rows(session, after)
               if row.discrepancy.key == keys[0]]
    assert state.startswith("credit #") and state.endswith(" issued")


def test_a_later_file_billing_a_period_again_adds_a_duplicate_to_the_stored_report(
        session, new_tenant_id):
    content, ids = incident_file(session, new_tenant_id)
    acme = ids["ent-acme-corp"]
    import_legacy_file(session, content, "legacy.csv", actor=ACTOR)
    before = report_summary(session)
    import_legacy_file(session, HEADER + f"invoice,{acme},2024-10,OLD-AGAIN,paid,USD,"
                       "2024-06-01 compute-600 600.00,600.00,600.00\n", "again.csv", actor=ACTOR)
    after = report_summary(session)
    assert discrepancy_count(after, Rule.DUPLICATE_INVOICE) == (
        discrepancy_count(before, Rule.DUPLICATE_INVOICE) + 1)
    assert [row.discrepancy.legacy_id for row in proposal_selection(
        session, after, VOID, tenant_id=acme).rows] == ["OLD-AGAIN"]


def test_pages_of_discrepancies_follow_the_report_order_without_gaps(session, new_tenant_id):
    tenant = add_tenant(session, new_tenant_id("paged"))
    rows = [f"invoice,{tenant},{2000 + month // 12}-{month % 12 + 1:02d},OLD-P-{month},paid,USD,"
            "1999-01-01 compute-600 600.00,601.00,601.00\n" for month in range(PAGE_SIZE + 20)]
    import_legacy_file(session, HEADER + "".join(rows), "paged.csv", actor=ACTOR)
    summary = report_summary(session)
    everything = stored_report_rows(session, summary)
    pages = [discrepancy_page(session, summary, page=page)
             for page in range(-(-len(everything) // PAGE_SIZE))]
    assert [len(page) for page in pages[:-1]] == [PAGE_SIZE] * (len(pages) - 1)
    assert [row for page in pages for row in page] == list(everything)
    mine = [row.discrepancy for row in everything if row.discrepancy.tenant_id == tenant]
    assert {(item.rule, item.difference) for item in mine} == {(Rule.PRORATION, usd("1.00"))}
    assert len(mine) == PAGE_SIZE + 20
    # One rule's pages: that rule's rows, in the same order.
    proration = [row for row in everything if row.discrepancy.rule == Rule.PRORATION]
    count = discrepancy_count(summary, Rule.PRORATION)
    assert count == len(proration)
    assert [row for page in range(-(-count // PAGE_SIZE))
            for row in discrepancy_page(session, summary, Rule.PRORATION, page)] == proration
