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
once. A bad value raises InvalidInput naming the field, e.g. "discount 2 value:
'x' is not a percentage".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing_core.discounts import DiscountResult, FixedOff, PercentOff
from billing_core.errors import InvalidInput
from billing_core.invoices import PricedInvoice, price_invoice
from billing_core.money import Money, to_decimal
from billing_core.money_text import parse_money
from billing_core.periods import calendar_month
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
    currency = given.currency
    period = calendar_month(given.period_label.strip())
    new_price = parse_money(given.new_price, currency, "new price")
    plans = [PlanChange(given.change_on, "new plan", new_price)]
    if given.old_price.strip():
        old_price = parse_money(given.old_price, currency, "old price")
        if given.change_on <= period.start:
            raise InvalidInput("plan change date", f"{given.change_on} is not after the period "
                               f"start {period.start}; clear the old price or move the date")
        plans.insert(0, PlanChange(period.start, "old plan", old_price))
    elif given.change_on >= period.end:
        raise InvalidInput("plan change date", f"{given.change_on} is after the period "
                           f"{period.label}; nothing would be charged")
    discounts = [_discount(number, row, currency)
                 for number, row in enumerate(given.discounts, start=1)
                 if row.value.strip() or row.label.strip()]

    unit_name, per_unit, base_name = _usage_unit(given.usage_unit)
    included = _base_units(given.included_quantity, per_unit, "included quantity", base_name)
    used = _base_units(given.used_quantity, per_unit, "used quantity", base_name)
    usage = []
    if used or included:
        unit_price = _unit_price(given.price_per_unit, currency)
        usage.append((UsagePlan("usage", unit_name, per_unit, included, unit_price, base_name),
                      used))
    invoice = price_invoice(period, plans, usage, discounts)
    legacy = apply_discounts_legacy_order(invoice.subtotal, discounts)
    return PreviewResult(invoice, legacy, included, used, base_name)


def _discount(number: int, row: DiscountInput, currency: str) -> PercentOff | FixedOff:
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
    raise InvalidInput(f"{field} kind", f"choose percent or fixed, not {row.kind!r}")


def _usage_unit(label: str) -> tuple[str, int, str]:
    if label not in USAGE_UNITS:
        raise InvalidInput("usage unit", f"{label!r} is not one of {', '.join(USAGE_UNITS)}")
    return USAGE_UNITS[label]


def _base_units(text: str, per_unit: int, field: str, base_name: str) -> int:
    """"1.5" TB -> 1_500_000_000_000 bytes, exactly; blank is none. See `to_base_units`."""
    if not text.strip():
        return 0
    return to_base_units(text.strip(), per_unit, field, base_name)


def _unit_price(text: str, currency: str) -> Money:
    """A price per unit may be finer than the minor unit ($0.023 per GB): exact, not rounded."""
    return parse_money(text, currency, "price per unit", allow_sub_minor=True)
