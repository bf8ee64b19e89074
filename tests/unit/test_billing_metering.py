"""The six incident defects of the old billing service, one test each, with its figures.

Five are pure billing rules. ``test_invoice_generation_idempotent`` needs the real
PostgreSQL (its unique index is the guarantee), so it takes the database fixtures
and is marked ``db``.
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billing_core.allocation import split_by_weights
from billing_core.credits import apply_credit, check_credit_target, credit_target
from billing_core.discounts import FixedOff, PercentOff, apply_discounts
from billing_core.errors import InvoiceNotOpen
from billing_core.periods import Period
from billing_core.proration import PlanChange, prorate
from billing_core.usage import BYTES_PER_TB, UsagePlan, overage, price_usage
from db.invoicing import generate_invoice
from tests.actors import finance
from tests.helpers import usd
from tests.integration.factories import add_plan, add_tenant

NOVEMBER_2024 = Period(date(2024, 11, 1), date(2024, 12, 1))


class TestBillingMetering:
    def test_proration_precision(self):
        # ent-acme-corp: 15 of 30 days of $1000.00 is $500.00, not $502.00.
        half = prorate([PlanChange(date(2024, 11, 16), "Compute", usd("1000.00"))], NOVEMBER_2024)
        assert [line.amount for line in half] == [usd("500.00")]
        assert half[0].quantity == 15
        assert "15 of 30 days" in half[0].explanation

        upgrade = prorate(
            [
                PlanChange(date(2024, 10, 1), "Growth", usd("600.00")),
                PlanChange(date(2024, 11, 16), "Compute", usd("1000.00")),
            ],
            NOVEMBER_2024,
        )
        assert [(line.description, line.amount) for line in upgrade] == [
            ("Growth", usd("300.00")),
            ("Compute", usd("500.00")),
        ]

    def test_discount_stacking_order(self):
        # ent-initech: percentages first, then fixed amounts, whatever the listed order.
        result = apply_discounts(
            usd("1000.00"),
            [FixedOff(usd("50.00"), "Promotional credit"), PercentOff("10", "Enterprise")],
        )
        assert result.total == usd("850.00")
        assert [(step.description, step.amount) for step in result.steps] == [
            ("Enterprise", usd("-100.00")),
            ("Promotional credit", usd("-50.00")),
        ]
        assert result.unused == usd("0.00")
        assert usd("1000.00") + sum(step.amount for step in result.steps) == result.total

    @pytest.mark.parametrize("status", ["finalized", "paid", "void"])
    def test_credit_on_finalized_invoice(self, status):
        # ent-umbrella: a credit aimed at a closed invoice is refused, naming it and its status.
        with pytest.raises(InvoiceNotOpen) as refused:
            check_credit_target("INV-2024-000010", status)
        assert refused.value.invoice == "INV-2024-000010"
        assert refused.value.status == status
        assert "INV-2024-000010" in str(refused.value) and status in str(refused.value)

        # SPEC 5: October paid, November draft -> the $200.00 reduces November.
        assert credit_target("draft") == "invoice"
        check_credit_target("INV-NOV-DRAFT", "draft")
        applied, left = apply_credit(usd("1000.00"), usd("200.00"))
        assert (usd("1000.00") - applied, left) == (usd("800.00"), usd("0.00"))

    def test_overage_at_limit(self):
        # smb-wayne-tech: exactly 1 TB on a 1 TB plan is no overage; one byte more is one byte.
        plan = UsagePlan("storage", "TB", BYTES_PER_TB, BYTES_PER_TB, usd("23.00"), "byte")
        assert overage(10**12, 10**12) == 0
        assert price_usage(plan, 10**12) is None
        assert overage(10**12 + 1, 10**12) == 1
        line = price_usage(plan, 10**12 + 1)
        assert line is not None
        assert line.quantity == 1
        assert line.exact_amount == Decimal("0.000000000023")
        assert line.amount == usd("0.00")
        assert "overage 1 byte" in line.explanation

    def test_cost_allocation_sums_to_total(self):
        by_usage = split_by_weights(
            usd("1000.00"), {"x": Decimal("33.33"), "y": Decimal("33.33"), "z": Decimal("33.34")}
        )
        assert by_usage.shares_minor == {"x": 33330, "y": 33330, "z": 33340}
        equal = split_by_weights(usd("1000.00"), {"c": 1, "b": 1, "a": 1})
        assert equal.amounts() == {"a": usd("333.34"), "b": usd("333.33"), "c": usd("333.33")}
        for allocation in (by_usage, equal):
            assert sum(allocation.shares_minor.values()) == 100000

    @pytest.mark.db
    def test_invoice_generation_idempotent(self, sessions, new_tenant_id):
        # ent-globex-industries: fifty month-end requests at once, each on its own
        # connection, make one draft invoice and every caller gets its id.
        with sessions.begin() as setup:
            add_plan(setup, "test-compute-1000", 100000)
            tenant = add_tenant(setup, new_tenant_id("ent-globex-industries"),
                                plans=[(date(2024, 1, 1), "test-compute-1000")])
        callers = 50
        barrier = threading.Barrier(callers)
        outcomes, errors = [], []

        def generate() -> None:
            try:
                with sessions.begin() as session:
                    session.connection()  # each caller's own connection, open before the race
                    barrier.wait()
                    outcomes.append(generate_invoice(session, tenant, NOVEMBER_2024,
                                                     actor=finance("month-end")))
            except Exception as error:  # collected, then asserted empty
                errors.append(error)

        threads = [threading.Thread(target=generate) for _ in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert len(outcomes) == callers
        assert len({outcome.invoice_id for outcome in outcomes}) == 1
        assert sum(outcome.created for outcome in outcomes) == 1
        with sessions() as session:
            invoices, lines = session.execute(text("""
                SELECT (SELECT count(*) FROM invoices WHERE tenant_id = :t),
                       (SELECT count(*) FROM invoice_lines WHERE tenant_id = :t)
            """), {"t": tenant}).one()
        assert (invoices, lines) == (1, 1)
