"""Already granted: a proposed legacy correction laid beside the credits the tenant received
outside reconciliation. Tied by an explicit fact (the record's id, the invoice of the period, a
day of the period in the reason); left out only when the same amount is the same event."""

from __future__ import annotations

from datetime import date

import pytest

from billing_core.already_granted import GrantedCredit, lay_beside
from billing_core.money import Money
from billing_core.periods import calendar_month
from billing_core.reconciliation import Discrepancy, Rule, Source
from tests.helpers import usd

NOVEMBER = calendar_month("2024-11")


def owed(rule: Rule = Rule.CREDIT_ON_FINALIZED, amount: str = "200.00",
         legacy_id: str = "OLD-2024-11-0005", tenant_id: str = "ent-umbrella",
         period: str = "2024-11") -> Discrepancy:
    return Discrepancy(Source.INVOICE, tenant_id, legacy_id, period, rule, usd("1000.00"),
                       usd("800.00"), usd(amount), "explained")


def credit(reference: str = "#5", amount: str = "200.00", reason: str = "Service outage",
           invoice: str | None = "2024-11", tenant_id: str = "ent-umbrella",
           currency: str = "USD") -> GrantedCredit:
    period = calendar_month(invoice) if invoice else None
    return GrantedCredit("service credit", reference, tenant_id, Money(amount, currency),
                         date(2024, 12, 3), reason, period,
                         f"the {invoice} draft" if invoice else None)


# (id, proposal, granted, related, left out)
CASES = [
    ("the outage credit landed on the November draft: the same event",
     owed(), credit(), True, True),
    ("a credit on the balance whose reason names a day of November: the same event",
     owed(), credit(reason="Outage 2024-11-12, 4 hours", invoice=None), True, True),
    ("a credit on the balance whose reason names the month: the same event",
     owed(), credit(reason="Outage credit for 2024-11", invoice=None), True, True),
    ("finance corrected the record by hand (a request above the threshold): any rule",
     owed(Rule.PRORATION, "2.00", "OLD-2024-11-0001"),
     credit(amount="2.00", reason="Old bill OLD-2024-11-0001 prorated wrong", invoice=None),
     True, True),
    ("a different amount for November: shown beside, still proposed",
     owed(), credit(amount="150.00"), True, False),
    ("a proration error equal to a November credit: shown beside, not assumed to be it",
     owed(Rule.PRORATION, "200.00", "OLD-2024-11-0001"), credit(), True, False),
    ("a credit for December: not related",
     owed(), credit(reason="Outage 2024-12-02", invoice="2024-12"), False, False),
    ("another tenant's credit: not related",
     owed(), credit(tenant_id="ent-acme-corp"), False, False),
    ("another currency: not related",
     owed(), credit(amount="200.00", currency="EUR"), False, False),
    ("the record's id inside a longer id is not named",
     owed(Rule.PRORATION, "2.00", "OLD-1"),
     credit(amount="2.00", reason="Old bill OLD-10", invoice=None), False, False),
    ("a date that is no day names nothing",
     owed(), credit(reason="Outage 2024-11-31", invoice=None), False, False),
]


@pytest.mark.parametrize(("proposal", "granted", "related", "left_out"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_proposal_beside_the_credits_already_granted(proposal, granted, related, left_out):
    beside = lay_beside([proposal], [granted]).get(proposal.key)
    assert (beside is not None, beside is not None and beside.covered_by == granted) == (
        related, left_out)
    if related:
        assert beside.related == (granted,)


def test_one_credit_answers_for_one_correction_only():
    first, second = owed(legacy_id="OLD-A"), owed(legacy_id="OLD-B")
    outage = credit()
    beside = lay_beside([first, second], [outage])
    assert beside[first.key].covered_by == outage
    assert (beside[second.key].related, beside[second.key].covered_by) == ((outage,), None)


def test_the_oldest_credit_of_the_amount_is_taken_first():
    proposal = owed()
    older, newer = credit("#5"), credit("#9")
    assert lay_beside([proposal], [older, newer])[proposal.key].covered_by == older


def test_a_granted_credit_reads_as_amount_kind_date_reason_and_where_it_landed():
    assert credit(reason="Outage 2024-11-12, 4 hours").describe() == (
        "$200.00 service credit #5, 2024-12-03, 'Outage 2024-11-12, 4 hours', "
        "on the 2024-11 draft")
    assert credit(invoice=None).describe().endswith("'Service outage', on the credit balance")
