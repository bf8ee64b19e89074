"""The home screen's month at a glance: counts and totals by status, summed exactly."""

from __future__ import annotations

from datetime import date

from billing_core.periods import calendar_month
from db.credits import issue_service_credit
from db.database import make_sessionmaker
from db.invoicing import generate_invoice
from db.reads.periods import status_summary
from db.transitions import finalize_invoice, record_payment
from tests.actors import finance
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant

NOVEMBER = calendar_month("2024-11")
ACTOR = finance("finance@test")


def test_summary_counts_and_sums_each_status_to_the_cent(fresh_engine):
    with make_sessionmaker(fresh_engine).begin() as session:
        add_plan(session, "test-basic-600", 60000)
        add_plan(session, "test-compute-1000", 100000)
        start = [(date(2024, 1, 1), "test-compute-1000")]
        drafts = [add_tenant(session, f"draft-{n}", plans=start) for n in range(2)]
        paid = add_tenant(session, "paid", plans=[(date(2024, 11, 16), "test-compute-1000")])
        other_month = add_tenant(session, "december-only", plans=start)
        for tenant in drafts:
            generate_invoice(session, tenant, NOVEMBER, actor=ACTOR)
        invoice = generate_invoice(session, paid, NOVEMBER, actor=ACTOR).invoice_id
        finalize_invoice(session, paid, invoice, actor=ACTOR)
        record_payment(session, paid, invoice, actor=ACTOR)
        generate_invoice(session, other_month, calendar_month("2024-12"), actor=ACTOR)
        issue_service_credit(session, paid, usd("200.00"), "Outage", actor=ACTOR,
                             idempotency_key="outage-1")

        summary = status_summary(session, "2024-11")

    assert summary.period_label == "2024-11"
    assert [(row.status, row.count, row.totals) for row in summary.by_status] == [
        ("draft", 2, (usd("2000.00"),)),
        ("paid", 1, (usd("500.00"),)),
    ]
    # The paid invoice cannot take the credit, so it waits on the balance.
    assert summary.credits_outstanding == (usd("200.00"),)
