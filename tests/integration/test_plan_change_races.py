"""A plan change racing a finalize, on two real connections (SPEC 11, 13).

Either the change re-prices the draft first and the finalize of the version
reviewed is refused as stale, or the finalize wins and the change is refused
because its period is finalized; never a finalized invoice that differs from
what its lines say, never both, never neither.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import text

from billing_core.drafts import DraftChanged
from billing_core.periods import calendar_month
from billing_core.subscriptions import PeriodClosed
from db.invoicing import generate_invoice
from db.plans import create_plan
from db.subscriptions import change_plan
from db.tenants import create_tenant
from db.transitions import finalize_invoice
from tests.actors import finance
from tests.helpers import committed_session, usd

NOVEMBER = calendar_month("2024-11")
ACTOR = finance("finance@test")
ROUNDS = 20


@pytest.fixture(scope="module")
def plans(database_url) -> tuple[str, str]:
    prefix = f"race-{uuid.uuid4().hex[:8]}"
    with committed_session(database_url) as session:
        small = create_plan(session, f"{prefix}-600", "Compute 600", usd("600.00"), actor=ACTOR)
        large = create_plan(session, f"{prefix}-1000", "Compute 1000", usd("1000.00"),
                            actor=ACTOR)
    return small.plan_id, large.plan_id


def _draft(sessions, tenant_id: str, plan_id: str) -> int:
    with sessions.begin() as session:
        create_tenant(session, tenant_id, "Race", "USD", actor=ACTOR)
        change_plan(session, tenant_id, date(2024, 11, 1), plan_id, actor=ACTOR)
        return generate_invoice(session, tenant_id, NOVEMBER, actor=ACTOR).invoice_id


def _race(sessions, calls) -> tuple[dict[str, object], dict[str, Exception]]:
    barrier = threading.Barrier(len(calls))
    results: dict[str, object] = {}
    errors: dict[str, Exception] = {}

    def run(name, call) -> None:
        try:
            with sessions.begin() as session:
                session.connection()
                barrier.wait()
                results[name] = call(session)
        except Exception as error:  # collected and asserted by the test
            errors[name] = error

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_a_plan_change_racing_a_finalize_leaves_one_winner_and_a_true_invoice(
        sessions, new_tenant_id, plans, round_no):
    small, large = plans
    tenant = new_tenant_id("ent-race")
    invoice_id = _draft(sessions, tenant, small)

    results, errors = _race(sessions, {
        "change": lambda s: change_plan(s, tenant, date(2024, 11, 16), large, actor=ACTOR),
        "finalize": lambda s: finalize_invoice(s, tenant, invoice_id, actor=finance("bob"),
                                               reviewed_version=1),
    })

    assert len(results) == 1 and len(errors) == 1, (results, errors)
    with sessions() as session:
        status, total, version = session.execute(text("""
            SELECT status, total_minor, price_version FROM invoices
            WHERE tenant_id = :t AND invoice_id = :i
        """), {"t": tenant, "i": invoice_id}).one()
        lines = list(session.execute(text("""
            SELECT amount_minor FROM invoice_lines WHERE tenant_id = :t AND invoice_id = :i
            ORDER BY line_no
        """), {"t": tenant, "i": invoice_id}).scalars())
    assert sum(lines) == total
    if "change" in results:
        assert isinstance(errors["finalize"], DraftChanged)
        assert str(errors["finalize"]) == (f"Invoice #{invoice_id} changed since you opened "
                                           "it: $600.00 is now $800.00; review it again")
        assert (status, lines, version) == ("draft", [30000, 50000], 2)
    else:
        assert isinstance(errors["change"], PeriodClosed)
        assert str(errors["change"]) == (f"starts_on: 2024-11 is finalized for {tenant}; "
                                         "correct it with a credit note")
        assert (status, lines, version) == ("finalized", [60000], 1)
