"""What makes a bill, and when it may change: tenants, plans, subscriptions, discounts (SPEC 11).

Finance records the events a bill is made of: a tenant with its currency and
billing anchor day, a plan and its price, the day a tenant moves to another
plan (or cancels: a move to no plan), a discount with its window. Each is
checked here before anything is stored, and each refusal names the field
("anchor_day: 32 is not a day of the month (1-31)").

A change reaches back only as far as its first day: a plan change from a date
touches every billing period that ends after it (its period, and any later one
already invoiced); a discount touches the periods that start inside the window
it is added to, ended over or removed from (a discount applies when the period
starts inside [valid_from, valid_until), docs/database.md). A touched period
whose invoice is finalized, paid or void is closed: the change is refused,
"2024-10 is finalized for ent-acme-corp; correct it with a credit note". A
touched draft is re-priced in the same transaction; a change that touches no
invoice yet waits for its period.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing_core.errors import InvalidInput
from billing_core.money import Money, check_currency, to_decimal
from billing_core.periods import _require_date
from billing_core.states import InvoiceStatus

TENANT_ID_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
"""The tenants table's own CHECK (`ck_tenants_tenant_id_slug`), so refusals come before it."""
PLAN_ID_PATTERN = re.compile(r"[a-z0-9]+([-_.][a-z0-9]+)*")
MAX_ID_LENGTH = 63
MAX_NAME_LENGTH = 200
MAX_PERCENT_DECIMALS = 6  # the column is NUMERIC(9, 6)


class PeriodClosed(InvalidInput):
    """A change reaches into a period whose invoice is finalized, paid or void."""

    def __init__(self, field: str, period_label: str, tenant_id: str, status: str) -> None:
        self.period_label = period_label
        self.tenant_id = tenant_id
        self.status = status
        super().__init__(field, f"{period_label} is {status} for {tenant_id}; "
                                "correct it with a credit note")


@dataclass(frozen=True, slots=True)
class InvoicedPeriod:
    """An invoice a change may touch: its period and status."""

    period_label: str
    period_start: date
    period_end: date
    status: str


def check_tenant_id(tenant_id: object) -> str:
    """A readable slug: lower-case letters and digits in dash-separated words (`ent-new-co`)."""
    return _check_id(tenant_id, "tenant_id", TENANT_ID_PATTERN,
                     "in words joined by dashes, like ent-new-co")


def check_plan_id(plan_id: object) -> str:
    """Lower-case letters and digits joined by '-', '_' or '.' (`compute-1000`)."""
    return _check_id(plan_id, "plan_id", PLAN_ID_PATTERN, "joined by dashes, like compute-1000")


def check_name(name: object, field: str = "name") -> str:
    """A name or label people read: not empty, at most 200 characters, spaces trimmed."""
    text = _text(name, field)
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidInput(field, f"is {len(text)} characters long; at most {MAX_NAME_LENGTH}")
    return text


def check_anchor_day(anchor_day: object) -> int:
    """A day of the month 1-31 (SPEC 2: past a month's end it clamps to its last day)."""
    if type(anchor_day) is not int:
        raise InvalidInput("anchor_day", f"{anchor_day!r} is not a whole day of the month")
    if not 1 <= anchor_day <= 31:
        raise InvalidInput("anchor_day", f"{anchor_day} is not a day of the month (1-31)")
    return anchor_day


def check_tenant_currency(currency: object) -> str:
    if type(currency) is not str:
        raise InvalidInput("currency", f"{currency!r} is not a currency code")
    return check_currency(currency, "currency")


def check_price(price: Money, currency: str | None = None) -> Money:
    """A plan's recurring price: zero or more, at its currency's minor unit."""
    if type(price) is not Money:
        raise TypeError(f"price: expected Money, got {type(price).__name__}")
    if price.is_negative:
        raise InvalidInput("price", f"{price} is negative; a price is zero or more")
    if not price.is_rounded:
        raise InvalidInput("price", f"{price.amount} has more decimals than {price.currency} "
                                    "has minor units")
    if currency is not None and price.currency != currency:
        raise InvalidInput("price", f"is in {price.currency}, but the plan bills in {currency}")
    return price


def check_percent(percent: Decimal | int | str) -> Decimal:
    """A percentage discount: above 0, at most 100, at most 6 decimals (SPEC 1)."""
    value = to_decimal(percent, "percent")
    if not Decimal(0) < value <= Decimal(100):
        raise InvalidInput("percent", f"{value} is not a percentage above 0 and at most 100")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_PERCENT_DECIMALS:
        raise InvalidInput("percent", f"{value} has more than {MAX_PERCENT_DECIMALS} decimals")
    return value


def check_fixed_amount(amount: Money, currency: str) -> Money:
    """A fixed discount: above zero, in the tenant's currency, at its minor unit."""
    if type(amount) is not Money:
        raise TypeError(f"amount: expected Money, got {type(amount).__name__}")
    if amount.is_negative or amount.is_zero:
        raise InvalidInput("amount", f"{amount} is not above zero")
    if not amount.is_rounded:
        raise InvalidInput("amount", f"{amount.amount} has more decimals than {amount.currency} "
                                     "has minor units")
    if amount.currency != currency:
        raise InvalidInput("amount", f"is in {amount.currency}, but the tenant is billed in "
                                     f"{currency}")
    return amount


def check_window(valid_from: date | None, valid_until: date | None) -> None:
    """[valid_from, valid_until): either end may be open; the end comes after the start."""
    if valid_from is not None:
        _require_date(valid_from, "valid_from")
    if valid_until is not None:
        _require_date(valid_until, "valid_until")
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise InvalidInput("valid_until", f"{valid_until.isoformat()} is not after valid_from "
                                          f"{valid_from.isoformat()}")


def plan_change_touches(starts_on: date, invoiced: InvoicedPeriod) -> bool:
    """A plan change from `starts_on` reaches every period that ends after it (SPEC 11)."""
    return invoiced.period_end > starts_on


def discount_window_touches(first: date | None, until: date | None,
                            invoiced: InvoicedPeriod) -> bool:
    """A discount change over [first, until) reaches the periods that start inside it."""
    return ((first is None or invoiced.period_start >= first)
            and (until is None or invoiced.period_start < until))


def changed_span(old_until: date | None, new_until: date | None
                 ) -> tuple[date | None, date | None]:
    """The days whose periods gain or lose a discount when its end moves from `old_until` to
    `new_until` (None: open); ([None, None) never happens: the ends differ)."""
    if old_until is None or (new_until is not None and new_until < old_until):
        return new_until, old_until
    return old_until, new_until


def check_periods_open(tenant_id: str, field: str, touched: Iterable[InvoicedPeriod]) -> None:
    """Refuse (PeriodClosed) if a touched period is closed: its invoice is finalized or paid,
    or it has only a void one. A void invoice beside a new draft leaves the period open."""
    by_period: dict[date, list[InvoicedPeriod]] = {}
    for invoiced in touched:
        by_period.setdefault(invoiced.period_start, []).append(invoiced)
    for start in sorted(by_period):
        invoices = by_period[start]
        current = [i for i in invoices if i.status != InvoiceStatus.VOID] or invoices
        for invoiced in current:
            if invoiced.status != InvoiceStatus.DRAFT:
                raise PeriodClosed(field, invoiced.period_label, tenant_id, invoiced.status)


def _check_id(value: object, field: str, pattern: re.Pattern[str], how: str) -> str:
    """An id of at most MAX_ID_LENGTH characters matching `pattern`; `how` says how to write
    one, after "use lower-case letters and digits"."""
    text = _text(value, field)
    if not pattern.fullmatch(text) or len(text) > MAX_ID_LENGTH:
        raise InvalidInput(field, f"{text!r} is not a {field.replace('_', ' ')}: use lower-case "
                                  f"letters and digits {how}")
    return text


def _text(value: object, field: str) -> str:
    if type(value) is not str or not value.strip():
        raise InvalidInput(field, "is empty")
    return value.strip()
