"""Invoices: pricing one tenant's period, line by line, down to the total.

An invoice for a period is built in a fixed order, and the order is part of
the rules:

1. recurring lines, one per plan segment (proration, SPEC 3);
2. usage lines, one per metric with an overage (SPEC 6);
   their sum is the subtotal;
3. discounts: every percentage first, compounding, then every fixed amount
   (SPEC 4), each its own negative line;
4. the tenant's credit balance, as far as it goes without taking the total
   below zero; the rest stays on the balance (SPEC 5).

Every step adds a line, each rounded once, so the lines always sum to the
total and the invoice explains itself: nobody has to trust a number that is
not on the page. ``price_invoice`` is pure; storing the result, numbering it
and moving it through its states (``billing_core.states``) belong to the
database layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing_core.credits import apply_credit
from billing_core.discounts import FixedOff, PercentOff, discount_steps
from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.lines import InvoiceLine, LineKind, priced_line
from billing_core.money import Money, format_money, money_from_minor
from billing_core.periods import Period
from billing_core.proration import PlanChange, prorate_into
from billing_core.usage import UsagePlan, usage_line

__all__ = ["InvoiceLine", "LineKind", "PricedInvoice", "price_invoice"]


@dataclass(frozen=True, slots=True)
class PricedInvoice:
    """A priced period: its lines and the totals they add up to.

    ``discount_total`` and ``credit_applied`` are positive amounts taken off;
    the lines carry them as negative amounts, so
    ``sum(line.amount for line in lines) == total
    == subtotal - discount_total - credit_applied``.
    ``unused_fixed_discount`` is fixed discount that found nothing left to
    reduce; ``credit_balance_left`` is what stays on the tenant's balance.
    """

    period: Period
    currency: str
    lines: tuple[InvoiceLine, ...]
    subtotal: Money
    discount_total: Money
    credit_applied: Money
    total: Money
    unused_fixed_discount: Money
    credit_balance_left: Money

    def __post_init__(self) -> None:
        if sum((line.amount for line in self.lines), Money.zero(self.currency)) != self.total:
            raise InvalidInput("lines", f"do not add up to the total {self.total}")
        if self.subtotal - self.discount_total - self.credit_applied != self.total:
            raise InvalidInput("total", "is not subtotal - discounts - credit applied")
        if self.total.is_negative:
            raise InvalidInput("total", f"{self.total} is negative")


_new = object.__new__
(
    _set_period,
    _set_currency,
    _set_lines,
    _set_subtotal,
    _set_discount_total,
    _set_credit_applied,
    _set_total,
    _set_unused_fixed_discount,
    _set_credit_balance_left,
) = (PricedInvoice.__dict__[name].__set__ for name in PricedInvoice.__dataclass_fields__)


def price_invoice(
    period: Period,
    plan_changes: Sequence[PlanChange],
    usage: Iterable[tuple[UsagePlan, int]] = (),
    discounts: Iterable[PercentOff | FixedOff] = (),
    credit_balance: Money | None = None,
) -> PricedInvoice:
    """``price_invoice(period, plan_changes, usage=(), discounts=(), credit_balance=None)``.

    ``usage`` is pairs of (UsagePlan, used base units). SPEC 3 + 4 together:
    November 2024, $600.00 upgraded to $1000.00 on 2024-11-16, 10% off and
    $50.00 off -> lines $300.00, $500.00, -$80.00, -$50.00; total $670.00.
    """
    lines: list[InvoiceLine] = []
    # Every line is a whole number of minor units, so they are added up as ints.
    subtotal_minor = prorate_into(plan_changes, period, lines)
    # The recurring lines share one currency (prorate checks that); each usage line must too.
    currency = lines[0].amount.currency if lines else None
    for plan, used in usage:
        priced = usage_line(plan, used)
        if priced is not None:
            line_currency = priced[0].amount.currency
            if currency is None:
                currency = line_currency
            elif line_currency != currency:
                raise CurrencyMismatch(currency, line_currency, "add")
            lines.append(priced[0])
            subtotal_minor += priced[1]
    if currency is None:  # nothing billed: the plan's currency, else the balance's
        if plan_changes:
            currency = plan_changes[0].price.currency
        elif credit_balance is not None:
            currency = credit_balance.currency
        else:
            raise InvalidInput("plan_changes", "an invoice needs a plan or usage to price")
    steps, total_minor, unused_minor = discount_steps(subtotal_minor, currency, discounts)
    lines += steps
    total = money_from_minor(total_minor, currency)

    applied = Money.zero(currency)
    balance_left = applied
    if credit_balance is not None and credit_balance:
        applied, balance_left = apply_credit(total, credit_balance)
    if applied:  # a zero total takes nothing from the balance: no "-$0.00" line
        lines.append(
            priced_line(
                LineKind.CREDIT,
                "Credit balance",
                -applied,
                None,
                (_explain_credit, applied, credit_balance, balance_left),
            )
        )
        total = total - applied

    # Every value was built above by the rules the public constructor would
    # check again (re-adding every line), so the hot path skips that.
    invoice = _new(PricedInvoice)
    _set_period(invoice, period)
    _set_currency(invoice, currency)
    _set_lines(invoice, tuple(lines))
    _set_subtotal(invoice, money_from_minor(subtotal_minor, currency))
    _set_discount_total(invoice, money_from_minor(subtotal_minor - total_minor, currency))
    _set_credit_applied(invoice, applied)
    _set_total(invoice, total)
    _set_unused_fixed_discount(invoice, money_from_minor(unused_minor, currency))
    _set_credit_balance_left(invoice, balance_left)
    return invoice


def _explain_credit(line: InvoiceLine, explain: tuple) -> tuple[Decimal, str]:
    """The credit line's exact amount and sentence, worked out on first use."""
    _, applied, credit_balance, balance_left = explain
    return applied.amount.copy_negate(), (
        f"{format_money(applied)} of the {format_money(credit_balance)} credit balance; "
        f"{format_money(balance_left)} stays on the balance"
    )
