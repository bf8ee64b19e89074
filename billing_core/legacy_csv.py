"""The legacy billing export: one CSV file, one row per legacy invoice or allocation share.

Finance exports what the old system billed and hands it to reconciliation
(``billing_core.reconciliation``). The file is read whole and checked whole:
every row is validated, and one bad row fails the file with a list of every
bad line (its line number in the file, the column and the reason), so that
nothing of a file is ever half-imported. Numbers go through the one number
door (``to_decimal``): a float the old system printed, "502.0000001", is just
text; billed figures finer than the minor unit are rounded once (that is what
the customer's invoice showed), prices and discounts must be exact. Every
number is bounded as it is read, before any arithmetic: amounts fit a BIGINT
of minor units, counts a BIGINT of base units, weights ``MAX_WEIGHT_DIGITS``,
so "1e3000000" in a cell is one more bad line, not a stalled import.

Columns (the header row is required; the order is free; see
``docs/reconciliation.md``)::

    record          invoice | allocation
    tenant_id       our tenant id
    period          2024-11, or 2024-11-15..2024-12-15 (end excluded)
    legacy_id       the old system's invoice id, or the allocation's id
    status          draft | finalized | paid | void            (invoice)
    currency        USD, EUR, ...
    plans           "2024-06-01 compute-600 600.00; 2024-11-16 compute-1000 1000.00"
    discounts       "50.00 Promotional credit; 10% Enterprise discount" (order applied)
    usage_metric, used_base_units, included_base_units, base_units_per_unit,
    usage_price_per_unit                                       (all or none)
    credits         "200.00@paid; 25.00@draft" (amount @ the invoice's status then)
    billed_recurring, billed_usage, billed_discount, billed_credit, billed_total
                    as printed; discount and credit are positive amounts off
    weight, allocation_total                                   (allocation)

An allocation row uses tenant_id, period, legacy_id (the split's id, shared by
its rows), currency, weight, allocation_total and billed_total (the tenant's
billed share).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from billing_core.allocation import to_weight
from billing_core.discounts import FixedOff, PercentOff
from billing_core.errors import BillingError, InvalidInput
from billing_core.money import Money, check_amount_fits, check_currency, parse_money, to_decimal
from billing_core.periods import Period, calendar_month
from billing_core.proration import PlanChange
from billing_core.reconciliation import (
    CREDIT_APPLIED_WHEN,
    LEGACY_STATUSES,
    LegacyAllocationShare,
    LegacyCredit,
    LegacyInvoice,
)
from billing_core.usage import UsagePlan, to_base_units

REQUIRED_COLUMNS = ("record", "tenant_id", "period", "legacy_id", "currency")
INVOICE_COLUMNS = ("status", "plans", "discounts", "usage_metric", "used_base_units",
                   "included_base_units", "base_units_per_unit", "usage_price_per_unit",
                   "credits", "billed_recurring", "billed_usage", "billed_discount",
                   "billed_credit", "billed_total")
ALLOCATION_COLUMNS = ("weight", "allocation_total", "billed_total")
COLUMNS = REQUIRED_COLUMNS + INVOICE_COLUMNS + ("weight", "allocation_total")
USAGE_COLUMNS = ("usage_metric", "used_base_units", "included_base_units",
                 "base_units_per_unit", "usage_price_per_unit")
MAX_PROBLEMS_IN_MESSAGE = 20


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class LegacyFileError(InvalidInput):
    """The legacy file has bad lines; ``problems`` lists each one (line number and reason).

    Field "legacy file"; the message names the first lines (all of them when few).
    """

    def __init__(self, problems: list[LineProblem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_IN_MESSAGE])
        more = len(problems) - MAX_PROBLEMS_IN_MESSAGE
        suffix = f"; and {more} more" if more > 0 else ""
        count = f"{len(problems)} bad line{'s' if len(problems) != 1 else ''}"
        super().__init__("legacy file", f"{count}, nothing imported: {shown}{suffix}")


@dataclass(frozen=True, slots=True)
class LegacyFile:
    invoices: tuple[LegacyInvoice, ...]
    allocations: tuple[LegacyAllocationShare, ...]

    @property
    def row_count(self) -> int:
        return len(self.invoices) + len(self.allocations)


def parse_legacy_csv(content: str | bytes) -> LegacyFile:
    """Every row of a legacy export, validated; LegacyFileError lists every bad line.

    Line numbers are the file's own (the header is line 1). Within the file a
    legacy id appears once per tenant and record type, and every row of one
    allocation shares its total, currency and period.
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            problem = LineProblem(1, f"the file is not UTF-8 text ({error.reason})")
            raise LegacyFileError([problem]) from None
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise LegacyFileError([LineProblem(1, "the file is empty; the header row is missing")])
    names = [cell.strip().lower() for cell in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    unknown = [name for name in names if name and name not in COLUMNS]
    if missing or unknown:
        reasons = []
        if missing:
            reasons.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        if unknown:
            reasons.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        raise LegacyFileError([LineProblem(1, "; ".join(reasons))])
    index = {name: position for position, name in enumerate(names)}

    problems: list[LineProblem] = []
    invoices: list[LegacyInvoice] = []
    allocations: list[LegacyAllocationShare] = []
    seen: dict[tuple[str, str, str], int] = {}
    allocation_heads: dict[str, LegacyAllocationShare] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(names):
            problems.append(LineProblem(line, f"{len(row)} cells, the header has {len(names)}"))
            continue
        cells = {name: row[position].strip() if position < len(row) else ""
                 for name, position in index.items()}
        try:
            record = cells["record"].lower()
            if record == "invoice":
                item: LegacyInvoice | LegacyAllocationShare = _invoice(cells, line)
            elif record == "allocation":
                item = _allocation(cells, line)
            else:
                raise InvalidInput("record", f"{cells['record']!r} is not invoice or allocation")
        except BillingError as error:
            problems.append(LineProblem(line, str(error)))
            continue
        key = (record, item.tenant_id, cells["legacy_id"])
        if key in seen:
            problems.append(LineProblem(line, f"legacy_id: {cells['legacy_id']!r} of "
                                              f"{item.tenant_id} is already on line {seen[key]}"))
            continue
        seen[key] = line
        if isinstance(item, LegacyInvoice):
            invoices.append(item)
            continue
        head = allocation_heads.setdefault(item.allocation_id, item)
        if (head.total, head.period_label) != (item.total, item.period_label):
            problems.append(LineProblem(line, f"allocation {item.allocation_id!r} has total "
                                              f"{head.total} for {head.period_label} on line "
                                              f"{head.line_no}; every row must agree"))
            continue
        allocations.append(item)
    if problems:
        raise LegacyFileError(problems)
    return LegacyFile(tuple(invoices), tuple(allocations))


# --- rows ------------------------------------------------------------------------------------


def _invoice(cells: dict[str, str], line: int) -> LegacyInvoice:
    tenant_id = _required(cells, "tenant_id")
    legacy_id = _required(cells, "legacy_id")
    currency = check_currency(_required(cells, "currency"))
    status = _required(cells, "status").lower()
    if status not in LEGACY_STATUSES:
        raise InvalidInput("status", f"{cells['status']!r} is not one of "
                                     f"{', '.join(LEGACY_STATUSES)}")
    return LegacyInvoice(
        tenant_id=tenant_id, legacy_id=legacy_id, period=parse_period(_required(cells, "period")),
        status=status, currency=currency,
        plan_changes=parse_plans(_required(cells, "plans"), currency),
        discounts=parse_discounts(cells.get("discounts", ""), currency),
        usage=_usage(cells, currency), credits=parse_credits(cells.get("credits", ""), currency),
        billed_recurring=_billed(cells, "billed_recurring", currency),
        billed_usage=_billed(cells, "billed_usage", currency),
        billed_discount=_billed(cells, "billed_discount", currency),
        billed_credit=_billed(cells, "billed_credit", currency),
        billed_total=_billed(cells, "billed_total", currency, required=True),
        line_no=line)


def _allocation(cells: dict[str, str], line: int) -> LegacyAllocationShare:
    tenant_id = _required(cells, "tenant_id")
    currency = check_currency(_required(cells, "currency"))
    period_label = parse_period(_required(cells, "period")).label
    weight = to_weight(_required(cells, "weight"), "weight")
    if weight < 0:
        raise InvalidInput("weight", f"{weight} is negative; weights must be zero or more")
    total = parse_money(_required(cells, "allocation_total"), currency, "allocation_total")
    return LegacyAllocationShare(tenant_id, _required(cells, "legacy_id"), period_label, total,
                                 weight, _billed(cells, "billed_total", currency, required=True),
                                 line)


def _required(cells: dict[str, str], column: str) -> str:
    value = cells.get(column, "")
    if not value:
        raise InvalidInput(column, "is empty")
    return value


def _billed(cells: dict[str, str], column: str, currency: str, required: bool = False) -> Money:
    text = cells.get(column, "")
    if not text:
        if required:
            raise InvalidInput(column, "is empty")
        return Money.zero(currency)
    number = to_decimal(text.replace(",", ""), column)
    amount = Money(check_amount_fits(number, currency, column, text), currency)
    if amount.is_negative:
        raise InvalidInput(column, f"{text!r} is negative; billed figures are amounts charged "
                                   "or taken off")
    # Float residue of the old system ("502.0000001"): the invoice showed it rounded.
    return amount if amount.is_rounded else amount.rounded()


def _count(cells: dict[str, str], column: str) -> int:
    text = cells[column]
    if not text.replace(",", "").replace("_", "").isdigit():
        raise InvalidInput(column, f"{text!r} is not a whole count of base units")
    return to_base_units(text, 1, column)  # bounded: int() of 5,000 digits is an error


def _usage(cells: dict[str, str], currency: str) -> tuple[tuple[UsagePlan, int], ...]:
    given = [column for column in USAGE_COLUMNS if cells.get(column, "")]
    if not given:
        return ()
    if len(given) != len(USAGE_COLUMNS):
        missing = [column for column in USAGE_COLUMNS if column not in given]
        raise InvalidInput(missing[0], "is empty; usage needs all of "
                                       + ", ".join(USAGE_COLUMNS))
    number = to_decimal(cells["usage_price_per_unit"], "usage_price_per_unit")
    price = Money(check_amount_fits(number, currency, "usage_price_per_unit"), currency)
    plan = UsagePlan(cells["usage_metric"], "unit", _count(cells, "base_units_per_unit"),
                     _count(cells, "included_base_units"), price)
    return ((plan, _count(cells, "used_base_units")),)


# --- cells -----------------------------------------------------------------------------------

_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")


@lru_cache(maxsize=4096)
def parse_period(text: str) -> Period:
    """"2024-11" (a calendar month) or "2024-11-15..2024-12-15" (end excluded)."""
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        return calendar_month(text)
    return Period(_date(match.group(1), "period"), _date(match.group(2), "period"))


def parse_plans(text: str, currency: str) -> tuple[PlanChange, ...]:
    """"2024-06-01 compute-600 600.00; 2024-11-16 compute-1000 1000.00": day, plan, price."""
    changes = []
    for item in _items(text):
        parts = item.split()
        if len(parts) < 3:
            raise InvalidInput("plans", f"{item!r} is not 'start-date plan price'")
        changes.append(PlanChange(_date(parts[0], "plans"), " ".join(parts[1:-1]),
                                  parse_money(parts[-1], currency, "plans")))
    if not changes:
        raise InvalidInput("plans", "is empty; a legacy invoice needs its plan segments")
    return tuple(changes)


def parse_discounts(text: str, currency: str) -> tuple[PercentOff | FixedOff, ...]:
    """"50.00 Promotional credit; 10% Enterprise discount": in the order the old system applied."""
    discounts: list[PercentOff | FixedOff] = []
    for position, item in enumerate(_items(text), start=1):
        amount, _, label = item.partition(" ")
        label = label.strip() or f"Discount {position}"
        if amount.endswith("%"):
            discounts.append(PercentOff(to_decimal(amount[:-1], "discounts"), label))
        else:
            discounts.append(FixedOff(parse_money(amount, currency, "discounts"), label))
    return tuple(discounts)


def parse_credits(text: str, currency: str) -> tuple[LegacyCredit, ...]:
    """"200.00@paid; 25.00@draft": each credit and the invoice's status when it was applied."""
    credits = []
    for item in _items(text):
        amount, at, when = item.partition("@")
        when = when.strip().lower()
        if not at or when not in CREDIT_APPLIED_WHEN:
            raise InvalidInput("credits", f"{item!r} is not 'amount@status' with status "
                                          f"{', '.join(CREDIT_APPLIED_WHEN)}")
        credits.append(LegacyCredit(parse_money(amount.strip(), currency, "credits"), when))
    return tuple(credits)


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not a date like 2024-11-16") from None


__all__ = ["COLUMNS", "LegacyFile", "LegacyFileError", "LineProblem", "parse_legacy_csv",
           "parse_period", "parse_plans", "parse_discounts", "parse_credits"]
