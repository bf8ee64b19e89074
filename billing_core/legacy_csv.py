"""The legacy billing export: one CSV file, one row per legacy invoice or allocation share.

Finance exports what the old system billed and hands it to reconciliation
(``billing_core.reconciliation``). The file is read whole and checked whole,
in one pass: every cell of every row is read even after one is found bad, and
one bad row fails the file with a list of every bad line (its line number in
the file, the column and the reason), so that nothing of a file is ever
half-imported and a second upload finds nothing the first could have named.
What only the database knows (the tenant, its currency, ids imported before)
is checked by ``db.reconciliation`` against ``LegacyFile.lines``, the identity
each line claims, bad lines included, and joins the same list.

Numbers go through the one number door (``to_decimal``): a float the old
system printed, "502.0000001", is just text; billed figures finer than the
minor unit are rounded once (that is what the customer's invoice showed),
prices and discounts must be exact. Every
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from billing_core.allocation import to_weight
from billing_core.discounts import FixedOff, PercentOff
from billing_core.errors import BillingError, InvalidInput
from billing_core.money import Money, check_amount_fits, check_currency, to_decimal
from billing_core.money_text import parse_money
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

T = TypeVar("T")

REQUIRED_COLUMNS = ("record", "tenant_id", "period", "legacy_id", "currency")
INVOICE_COLUMNS = ("status", "plans", "discounts", "usage_metric", "used_base_units",
                   "included_base_units", "base_units_per_unit", "usage_price_per_unit",
                   "credits", "billed_recurring", "billed_usage", "billed_discount",
                   "billed_credit", "billed_total")
ALLOCATION_COLUMNS = ("weight", "allocation_total", "billed_total")
COLUMNS = REQUIRED_COLUMNS + INVOICE_COLUMNS + ("weight", "allocation_total")
USAGE_COLUMNS = ("usage_metric", "used_base_units", "included_base_units",
                 "base_units_per_unit", "usage_price_per_unit")
MAX_LINES_IN_MESSAGE = 100
"""A file of 100,000 bad lines is still one error; its message names the first 100."""


@dataclass(frozen=True, slots=True)
class LineProblem:
    """One problem of one line: the column (None when the whole line is wrong) and what."""

    line: int
    field: str | None
    problem: str

    @property
    def reason(self) -> str:
        return f"{self.field}: {self.problem}" if self.field else self.problem

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class LegacyFileError(InvalidInput):
    """The legacy file has bad lines; ``problems`` lists every problem of every line, in line order.

    Field "legacy file"; the message names the problems of the first
    ``MAX_LINES_IN_MESSAGE`` bad lines and counts the rest.
    """

    def __init__(self, problems: list[LineProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)  # stable: a line's own order
        bad_lines = sorted({p.line for p in self.problems})
        named = set(bad_lines[:MAX_LINES_IN_MESSAGE])
        shown = "; ".join(str(p) for p in self.problems if p.line in named)
        more = len(bad_lines) - len(named)
        suffix = f"; and {more} more bad line{'s' if more != 1 else ''}" if more > 0 else ""
        count = f"{len(bad_lines)} bad line{'s' if len(bad_lines) != 1 else ''}"
        super().__init__("legacy file", f"{count}, nothing imported: {shown}{suffix}")


@dataclass(frozen=True, slots=True)
class LineIdentity:
    """What a data line says it is, as far as its cells can be read (None where they cannot):
    the database checks the tenant, its currency and earlier imports for every line, bad
    ones too, so one upload names every problem."""

    line_no: int
    record: str | None
    tenant_id: str | None
    legacy_id: str | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class LegacyFile:
    """The good rows, every line's identity, and every problem found (empty when all is well)."""

    invoices: tuple[LegacyInvoice, ...]
    allocations: tuple[LegacyAllocationShare, ...]
    lines: tuple[LineIdentity, ...] = ()
    problems: tuple[LineProblem, ...] = ()

    @property
    def row_count(self) -> int:
        return len(self.invoices) + len(self.allocations)


def parse_legacy_csv(content: str | bytes) -> LegacyFile:
    """Every row of a legacy export, validated; LegacyFileError lists every bad line."""
    legacy = read_legacy_csv(content)
    if legacy.problems:
        raise LegacyFileError(list(legacy.problems))
    return legacy


def read_legacy_csv(content: str | bytes) -> LegacyFile:
    """Every row of a legacy export, read and checked in one pass; the problems are returned,
    not raised, so the caller can add what only it can check before refusing the file.

    Line numbers are the file's own (the header is line 1). Within the file a
    legacy id appears once per tenant and record type, and every row of one
    allocation shares its total, currency and period.
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return _refused(LineProblem(1, None, f"the file is not UTF-8 text ({error.reason})"))
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        return _refused(LineProblem(1, None, "the file is empty; the header row is missing"))
    names = [cell.strip().lower() for cell in header]
    header_problem = _header_problem(names)
    if header_problem:
        return _refused(LineProblem(1, None, header_problem))
    reading = _Reading(names)
    for values in reader:
        if any(cell.strip() for cell in values):
            reading.add(values, reader.line_num)
    return reading.result()


def _refused(problem: LineProblem) -> LegacyFile:
    return LegacyFile((), (), (), (problem,))


def _header_problem(names: list[str]) -> str | None:
    """What is wrong with the header's column names, or None when nothing is."""
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    unknown = [name for name in names if name and name not in COLUMNS]
    reasons = []
    if missing:
        reasons.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unknown:
        reasons.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    return "; ".join(reasons) or None


class _Reading:
    """One pass over the data lines: what they hold, and every problem found on the way."""

    def __init__(self, names: list[str]) -> None:
        self.width = len(names)
        self.index = {name: position for position, name in enumerate(names)}
        self.problems: list[LineProblem] = []
        self.identities: list[LineIdentity] = []
        self.invoices: list[LegacyInvoice] = []
        self.allocations: list[LegacyAllocationShare] = []
        self.seen: dict[tuple[str, str, str], int] = {}
        self.allocation_heads: dict[str, LegacyAllocationShare] = {}

    def add(self, values: list[str], line: int) -> None:
        if len(values) > self.width:
            self.problems.append(LineProblem(line, None, f"{len(values)} cells, the header has "
                                                         f"{self.width}"))
            return
        row = _Row({name: values[position].strip() if position < len(values) else ""
                    for name, position in self.index.items()}, line)
        identity = LineIdentity(line, row.read(_record), row.read(_required, "tenant_id"),
                                row.read(_required, "legacy_id"), row.read(_currency))
        self.identities.append(identity)
        self._check_once(row, identity)
        item: LegacyInvoice | LegacyAllocationShare | None = None
        if identity.record == "invoice":
            item = _invoice(row, identity)
        elif identity.record == "allocation":
            item = _allocation(row, identity)
        self.problems.extend(row.problems)
        if item is None or row.problems:
            return
        if isinstance(item, LegacyInvoice):
            self.invoices.append(item)
        else:
            self._add_allocation(item, line)

    def _check_once(self, row: _Row, identity: LineIdentity) -> None:
        """A legacy id appears once per tenant and record type."""
        if identity.record is None or identity.tenant_id is None or identity.legacy_id is None:
            return
        key = (identity.record, identity.tenant_id, identity.legacy_id)
        if key in self.seen:
            row.note("legacy_id", f"{identity.legacy_id!r} of {identity.tenant_id} is "
                                  f"already on line {self.seen[key]}")
        else:
            self.seen[key] = row.line

    def _add_allocation(self, item: LegacyAllocationShare, line: int) -> None:
        """Every row of one allocation shares its total and period."""
        head = self.allocation_heads.setdefault(item.allocation_id, item)
        if (head.total, head.period_label) != (item.total, item.period_label):
            self.problems.append(LineProblem(line, "allocation_total", f"allocation "
                                             f"{item.allocation_id!r} has total {head.total} "
                                             f"for {head.period_label} on line {head.line_no}; "
                                             "every row must agree"))
            return
        self.allocations.append(item)

    def result(self) -> LegacyFile:
        return LegacyFile(tuple(self.invoices), tuple(self.allocations),
                          tuple(self.identities), tuple(self.problems))


# --- rows ------------------------------------------------------------------------------------


class _Row:
    """One row's cells, read column by column: a bad cell becomes a problem of its line and
    reading goes on (``read`` answers None for it), so one pass names every bad cell."""

    def __init__(self, cells: dict[str, str], line: int) -> None:
        self.cells = cells
        self.line = line
        self.problems: list[LineProblem] = []

    def read(self, parse: Callable[..., T], *args: object) -> T | None:
        """``parse(self.cells, *args)``, or None with the problem noted."""
        try:
            return parse(self.cells, *args)
        except InvalidInput as error:
            self.note(error.field, error.problem)
        except BillingError as error:
            self.note(None, str(error))
        return None

    def note(self, field: str | None, problem: str) -> None:
        self.problems.append(LineProblem(self.line, field, problem))


def _invoice(row: _Row, identity: LineIdentity) -> LegacyInvoice | None:
    """The invoice of ``row``, or None when a cell is bad (each bad cell noted on the row).
    Amounts need the currency: with a bad currency cell they are read once it is fixed."""
    currency = identity.currency
    period = row.read(_period)
    status = row.read(_status)
    plans = row.read(_currency_cell, parse_plans, "plans", currency, True)
    discounts = row.read(_currency_cell, parse_discounts, "discounts", currency)
    usage = row.read(_usage, currency) if currency else None
    credits = row.read(_currency_cell, parse_credits, "credits", currency)
    billed = {column: row.read(_billed, column, currency, column == "billed_total")
              for column in ("billed_recurring", "billed_usage", "billed_discount",
                             "billed_credit", "billed_total")} if currency else {}
    if row.problems or currency is None:
        return None
    amounts = {column: _read(amount, column) for column, amount in billed.items()}
    return row.read(lambda _cells: LegacyInvoice(
        tenant_id=_read(identity.tenant_id, "tenant_id"),
        legacy_id=_read(identity.legacy_id, "legacy_id"), period=_read(period, "period"),
        status=_read(status, "status"), currency=currency,
        plan_changes=_read(plans, "plans"), discounts=_read(discounts, "discounts"),
        usage=_read(usage, "usage"), credits=_read(credits, "credits"), line_no=row.line,
        **amounts))


def _allocation(row: _Row, identity: LineIdentity) -> LegacyAllocationShare | None:
    """The allocation share of ``row``, or None when a cell is bad (each noted on the row)."""
    currency = identity.currency
    period = row.read(_period)
    weight = row.read(_weight)
    total = row.read(_money_cell, "allocation_total", currency) if currency else None
    billed = row.read(_billed, "billed_total", currency, True) if currency else None
    if row.problems or currency is None:
        return None
    return LegacyAllocationShare(_read(identity.tenant_id, "tenant_id"),
                                 _read(identity.legacy_id, "legacy_id"),
                                 _read(period, "period").label,
                                 _read(total, "allocation_total"), _read(weight, "weight"),
                                 _read(billed, "billed_total"), row.line)


def _read(value: T | None, column: str) -> T:
    """A cell of a row without problems: ``_Row.read`` notes a problem for every None it
    answers, so a None here is a bug in this module, not a bad file."""
    if value is None:
        raise RuntimeError(f"{column}: no value and no problem noted for it")
    return value


def _record(cells: dict[str, str]) -> str:
    record = cells["record"].lower()
    if record not in ("invoice", "allocation"):
        raise InvalidInput("record", f"{cells['record']!r} is not invoice or allocation")
    return record


def _currency(cells: dict[str, str]) -> str:
    return check_currency(_required(cells, "currency"))


def _period(cells: dict[str, str]) -> Period:
    return parse_period(_required(cells, "period"))


def _status(cells: dict[str, str]) -> str:
    status = _required(cells, "status").lower()
    if status not in LEGACY_STATUSES:
        raise InvalidInput("status", f"{cells['status']!r} is not one of "
                                     f"{', '.join(LEGACY_STATUSES)}")
    return status


def _weight(cells: dict[str, str]) -> Decimal:
    weight = to_weight(_required(cells, "weight"), "weight")
    if weight < 0:
        raise InvalidInput("weight", f"{weight} is negative; weights must be zero or more")
    return weight


def _currency_cell(cells: dict[str, str], parse: Callable[[str, str], T], column: str,
                   currency: str | None, required: bool = False) -> T | None:
    """A cell whose amounts are in the row's currency; not read while the currency is bad."""
    text = _required(cells, column) if required else cells.get(column, "")
    return None if currency is None else parse(text, currency)


def _money_cell(cells: dict[str, str], column: str, currency: str) -> Money:
    return parse_money(_required(cells, column), currency, column)


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
