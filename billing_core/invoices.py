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
from decimal import Decimal
from operator import attrgetter

from billing_core.credits import apply_credit
from billing_core.discounts import FixedOff, PercentOff, discount_steps
from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.lines import CREDIT, InvoiceLine, LineKind, priced_line
from billing_core.money import FieldValue, Money, format_money, money_from_minor, read_only
from billing_core.periods import Period
from billing_core.proration import PlanChange, prorate_into
from billing_core.usage import UsagePlan, price_usage

__all__ = ["InvoiceLine", "LineKind", "PricedInvoice", "price_invoice"]


def _money_field(name: str, doc: str) -> Money:
    # A total the invoice keeps in minor units (slot ``_<name>``), read as Money.
    minor = attrgetter(f"_{name}")
    return read_only(
        name, lambda invoice: money_from_minor(minor(invoice), invoice._currency), doc
    )


class PricedInvoice(FieldValue):
    """A priced period: its lines and the totals they add up to.

    ``PricedInvoice(period, currency, lines, subtotal, discount_total,
    credit_applied, total, unused_fixed_discount, credit_balance_left)``.
    ``discount_total`` and ``credit_applied`` are positive amounts taken off;
    the lines carry them as negative amounts, so
    ``sum(line.amount for line in lines) == total
    == subtotal - discount_total - credit_applied``.
    ``unused_fixed_discount`` is fixed discount that found nothing left to
    reduce; ``credit_balance_left`` is what stays on the tenant's balance.

    An immutable value, compared and hashed by its fields like a frozen
    dataclass. The totals are kept as the rules add them, in minor units, and
    read as Money.
    """

    __match_args__ = (
        "period", "currency", "lines", "subtotal", "discount_total", "credit_applied", "total",
        "unused_fixed_discount", "credit_balance_left",
    )
    FIELDS = __match_args__
    __slots__ = (
        "_period", "_currency", "_lines", "_subtotal", "_discount_total", "_credit_applied",
        "_total", "_unused_fixed_discount", "_credit_balance_left",
    )
    _period: Period
    _currency: str
    _lines: tuple[InvoiceLine, ...]
    _subtotal: int
    _discount_total: int
    _credit_applied: int
    _total: int
    _unused_fixed_discount: int
    _credit_balance_left: int

    def __init__(
        self, period: Period, currency: str, lines: tuple[InvoiceLine, ...], subtotal: Money,
        discount_total: Money, credit_applied: Money, total: Money,
        unused_fixed_discount: Money, credit_balance_left: Money,
    ) -> None:
        if sum((line.amount for line in lines), Money.zero(currency)) != total:
            raise InvalidInput("lines", f"do not add up to the total {total}")
        if subtotal - discount_total - credit_applied != total:
            raise InvalidInput("total", "is not subtotal - discounts - credit applied")
        if total.is_negative:
            raise InvalidInput("total", f"{total} is negative")
        self._period = period
        self._currency = currency
        self._lines = tuple(lines)
        self._subtotal = subtotal.to_minor_units()
        self._discount_total = discount_total.to_minor_units()
        self._credit_applied = credit_applied.to_minor_units()
        self._total = total.to_minor_units()
        self._unused_fixed_discount = unused_fixed_discount.to_minor_units()
        self._credit_balance_left = credit_balance_left.to_minor_units()

    period: Period = read_only("period", attrgetter("_period"), "The period billed.")
    currency: str = read_only("currency", attrgetter("_currency"), "Every amount's currency.")
    lines: tuple[InvoiceLine, ...] = read_only(
        "lines", attrgetter("_lines"), "In SPEC order: recurring, usage, discounts, credit."
    )
    subtotal = _money_field("subtotal", "The recurring and usage lines added up.")
    discount_total = _money_field("discount_total", "Every discount step, a positive amount.")
    credit_applied = _money_field("credit_applied", "Taken from the credit balance.")
    total = _money_field("total", "What is owed: the lines added up, never negative.")
    unused_fixed_discount = _money_field(
        "unused_fixed_discount", "Fixed discount that found nothing left to take off."
    )
    credit_balance_left = _money_field(
        "credit_balance_left", "What stays on the tenant's credit balance."
    )


_new = object.__new__


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
    currency = lines[0].currency if lines else None
    for plan, used in usage:
        line = price_usage(plan, used)
        if line is not None:
            if currency is None:
                currency = line.currency
            elif line.currency != currency:
                raise CurrencyMismatch(currency, line.currency, "add")
            lines.append(line)
            subtotal_minor += line.amount_minor
    if currency is None:  # nothing billed: the plan's currency, else the balance's
        if plan_changes:
            currency = plan_changes[0].price.currency
        elif credit_balance is not None:
            currency = credit_balance.currency
        else:
            raise InvalidInput("plan_changes", "an invoice needs a plan or usage to price")
    steps, total_minor, unused_minor = discount_steps(subtotal_minor, currency, discounts)
    lines += steps
    applied_minor = left_minor = 0
    if credit_balance is not None and credit_balance:
        before_credit = money_from_minor(total_minor, currency)
        applied, balance_left = apply_credit(before_credit, credit_balance)
        applied_minor, left_minor = applied.to_minor_units(), balance_left.to_minor_units()
        if applied_minor:  # a zero total takes nothing from the balance: no "-$0.00" line
            explain = (_explain_credit, applied, credit_balance, balance_left)
            lines.append(priced_line(
                CREDIT, "Credit balance", -applied_minor, currency, None, explain
            ))

    # Every value was built above by the rules the public constructor would
    # check again (re-adding every line), so the hot path skips that.
    invoice = _new(PricedInvoice)
    invoice._period = period
    invoice._currency = currency
    invoice._lines = tuple(lines)
    invoice._subtotal = subtotal_minor
    invoice._discount_total = subtotal_minor - total_minor
    invoice._credit_applied = applied_minor
    invoice._total = total_minor - applied_minor
    invoice._unused_fixed_discount = unused_minor
    invoice._credit_balance_left = left_minor
    return invoice


def _explain_credit(line: InvoiceLine, explain: tuple) -> tuple[Decimal, str]:
    """The credit line's exact amount and sentence, worked out on first use."""
    _, applied, credit_balance, balance_left = explain
    return applied.amount.copy_negate(), (
        f"{format_money(applied)} of the {format_money(credit_balance)} credit balance; "
        f"{format_money(balance_left)} stays on the balance"
    )
