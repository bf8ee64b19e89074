"""The price calculator behind the Preview screen: typed inputs in, a priced invoice out.

Support uses it to explain a bill step by step without touching any data: a
plan (optionally replacing an older one mid-period), discounts in the order
they were listed, and metered usage against what the plan includes. The
correct price comes from `billing_core.invoices.price_invoice`, exactly as a
real invoice is priced; beside it,
`billing_core.reconciliation.apply_discounts_legacy_order` shows what the old
wrong order (fixed amounts before percentages) would have charged.

Everything a person typed is text and is read here: money through
`parse_money`, percentages through `to_decimal`, quantities through
`billing_core.usage.to_base_units` (never float). Each is bounded in digits and
size before any arithmetic, so "1e900000" as the used quantity is refused at
once. Every field is read before any is refused: FieldsRefused
(`ledgerline_ui.forms.form_errors`) names each bad one, e.g. "discount 2 value: 'x' is
not a percentage" beside "used quantity: ...", so the screen marks them all at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from billing_core.discounts import DiscountResult, FixedOff, PercentOff
from billing_core.errors import InvalidInput
from billing_core.invoices import PricedInvoice, price_invoice
from billing_core.money import Money, to_decimal
from billing_core.money_text import parse_money
from billing_core.periods import Period, calendar_month
from billing_core.proration import PlanChange
from billing_core.reconciliation import apply_discounts_legacy_order
from billing_core.usage import (
    BYTES_PER_GB,
    BYTES_PER_GIB,
    BYTES_PER_TB,
    BYTES_PER_TIB,
    UsagePlan,
    to_base_units,
)
from ledgerline_ui.forms.form_errors import FieldsRefused, read_fields

USAGE_UNITS: dict[str, tuple[str, int, str]] = {
    # label on screen: (unit name, base units per unit, base unit name)
    "TB (10^12 bytes)": ("TB", BYTES_PER_TB, "byte"),
    "TiB (2^40 bytes)": ("TiB", BYTES_PER_TIB, "byte"),
    "GB (10^9 bytes)": ("GB", BYTES_PER_GB, "byte"),
    "GiB (2^30 bytes)": ("GiB", BYTES_PER_GIB, "byte"),
    "million requests": ("million requests", 10**6, "request"),
    "units": ("unit", 1, "unit"),
}
DISCOUNT_KINDS = ("percent", "fixed")


@dataclass(frozen=True, slots=True)
class DiscountInput:
    kind: str
    """"percent" or "fixed"."""
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class PreviewInput:
    """What the calculator form holds, as typed."""

    currency: str
    period_label: str
    old_price: str
    """Blank when there was no earlier plan in the period."""
    new_price: str
    change_on: date
    discounts: tuple[DiscountInput, ...]
    usage_unit: str
    included_quantity: str
    used_quantity: str
    price_per_unit: str


@dataclass(frozen=True, slots=True)
class PreviewResult:
    invoice: PricedInvoice
    legacy: DiscountResult
    """The same subtotal and discounts in the old order (fixed amounts first)."""
    included_base_units: int
    used_base_units: int
    base_unit_name: str

    @property
    def legacy_difference(self) -> Money:
        """What the old order charged more (positive) or less than the correct one."""
        return self.legacy.total - self.invoice.total

    @property
    def discounts_taken(self) -> Money:
        """The discount lines' sum as shown on an invoice (negative, or zero)."""
        return -self.invoice.discount_total

    def legacy_comparison(self) -> str | None:
        """"The old order charged $5.00 more than the correct $850.00.", or None if equal."""
        difference = self.legacy_difference
        if not difference:
            return None
        more_or_less = "more" if difference.amount > 0 else "less"
        return (f"The old order charged {abs(difference)} {more_or_less} than the correct "
                f"{self.invoice.total}.")


def preview_price(given: PreviewInput) -> PreviewResult:
    """Price `given` with the real rules, and again with the legacy discount order.

    SPEC 4: new price 1000.00, 10% and 50.00 -> $850.00; the legacy order $855.00.
    """
    fields = _read_fields(given)
    period: Period = fields["period"]
    plans = [PlanChange(given.change_on, "new plan", fields["new price"])]
    if fields["old price"] is not None:
        plans.insert(0, PlanChange(period.start, "old plan", fields["old price"]))
    discounts = [fields[f"discount {number} value"] for number in _listed_discounts(given)]
    unit_name, per_unit, base_name = fields["billing unit"]
    included, used = fields["included quantity"], fields["used quantity"]
    usage = []
    if used or included:
        if fields["price per unit"] is None:
            raise FieldsRefused({"price per unit": "is empty; usage is priced per unit"})
        usage.append((UsagePlan("usage", unit_name, per_unit, included,
                                fields["price per unit"], base_name), used))
    invoice = price_invoice(period, plans, usage, discounts)
    legacy = apply_discounts_legacy_order(invoice.subtotal, discounts)
    return PreviewResult(invoice, legacy, included, used, base_name)


def _read_fields(given: PreviewInput) -> dict[str, Any]:
    """Every typed field read and checked (see `read_fields`): FieldsRefused names each bad
    one. A check that needs another field (the change date needs the period) is skipped
    while that field is wrong: its own message says what to fix first."""
    currency = given.currency
    unit = USAGE_UNITS.get(given.usage_unit)
    checks: dict[str, Callable[[], Any]] = {
        "period": lambda: calendar_month(given.period_label.strip()),
        "new price": lambda: parse_money(given.new_price, currency, "new price"),
        "old price": lambda: (parse_money(given.old_price, currency, "old price")
                              if given.old_price.strip() else None),
        "plan change date": lambda: _check_change_date(given),
        "billing unit": lambda: _usage_unit(given.usage_unit),
        "included quantity": lambda: _base_units(given.included_quantity, unit,
                                                 "included quantity"),
        "used quantity": lambda: _base_units(given.used_quantity, unit, "used quantity"),
        "price per unit": lambda: (_unit_price(given.price_per_unit, currency)
                                   if given.price_per_unit.strip() else None),
    }
    for number in _listed_discounts(given):
        row = given.discounts[number - 1]
        checks[f"discount {number} kind"] = partial(_discount_kind, row)
        checks[f"discount {number} value"] = partial(_discount, number, row, currency)
    return read_fields(checks)


def _listed_discounts(given: PreviewInput) -> list[int]:
    """The numbers (from 1) of the discount rows with anything typed in them."""
    return [number for number, row in enumerate(given.discounts, start=1)
            if row.value.strip() or row.label.strip()]


def _check_change_date(given: PreviewInput) -> None:
    try:
        period = calendar_month(given.period_label.strip())
    except InvalidInput:
        return  # the period's own message comes first
    if given.old_price.strip():
        if given.change_on <= period.start:
            raise InvalidInput("plan change date", f"{given.change_on} is not after the period "
                               f"start {period.start}; clear the old price or move the date")
    elif given.change_on >= period.end:
        raise InvalidInput("plan change date", f"{given.change_on} is after the period "
                           f"{period.label}; nothing would be charged")


def _discount_kind(row: DiscountInput) -> None:
    if row.kind not in DISCOUNT_KINDS:
        raise InvalidInput("kind", f"choose percent or fixed, not {row.kind!r}")


def _discount(number: int, row: DiscountInput, currency: str) -> PercentOff | FixedOff | None:
    """The discount in row `number`; None when its kind is wrong (the kind says so)."""
    field = f"discount {number}"
    label = row.label.strip() or f"Discount {number}"
    if row.kind == "percent":
        text = row.value.strip().removesuffix("%").strip()
        try:
            percent = to_decimal(text, f"{field} value")
        except InvalidInput:
            raise InvalidInput(f"{field} value", f"{row.value!r} is not a percentage") from None
        try:
            return PercentOff(percent, label)
        except InvalidInput as error:
            raise InvalidInput(f"{field} value", error.problem) from None
    if row.kind == "fixed":
        return FixedOff(parse_money(row.value, currency, f"{field} value"), label)
    return None


def _usage_unit(label: str) -> tuple[str, int, str]:
    if label not in USAGE_UNITS:
        raise InvalidInput("usage unit", f"{label!r} is not one of {', '.join(USAGE_UNITS)}")
    return USAGE_UNITS[label]


def _base_units(text: str, unit: tuple[str, int, str] | None, field: str) -> int:
    """"1.5" TB -> 1_500_000_000_000 bytes, exactly; blank is none. See `to_base_units`.
    Not checked while the billing unit is wrong (its own message says so)."""
    if not text.strip() or unit is None:
        return 0
    _, per_unit, base_name = unit
    return to_base_units(text.strip(), per_unit, field, base_name)


def _unit_price(text: str, currency: str) -> Money:
    """A price per unit may be finer than the minor unit ($0.023 per GB): exact, not rounded."""
    return parse_money(text, currency, "price per unit", allow_sub_minor=True)
