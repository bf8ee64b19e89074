"""Usage events: what a meter sends, checked field by field before anything is stored.

A usage event is (tenant, event id, metric, quantity in whole base units >= 0,
occurred at an aware UTC instant) (SPEC 12). The tenant and the event id
identify it: the same event sent again is a duplicate, counted and ignored; the
same id with other content is a conflict, reported and never written over. An
event belongs to the tenant's billing period containing its instant; when that
period's invoice is already finalized, paid or void, the event is late: it waits
on the late-usage list until finance bills it on the next invoice or waives it.

This module holds the rules that need no database: what a well-formed event is
(`check_event`, the one door every source passes: files, the command line and
the API), the outcome words, and what billing late usage charges
(`late_usage_line`). Whether the tenant exists and its plan meters the metric is
asked of the database by `db.usage_events`.

Every refusal names the field and the problem, so a file's bad line reads
"line 7, quantity: '-3' is negative; send whole base units (0 or more)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from billing_core import legacy_csv
from billing_core.errors import BillingError, InvalidInput
from billing_core.lines import InvoiceLine, LineKind
from billing_core.money import Money, format_money, money_from_minor
from billing_core.usage import MAX_BASE_UNITS, UsagePlan, price_usage, quantity_text

EVENT_FIELDS = ("tenant_id", "event_id", "metric", "quantity", "occurred_at")
"""The fields of an event, in the order of a CSV file's header (docs/usage-events.md)."""

MAX_EVENT_ID_CHARS = 128
_TENANT_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_METRIC = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")
# Printable ASCII without spaces: what meters use for ids (UUIDs, "evt_123"), and nothing a
# screen, a CSV export or COPY could read as anything but text.
_EVENT_ID = re.compile(rf"[!-~]{{1,{MAX_EVENT_ID_CHARS}}}\Z")
_DIGITS = re.compile(r"[0-9]{1,19}\Z")


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """Every event received is new, a duplicate or a conflict; late ones are among the new."""

    received: int
    new: int
    duplicate: int
    conflict: int
    late: int

    def audit_view(self, drafts_repriced: int,
                   repeats_import: int | None = None) -> dict[str, int]:
        """What a `usage.imported` audit row records, whichever way the import went (and which
        import a batch sent again repeats, when it does)."""
        view = {"received": self.received, "new": self.new, "duplicate": self.duplicate,
                "conflict": self.conflict, "late": self.late, "drafts_repriced": drafts_repriced}
        if repeats_import is not None:
            view["repeats_import"] = repeats_import
        return view


class EventOutcome(StrEnum):
    """What became of one event sent."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    LATE = "late"


class UsageSource(StrEnum):
    """Which door a batch came through."""

    FILE = "file"
    COMMAND = "command"
    API = "api"


class LateUsageStatus(StrEnum):
    OPEN = "open"
    BILLED = "billed"
    WAIVED = "waived"


class UsageEvent(NamedTuple):
    """One checked event; build it with `check_event` from what was sent. (A tuple, not a
    dataclass: a file of ten million events builds ten million of them.)"""

    tenant_id: str
    event_id: str
    metric: str
    quantity_base_units: int
    occurred_at: datetime


def check_tenant_id(value: object) -> str:
    return _matching(value, _TENANT_ID, "tenant_id", "a tenant id (lower-case letters and "
                                                     "digits joined by single hyphens)")


def check_event_id(value: object) -> str:
    return _matching(value, _EVENT_ID, "event_id", f"an event id (1 to {MAX_EVENT_ID_CHARS} "
                                                   "printable ASCII characters, no spaces)")


def check_metric(value: object) -> str:
    return _matching(value, _METRIC, "metric", "a metric name (a lower-case letter, then "
                                               "letters, digits or _; at most 63)")


def _matching(value: object, pattern: re.Pattern[str], field: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidInput(field, f"{_shown(value)} is not {what}")
    return value


def check_quantity(value: object) -> int:
    """Whole base units, 0 <= q < 2**63: an int, or a text of plain digits (a CSV cell)."""
    if type(value) is int:
        quantity = value
    elif isinstance(value, str) and _DIGITS.match(value):
        quantity = int(value)
    elif isinstance(value, str) and value.startswith("-") and _DIGITS.match(value[1:]):
        raise InvalidInput("quantity", f"{_shown(value)} is negative; send whole base units "
                                       "(0 or more)")
    else:
        raise InvalidInput("quantity", f"{_shown(value)} is not a whole number of base units")
    if quantity < 0:
        raise InvalidInput("quantity", f"{quantity} is negative; send whole base units "
                                       "(0 or more)")
    if quantity > MAX_BASE_UNITS:
        raise InvalidInput("quantity", f"{quantity} is too large (at most {MAX_BASE_UNITS:,})")
    return quantity


def check_occurred_at(value: object) -> datetime:
    """An ISO 8601 instant with its offset ("2024-01-31T23:59:59Z"), as an aware UTC datetime."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput("occurred_at", f"{_shown(value)} is not an ISO 8601 timestamp "
                                              "such as 2024-01-31T23:59:59Z") from None
    else:
        raise InvalidInput("occurred_at", f"{_shown(value)} is not an ISO 8601 timestamp")
    if instant.tzinfo is UTC:  # "Z" and "+00:00", what meters send: nothing to convert
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput("occurred_at", f"{_shown(value)} has no time zone; add Z or an "
                                          "offset such as +00:00")
    return instant.astimezone(UTC)


def check_event(tenant_id: object, event_id: object, metric: object, quantity: object,
                occurred_at: object) -> UsageEvent:
    """The one door: an event as sent (texts from a CSV cell, values from JSON) -> UsageEvent,
    or InvalidInput naming the first bad field."""
    return UsageEvent(check_tenant_id(tenant_id), check_event_id(event_id), check_metric(metric),
                      check_quantity(quantity), check_occurred_at(occurred_at))


def _shown(value: object) -> str:
    """A bad value as the message quotes it: short, and never the whole of a huge cell."""
    if value is None:
        return "nothing"
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


# --- a batch's refusal ----------------------------------------------------------------------

MAX_PROBLEMS_LISTED = 200
"""A refused file names this many bad lines, then says how many more there were."""


class LineProblem(legacy_csv.LineProblem):
    """What is wrong with one line (or one event of an API batch: its position): the line,
    the field (None when the whole line is wrong) and the problem, as a legacy file's line
    problem; its message reads "line 1,234, quantity: ..."."""

    __slots__ = ()

    @property
    def line_no(self) -> int:
        return self.line

    def __str__(self) -> str:
        return f"line {self.line:,}{', ' if self.field else ': '}{self.reason}"


class UsageBatchRefused(BillingError):
    """A batch with bad events: nothing of it is stored. `problems` lists the first
    `MAX_PROBLEMS_LISTED` (line number, field, problem); `problem_count` counts them all."""

    def __init__(self, problems: list[LineProblem], problem_count: int | None = None,
                 source: str = "The file") -> None:
        self.problems = tuple(problems[:MAX_PROBLEMS_LISTED])
        self.problem_count = max(problem_count or 0, len(problems))
        more = self.problem_count - len(self.problems)
        listed = "; ".join(str(problem) for problem in self.problems)
        tail = f"; and {more:,} more" if more > 0 else ""
        noun = "problem" if self.problem_count == 1 else "problems"
        super().__init__(f"{source} was not imported ({self.problem_count:,} {noun}, nothing "
                         f"was stored): {listed}{tail}")


class UsageFileTooLarge(BillingError):
    def __init__(self, size_bytes: int, limit_bytes: int) -> None:
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes
        super().__init__(f"file: {size_bytes:,} bytes is too large; a usage file may hold at "
                         f"most {limit_bytes:,} bytes: split it into smaller files")


# --- late usage ------------------------------------------------------------------------------

def late_usage_line(period_label: str, plan: UsagePlan, used_on_invoice: int,
                    late_billed_before: int, late_now: int, already_charged: Money) -> InvoiceLine:
    """The line that bills late usage on a later invoice (SPEC 12).

    It charges what SPEC 6 gives for the period's usage with the late events
    (`used_on_invoice` + `late_billed_before` + `late_now` base units) minus what was
    already charged for that period (its invoice's usage line plus late usage billed
    before). Usage only grows, so the difference is never negative. Example: 1 TB
    included at $23.00/TB, invoice for exactly 1 TB ($0 usage), 1 TB arriving late ->
    "Late usage from 2024-01" for $23.00.
    """
    for name, count in (("used_on_invoice", used_on_invoice),
                        ("late_billed_before", late_billed_before), ("late_now", late_now)):
        if type(count) is not int:
            raise TypeError(f"{name}: expected an int count, got {type(count).__name__}")
        if count < 0:
            raise InvalidInput(name, f"{count:,} is negative")
    used = used_on_invoice + late_billed_before + late_now
    owed_line = price_usage(plan, used)
    owed_minor = 0 if owed_line is None else owed_line.amount_minor
    charged_minor = already_charged.to_minor_units()
    amount_minor = max(0, owed_minor - charged_minor)
    currency = plan.price_per_unit.currency
    amount = money_from_minor(amount_minor, currency)
    base = plan.base_unit_name
    owed = money_from_minor(owed_minor, currency)
    explanation = (
        f"{late_now:,} {base}s of {period_label} usage arrived after its invoice was issued; "
        f"{period_label} with late usage: used {used:,} {base}s "
        f"({quantity_text(used, plan.base_units_per_unit)} {plan.unit_name}), included "
        f"{plan.included_base_units:,} -> {format_money(owed)}; already charged "
        f"{format_money(already_charged)} -> {format_money(amount)}")
    return InvoiceLine(LineKind.USAGE, f"Late usage from {period_label} ({plan.metric})",
                       amount, amount.amount, explanation, late_now)
