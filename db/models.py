"""The schema: what is stored, and the invariants the database itself keeps.

Money is stored once, as integer minor units (`BIGINT`, columns ending in
`_minor`) beside a three-letter currency code; rates, percentages and weights
are `NUMERIC`. No column is float, real or double precision (SPEC 1).

Every tenant-owned table's primary key leads with `tenant_id`, and every
foreign key between tenant-owned tables includes it, so a row can never point
at another tenant's row (SPEC 9): a line of tenant A naming an invoice id of
tenant B has no parent `(A, id)` and is refused.

What the Python code cannot be trusted to keep alone is kept here:
- one non-void invoice per tenant and period: `uq_invoices_open_per_period`;
- invoice numbers: unique, and drawn from `document_number_counters` inside the
  finalizing transaction (the counter row stays locked until commit: no gaps);
- finalized, paid and void invoices are frozen, lines included (triggers in the
  first migration, see `db/migrations/versions/0001_initial_schema.py`);
- the audit log and the credit-balance ledger are append-only (same migration);
- one credit and one credit note per tenant and idempotency key;
- CHECKs: status values, non-negative totals, totals adding up, currency format.
  A status, kind or role column holds the words of one `billing_core` enum
  (`InvoiceStatus`, `LineKind`, `Role`, ...); its CHECK is written from that enum
  (`_check_in`), so code and database share one list, in the order the
  migrations wrote it.

The models are the schema's one description (Alembic migrations are checked
against them). Other modules mostly write their SQL as `text()` statements on
these tables; the models themselves appear where that is simpler: Core
`insert()` for audit entries, and `__table__` for bulk copies (`db.bulk`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from billing_core.access import PERSON_ROLES, Role
from billing_core.allocation_runs import AllocationMethod
from billing_core.credit_ledger import ADDING_KINDS, LedgerEntryKind
from billing_core.credit_requests import CreditRequestKind, CreditRequestStatus
from billing_core.document_numbers import DocumentSeries
from billing_core.lines import LineKind
from billing_core.month_end_runs import MonthEndRunStatus
from billing_core.reconciliation import LEGACY_STATUSES, CorrectionKind, Rule, Source
from billing_core.states import InvoiceStatus
from billing_core.usage_events import LateUsageStatus, UsageSource

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MinorUnits = Annotated[int, mapped_column(BigInteger)]
CurrencyCode = Annotated[str, mapped_column(String(3))]
OwningTenant = Annotated[str, mapped_column(ForeignKey("tenants.tenant_id"), primary_key=True)]
"""The first part of a tenant-owned table's key: the row's tenant (SPEC 9)."""
GeneratedId = Annotated[int, mapped_column(BigInteger, Identity(), primary_key=True)]
CreatedAt = Annotated[datetime, mapped_column(DateTime(timezone=True), server_default=func.now())]
Timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True))]
Exact = Annotated[Decimal, mapped_column(Numeric)]


def _currency_check(column: str = "currency") -> CheckConstraint:
    return CheckConstraint(f"{column} ~ '^[A-Z]{{3}}$'", name=f"{column}_format")


def _word(word: StrEnum) -> str:
    """A vocabulary word as an SQL literal: `InvoiceStatus.VOID` -> `'void'`."""
    return f"'{word.value}'"


def _in(column: str, words: Iterable[StrEnum]) -> str:
    """`status IN ('draft', 'finalized', 'paid', 'void')`, in the words' declared order."""
    return f"{column} IN ({', '.join(_word(word) for word in words)})"


def _check_in(column: str, words: Iterable[StrEnum], name: str) -> CheckConstraint:
    """The CHECK that keeps `column` to a closed vocabulary: an enum of `billing_core`, so the
    database and the code share one list (the migrations wrote the same text)."""
    return CheckConstraint(_in(column, words), name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # A string column is TEXT and a whole number BIGINT unless it says otherwise: PostgreSQL's
    # TEXT has no length to outgrow, and ids, counts and base units outgrow 32 bits.
    type_annotation_map = {str: Text, int: BigInteger, dict[str, Any]: JSONB(none_as_null=True)}


class Tenant(Base):
    """A customer; its id is a readable slug such as `ent-acme-corp`."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("tenant_id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="tenant_id_slug"),
        CheckConstraint("billing_anchor_day BETWEEN 1 AND 31", name="anchor_day_range"),
        _currency_check(),
    )

    tenant_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    currency: Mapped[CurrencyCode]
    billing_anchor_day: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[CreatedAt]


class Plan(Base):
    """A price list entry: a recurring price, and optionally usage terms (SPEC 6).

    Usage terms name their units: `usage_base_units_per_unit` base units
    (`usage_base_unit_name`: byte, request) make one billing unit
    (`usage_unit_name`: TB = 10^12 bytes), `usage_included_base_units`
    are free, and `usage_price_per_unit` (NUMERIC, in the plan's currency, may be
    finer than a cent) is charged per billing unit over the included quantity.
    """

    __tablename__ = "plans"
    __table_args__ = (
        _currency_check(),
        CheckConstraint("recurring_price_minor >= 0", name="recurring_price_not_negative"),
        CheckConstraint(
            "num_nulls(usage_metric, usage_unit_name, usage_base_unit_name,"
            " usage_base_units_per_unit, usage_included_base_units, usage_price_per_unit)"
            " IN (0, 6)",
            name="usage_terms_complete",
        ),
        CheckConstraint("usage_base_units_per_unit > 0", name="usage_unit_positive"),
        CheckConstraint("usage_included_base_units >= 0", name="usage_included_not_negative"),
        CheckConstraint("usage_price_per_unit >= 0", name="usage_price_not_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("(version = 1) = (first_plan_id IS NULL)",
                        name="first_version_has_no_first"),
        Index("uq_plans_first_plan_id_version", "first_plan_id", "version", unique=True),
    )

    plan_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    currency: Mapped[CurrencyCode]
    recurring_price_minor: Mapped[MinorUnits]
    usage_metric: Mapped[str | None]
    usage_unit_name: Mapped[str | None]
    usage_base_unit_name: Mapped[str | None]
    usage_base_units_per_unit: Mapped[int | None]
    usage_included_base_units: Mapped[int | None]
    usage_price_per_unit: Mapped[Decimal | None] = mapped_column(Numeric(20, 10))
    # SPEC 11: prices never change (trigger `plans_prices_frozen`, 0010); a new price is a
    # new row, version n + 1, naming the plan's first version. `retired_at`: no new
    # subscriptions.
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    first_plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.plan_id"))
    retired_at: Mapped[Timestamp | None]


class Subscription(Base):
    """A plan segment: `plan_id` is in force for the tenant from `starts_on` (inclusive)
    until the next segment starts (SPEC 3: the day of a change belongs to the new plan).
    No plan (NULL) is a cancellation: nothing is billed from `starts_on` (SPEC 11)."""

    __tablename__ = "subscriptions"

    tenant_id: Mapped[OwningTenant]
    starts_on: Mapped[date] = mapped_column(Date, primary_key=True)
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.plan_id"), index=True)
    created_at: Mapped[CreatedAt]


class TenantDiscount(Base):
    """A standing discount, applied in `position` order within its kind (SPEC 4).

    Exactly one of `percent` (e.g. 10 for 10 %) and `amount_minor` is set. It applies
    to invoices whose period starts in [valid_from, valid_until) (open ends allowed).
    """

    __tablename__ = "tenant_discounts"
    __table_args__ = (
        CheckConstraint("num_nonnulls(percent, amount_minor) = 1", name="percent_or_amount"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("(amount_minor IS NULL) = (currency IS NULL)", name="amount_has_currency"),
        _currency_check(),
        CheckConstraint("valid_until > valid_from", name="valid_range"),
    )

    tenant_id: Mapped[OwningTenant]
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    label: Mapped[str]
    percent: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    amount_minor: Mapped[int | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]


class UsageRecord(Base):
    """Metered usage of one day, in integer base units (bytes, requests, seconds)."""

    __tablename__ = "usage_records"
    __table_args__ = (
        CheckConstraint("quantity_base_units >= 0", name="quantity_not_negative"),
        Index("ix_usage_records_tenant_metric_day", "tenant_id", "metric", "used_on",
              postgresql_include=["quantity_base_units"]),
    )

    # Every row's tenant exists: checked once per statement by a trigger (0015), not a
    # foreign key's check per row (an import writes millions of day rows).
    tenant_id: Mapped[str] = mapped_column(primary_key=True)
    usage_id: Mapped[GeneratedId]
    metric: Mapped[str]
    used_on: Mapped[date]
    quantity_base_units: Mapped[int]
    # The usage import whose events this day's total came from (`usage_imports`, 0011); NULL
    # for usage recorded directly (the demo data).
    import_id: Mapped[int | None]


# --- metering (SPEC 12; docs/usage-events.md) -----------------------------------------------

class UsageImport(Base):
    """One batch of usage events, from a file, the command line or the API: all of it or none.
    Counts: every event sent is new, a duplicate or a conflict; late ones are among the new."""

    __tablename__ = "usage_imports"
    __table_args__ = (
        _check_in("source", UsageSource, "source_known"),
        CheckConstraint("received_count = new_count + duplicate_count + conflict_count",
                        name="counts_add_up"),
        CheckConstraint("late_count <= new_count", name="late_among_new"),
        Index("ix_usage_imports_file_sha256", "file_sha256",
              postgresql_where=text("file_sha256 IS NOT NULL")),
        Index("ix_usage_imports_days_pending", "import_id", postgresql_where=text("days_pending")),
    )

    import_id: Mapped[GeneratedId]
    source: Mapped[str]
    file_name: Mapped[str | None]
    actor: Mapped[str]
    actor_role: Mapped[str]
    received_count: Mapped[int] = mapped_column(server_default=text("0"))
    new_count: Mapped[int] = mapped_column(server_default=text("0"))
    duplicate_count: Mapped[int] = mapped_column(server_default=text("0"))
    conflict_count: Mapped[int] = mapped_column(server_default=text("0"))
    late_count: Mapped[int] = mapped_column(server_default=text("0"))
    repriced_count: Mapped[int] = mapped_column(server_default=text("0"))
    # The first conflicts (line, tenant, event id), for the import history; all are counted.
    conflicts: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # A file's SHA-256 and its 'tenant_id metric' pairs; an import that found the same bytes
    # imported already names the import it repeats (0017, docs/usage-events.md).
    file_sha256: Mapped[bytes | None] = mapped_column(LargeBinary)
    tenant_metrics: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    repeats_import_id: Mapped[int | None] = mapped_column(ForeignKey("usage_imports.import_id"))
    imported_at: Mapped[CreatedAt]
    # Stored the straight way, its day totals not rolled up into usage_records yet (0018,
    # db.usage_days); the view usage_days reads its events meanwhile.
    days_pending: Mapped[bool] = mapped_column(server_default=text("false"))


class MeteringVersion(Base):
    """One row: a random version of which plans meter which metrics for which tenants, replaced
    by every statement that changes that (0019); `db.metered_pairs` keeps its answers by it."""

    __tablename__ = "metering_version"
    __table_args__ = (CheckConstraint("one_row", name="one_row"),)

    one_row: Mapped[bool] = mapped_column(primary_key=True, server_default=text("true"))
    version: Mapped[str] = mapped_column(UUID(as_uuid=False),
                                         server_default=text("gen_random_uuid()"))


class LateUsage(Base):
    """Usage events that arrived after their period's invoice was finalized, paid or void, per
    tenant, period and metric (SPEC 12): open until finance bills them on a later draft
    (`billed_invoice_id`, `billed_minor`) or waives them (`waive_reason`). One open group per
    tenant, period and metric; late events arriving after it was settled open a new one."""

    __tablename__ = "late_usage"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "billed_invoice_id"],
                             ["invoices.tenant_id", "invoices.invoice_id"]),
        _check_in("status", LateUsageStatus, "status_known"),
        _currency_check(),
        CheckConstraint("period_end > period_start", name="period_not_empty"),
        CheckConstraint("event_count > 0 AND quantity_base_units >= 0", name="counts_valid"),
        CheckConstraint(f"(status = {_word(LateUsageStatus.BILLED)})"
                        " = (billed_invoice_id IS NOT NULL AND billed_minor IS NOT NULL)",
                        name="billed_names_invoice"),
        CheckConstraint("billed_minor >= 0", name="billed_not_negative"),
        CheckConstraint(f"(status = {_word(LateUsageStatus.WAIVED)}) = (waive_reason IS NOT NULL)",
                        name="waived_has_reason"),
        CheckConstraint(f"(status = {_word(LateUsageStatus.OPEN)}) = (settled_by IS NULL)"
                        " AND (settled_by IS NULL) = (settled_at IS NULL)",
                        name="settled_names_who"),
        Index("uq_late_usage_open_per_period", "tenant_id", "period_start", "metric",
              unique=True, postgresql_where=text(f"status = {_word(LateUsageStatus.OPEN)}")),
    )

    tenant_id: Mapped[OwningTenant]
    late_usage_id: Mapped[GeneratedId]
    metric: Mapped[str]
    period_start: Mapped[date]
    period_end: Mapped[date]
    period_label: Mapped[str]
    reason: Mapped[str]
    event_count: Mapped[int]
    quantity_base_units: Mapped[int]
    currency: Mapped[CurrencyCode]
    status: Mapped[str] = mapped_column(server_default=text(_word(LateUsageStatus.OPEN)))
    billed_invoice_id: Mapped[int | None]
    billed_minor: Mapped[int | None]
    # The billed line's sentence, so re-pricing the draft can put the line back as it was.
    billed_explanation: Mapped[str | None]
    waive_reason: Mapped[str | None]
    settled_by: Mapped[str | None]
    settled_at: Mapped[Timestamp | None]
    created_at: Mapped[CreatedAt]


class UsageEventRow(Base):
    """One usage event as stored (SPEC 12): identified by tenant and event id, never changed.
    `late_usage_id` names its late-usage group when it arrived after its period's invoice."""

    __tablename__ = "usage_events"
    __table_args__ = (
        CheckConstraint("quantity_base_units >= 0", name="quantity_not_negative"),
        # Each import's events, for the roll-up of their day totals (0018, db.usage_days).
        Index("ix_usage_events_import", "import_id", postgresql_using="brin",
              postgresql_with={"autosummarize": "on"}),
    )

    # No foreign keys (0015): a batch of millions of events is checked as a batch by its one
    # writer, db.usage_events (tenants and metrics known, import row first, late-usage groups
    # it just wrote), and triggers keep the tenant, import and group from being deleted.
    tenant_id: Mapped[str] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(primary_key=True)
    metric: Mapped[str]
    quantity_base_units: Mapped[int]
    occurred_at: Mapped[Timestamp]
    import_id: Mapped[int]
    late_usage_id: Mapped[int | None]


NOT_VOID = f"status <> {_word(InvoiceStatus.VOID)}"
"""The predicate of `uq_invoices_open_per_period`. Statements that lean on that index repeat it
as SQL text, not as a bound parameter: `ON CONFLICT ... WHERE` must match it to find the index,
and the planner can use a partial index only when the query's predicate is a literal."""


class Invoice(Base):
    """One tenant's bill for one period [period_start, period_end).

    Totals are stored, not recomputed: `total = subtotal - discount - credit`, each
    as positive minor units, and the lines sum to the total (SPEC 4).
    `unused_discount_minor` is fixed discount that could not be used (reported,
    never silently dropped).
    """

    __tablename__ = "invoices"
    __table_args__ = (
        _check_in("status", InvoiceStatus, "status_known"),
        _currency_check(),
        CheckConstraint("period_end > period_start", name="period_not_empty"),
        CheckConstraint(
            "subtotal_minor >= 0 AND discount_minor >= 0 AND credit_minor >= 0"
            " AND total_minor >= 0 AND unused_discount_minor >= 0",
            name="amounts_not_negative",
        ),
        CheckConstraint("total_minor = subtotal_minor - discount_minor - credit_minor",
                        name="totals_add_up"),
        CheckConstraint("price_version >= 1", name="price_version_positive"),
        # Drafts have no number, finalized and paid invoices have one; a void one has
        # one only if it was finalized before.
        CheckConstraint(f"CASE status WHEN {_word(InvoiceStatus.DRAFT)} THEN number IS NULL"
                        f" WHEN {_word(InvoiceStatus.VOID)} THEN true"
                        " ELSE number IS NOT NULL END", name="number_matches_status"),
        CheckConstraint("(number IS NULL) = (finalized_at IS NULL)",
                        name="number_with_finalized_at"),
        CheckConstraint(f"(status = {_word(InvoiceStatus.PAID)}) = (paid_at IS NOT NULL)",
                        name="paid_at_iff_paid"),
        CheckConstraint(f"(status = {_word(InvoiceStatus.VOID)}) = (voided_at IS NOT NULL)",
                        name="voided_at_iff_void"),
        # SPEC 8: one non-void invoice per tenant and period, whoever inserts it.
        Index("uq_invoices_open_per_period", "tenant_id", "period_start", unique=True,
              postgresql_where=text(NOT_VOID)),
        Index("uq_invoices_number", "number", unique=True,
              postgresql_where=text("number IS NOT NULL")),
        # The invoice list: newest period first, then by tenant; keyset pages. The index
        # must have the list's mixed order (DESC, ASC) or every page sorts a whole period.
        Index("ix_invoices_period_tenant", text("period_start DESC"), "tenant_id", "invoice_id"),
        Index("ix_invoices_status_period_tenant", "status", text("period_start DESC"),
              "tenant_id", "invoice_id"),
        # The list sorted by total, in the database across pages (db.reads.invoices._ORDERS).
        Index("ix_invoices_currency_total", "currency", "total_minor", "tenant_id",
              "invoice_id"),
        Index("ix_invoices_currency_total_desc", "currency", text("(-total_minor)"),
              "tenant_id", "invoice_id"),
    )

    tenant_id: Mapped[OwningTenant]
    invoice_id: Mapped[GeneratedId]
    period_start: Mapped[date]
    period_end: Mapped[date]
    period_label: Mapped[str]
    status: Mapped[str] = mapped_column(server_default=text(_word(InvoiceStatus.DRAFT)))
    number: Mapped[str | None]
    currency: Mapped[CurrencyCode]
    subtotal_minor: Mapped[MinorUnits]
    discount_minor: Mapped[MinorUnits]
    credit_minor: Mapped[MinorUnits]
    total_minor: Mapped[MinorUnits]
    unused_discount_minor: Mapped[int] = mapped_column(server_default=text("0"))
    created_by: Mapped[str]
    created_at: Mapped[CreatedAt]
    finalized_at: Mapped[Timestamp | None]
    paid_at: Mapped[Timestamp | None]
    voided_at: Mapped[Timestamp | None]
    # SPEC 13: when the draft was last priced, and its version (1 when generated, + 1 each
    # time `db.repricing` prices it again); finalizing names the version reviewed.
    priced_at: Mapped[CreatedAt]
    price_version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class InvoiceLine(Base):
    """One line of an invoice: the rounded `amount_minor` (negative for discounts and
    credits), the unrounded `exact_amount` (NUMERIC, major units) and the calculation
    trace in `explanation`."""

    __tablename__ = "invoice_lines"
    # Each line names an invoice of its tenant: checked once per statement by the lines'
    # trigger, not by a foreign key checked line by line (migration 0016).
    __table_args__ = (
        _check_in("kind", LineKind, "kind_known"),
    )

    tenant_id: Mapped[str] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(primary_key=True)
    line_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    kind: Mapped[str]
    description: Mapped[str]
    amount_minor: Mapped[MinorUnits]
    exact_amount: Mapped[Exact]
    explanation: Mapped[str]


class DocumentNumberCounter(Base):
    """The last number issued per series (INV, CN) and year. Drawn by an
    `INSERT ... ON CONFLICT (series, year) DO UPDATE SET last_number = last_number + 1`
    inside the finalizing transaction (the first number of a year inserts the row),
    so the row stays locked until commit and a rolled-back finalization gives its
    number back: numbers are gap-free."""

    __tablename__ = "document_number_counters"
    __table_args__ = (
        _check_in("series", DocumentSeries, "series_known"),
        CheckConstraint("last_number >= 0", name="last_number_not_negative"),
    )

    series: Mapped[str] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    last_number: Mapped[int]


class Credit(Base):
    """A service credit (SPEC 5): where it landed is recorded as the part applied to
    an invoice (`invoice_id`, `applied_minor`) and the part left on the balance."""

    __tablename__ = "credits"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "invoice_id"],
                             ["invoices.tenant_id", "invoices.invoice_id"]),
        Index("uq_credits_tenant_idempotency_key", "tenant_id", "idempotency_key", unique=True),
        Index("ix_credits_actor_created_at", "actor", "created_at"),  # db/four_eyes.py
        _currency_check(),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("applied_minor >= 0 AND to_balance_minor >= 0", name="parts_not_negative"),
        CheckConstraint("applied_minor + to_balance_minor = amount_minor", name="parts_add_up"),
        CheckConstraint("invoice_id IS NOT NULL OR applied_minor = 0",
                        name="applied_needs_invoice"),
    )

    tenant_id: Mapped[OwningTenant]
    credit_id: Mapped[GeneratedId]
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    reason: Mapped[str]
    actor: Mapped[str]
    idempotency_key: Mapped[str]
    invoice_id: Mapped[int | None]
    applied_minor: Mapped[MinorUnits]
    to_balance_minor: Mapped[MinorUnits]
    created_at: Mapped[CreatedAt]


class CreditLedgerEntry(Base):
    """The tenant's credit balance, as an append-only ledger: `amount_minor` is the
    movement (+ credit added, - consumed by an invoice, + returned by a voided invoice,
    once per invoice) and `balance_after_minor` the running balance, which never goes
    below zero. Appends are serialized by locking the tenant row."""

    __tablename__ = "credit_ledger"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "credit_id"],
                             ["credits.tenant_id", "credits.credit_id"]),
        ForeignKeyConstraint(["tenant_id", "invoice_id"],
                             ["invoices.tenant_id", "invoices.invoice_id"]),
        _check_in("entry_kind", LedgerEntryKind, "entry_kind_known"),
        _currency_check(),
        CheckConstraint("balance_after_minor >= 0", name="balance_not_negative"),
        CheckConstraint(f"({_in('entry_kind', ADDING_KINDS)}) = (amount_minor > 0)",
                        name="sign_matches_kind"),
        CheckConstraint(f"entry_kind <> {_word(LedgerEntryKind.RETURNED_ON_VOID)}"
                        " OR invoice_id IS NOT NULL", name="return_names_invoice"),
        Index("uq_credit_ledger_one_return_per_invoice", "tenant_id", "invoice_id", unique=True,
              postgresql_where=text(f"entry_kind = {_word(LedgerEntryKind.RETURNED_ON_VOID)}")),
    )

    tenant_id: Mapped[OwningTenant]
    entry_id: Mapped[GeneratedId]
    entry_kind: Mapped[str]
    amount_minor: Mapped[MinorUnits]
    balance_after_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    credit_id: Mapped[int | None]
    invoice_id: Mapped[int | None]
    actor: Mapped[str]
    created_at: Mapped[CreatedAt]


class CreditNote(Base):
    """A correction of a finalized (or paid) invoice; never more than the invoice's
    total minus earlier credit notes (SPEC 5). Numbered CN-YYYY-000001, gap-free."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "invoice_id"],
                             ["invoices.tenant_id", "invoices.invoice_id"]),
        Index("uq_credit_notes_tenant_idempotency_key", "tenant_id", "idempotency_key",
              unique=True),
        Index("ix_credit_notes_actor_created_at", "actor", "created_at"),  # db/four_eyes.py
        _currency_check(),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    tenant_id: Mapped[OwningTenant]
    credit_note_id: Mapped[GeneratedId]
    invoice_id: Mapped[int]
    number: Mapped[str] = mapped_column(unique=True)
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    reason: Mapped[str]
    actor: Mapped[str]
    idempotency_key: Mapped[str]
    created_at: Mapped[CreatedAt]


class AllocationRun(Base):
    """A shared cost split across tenants (SPEC 7), by stored usage of `metric` in
    [period_start, period_end) or by weights given by hand."""

    __tablename__ = "allocation_runs"
    __table_args__ = (
        _check_in("method", AllocationMethod, "method_known"),
        _currency_check(),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint(f"(method = {_word(AllocationMethod.USAGE)}) = (metric IS NOT NULL"
                        " AND period_start IS NOT NULL"
                        " AND period_end IS NOT NULL)", name="usage_run_names_metric_and_period"),
    )

    run_id: Mapped[GeneratedId]
    label: Mapped[str]
    method: Mapped[str]
    metric: Mapped[str | None]
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    total_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    actor: Mapped[str]
    created_at: Mapped[CreatedAt]


class AllocationShare(Base):
    """One tenant's part of a run: its weight, the exact `quota` (NUMERIC, in currency
    units, as the core computes it), its floor in minor units, the extra minor unit from
    the largest remainders (0 or 1), and `amount = floor + extra`."""

    __tablename__ = "allocation_shares"
    __table_args__ = (
        CheckConstraint("weight >= 0", name="weight_not_negative"),
        CheckConstraint("extra_minor IN (0, 1)", name="extra_is_zero_or_one"),
        CheckConstraint("amount_minor = floor_minor + extra_minor", name="amount_adds_up"),
    )

    tenant_id: Mapped[OwningTenant]
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.run_id"), primary_key=True,
                                        index=True)
    weight: Mapped[Exact]
    quota: Mapped[Exact]
    floor_minor: Mapped[MinorUnits]
    extra_minor: Mapped[MinorUnits]
    amount_minor: Mapped[MinorUnits]


class MonthEndRun(Base):
    """The record of one month-end run (or dry run), updated after every batch so a
    crash leaves an honest 'running' row behind and the home screen can show the last run."""

    __tablename__ = "month_end_runs"
    __table_args__ = (
        _check_in("status", MonthEndRunStatus, "status_known"),
    )

    run_id: Mapped[GeneratedId]
    period_label: Mapped[str]
    dry_run: Mapped[bool]
    status: Mapped[str]
    actor: Mapped[str]
    tenants_in_scope: Mapped[int]
    tenants_done: Mapped[int]
    invoices_created: Mapped[int]
    already_present: Mapped[int]
    skipped: Mapped[dict[str, Any]]
    error: Mapped[str | None]
    started_at: Mapped[CreatedAt]
    finished_at: Mapped[Timestamp | None]


class AuditEntry(Base):
    """Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE): who did what, when,
    to which entity, with its state before and after (SPEC 10)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_tenant_time", "tenant_id", "occurred_at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_time", "occurred_at"),
        Index("ix_audit_log_actor_time", "actor", "occurred_at"),
    )

    audit_id: Mapped[GeneratedId]
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    actor: Mapped[str]
    actor_role: Mapped[str | None]
    """The actor's role when the change was made (NULL only on rows older than roles)."""
    action: Mapped[str]
    tenant_id: Mapped[str | None]
    entity: Mapped[str]
    entity_id: Mapped[str]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class User(Base):
    """A person who may sign in, with one role (`billing_core.access.Role`).

    `password_hash` is an argon2id hash (NULL for a user who signs in only through
    single sign-on). Users are created with `python -m db.users create`; a deactivated
    user cannot sign in. Emails are stored lower-case, unique.
    """

    __tablename__ = "users"
    __table_args__ = (
        _check_in("role", PERSON_ROLES, "role_known"),
        CheckConstraint("email = lower(email) AND email LIKE '%_@_%'", name="email_lower_case"),
    )

    user_id: Mapped[GeneratedId]
    email: Mapped[str] = mapped_column(unique=True)
    display_name: Mapped[str]
    role: Mapped[str]
    password_hash: Mapped[str | None]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[CreatedAt]
    last_sign_in_at: Mapped[Timestamp | None]


class SignInThrottle(Base):
    """Wrong passwords in a row per email, known or not (so the wait never reveals whether an
    account exists), and until when the next attempt must wait. A right password clears it."""

    __tablename__ = "sign_in_throttle"

    email: Mapped[str] = mapped_column(primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_until: Mapped[Timestamp | None]
    last_failed_at: Mapped[Timestamp | None]


class WebSession(Base):
    """One signed-in browser (`ledgerline_ui/shell/session_cookie.py`): the SHA-256 of the
    random token its HttpOnly cookie holds (never the token), or, for its first minute, of the
    one-time handoff the browser trades for that token. The role it was granted in; when it was last
    used (the idle limit counts from there). Signing out deletes the row; a trigger deletes a
    user's rows when their role, active flag, password or email changes (migration 0014)."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        _check_in("role", PERSON_ROLES, "role_known"),
        CheckConstraint("(token_hash IS NULL) <> (handoff_hash IS NULL)",
                        name="token_or_handoff"),
        CheckConstraint("(handoff_hash IS NULL) = (handoff_expires_at IS NULL)",
                        name="handoff_expires"),
        CheckConstraint("octet_length(token_hash) = 32 AND octet_length(handoff_hash) = 32",
                        name="hashes_are_sha256"),
        Index("ix_web_sessions_email", "email"),
    )

    session_id: Mapped[GeneratedId]
    email: Mapped[str] = mapped_column(
        ForeignKey("users.email", onupdate="CASCADE", ondelete="CASCADE"))
    role: Mapped[str]
    token_hash: Mapped[bytes | None] = mapped_column(unique=True)
    handoff_hash: Mapped[bytes | None] = mapped_column(unique=True)
    handoff_expires_at: Mapped[Timestamp | None]
    created_at: Mapped[CreatedAt]
    last_seen_at: Mapped[CreatedAt]


class CreditRequest(Base):
    """A service credit or credit note (`kind`) asked for, not yet granted: customer success
    (service credits) or finance (above the approval threshold) requests; a finance user other
    than the requester approves it, which issues the credit (`credit_id`) or the note on
    `invoice_id` (`credit_note_id`) once, with the same idempotency key, or rejects it."""

    __tablename__ = "credit_requests"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "credit_id"],
                             ["credits.tenant_id", "credits.credit_id"]),
        ForeignKeyConstraint(["tenant_id", "invoice_id"],
                             ["invoices.tenant_id", "invoices.invoice_id"]),
        ForeignKeyConstraint(["tenant_id", "credit_note_id"],
                             ["credit_notes.tenant_id", "credit_notes.credit_note_id"]),
        Index("uq_credit_requests_tenant_idempotency_key", "tenant_id", "idempotency_key",
              unique=True),
        Index("uq_credit_requests_tenant_id_credit_note_id", "tenant_id", "credit_note_id",
              unique=True),  # one request per note; db/four_eyes.py probes it
        Index("ix_credit_requests_status_time", "status", "requested_at"),
        _currency_check(),
        _check_in("status", CreditRequestStatus, "status_known"),
        _check_in("kind", CreditRequestKind, "kind_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(f"(kind = {_word(CreditRequestKind.CREDIT_NOTE)})"
                        " = (invoice_id IS NOT NULL)", name="note_request_names_invoice"),
        CheckConstraint(f"(status = {_word(CreditRequestStatus.APPROVED)}"
                        f" AND kind = {_word(CreditRequestKind.SERVICE_CREDIT)}) = "
                        "(credit_id IS NOT NULL)", name="credit_iff_approved_credit"),
        CheckConstraint(f"(status = {_word(CreditRequestStatus.APPROVED)}"
                        f" AND kind = {_word(CreditRequestKind.CREDIT_NOTE)}) = "
                        "(credit_note_id IS NOT NULL)", name="note_iff_approved_note"),
        CheckConstraint(f"(status = {_word(CreditRequestStatus.PENDING)}) = (decided_by IS NULL)",
                        name="decided_iff_not_pending"),
    )

    tenant_id: Mapped[OwningTenant]
    request_id: Mapped[GeneratedId]
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    reason: Mapped[str]
    idempotency_key: Mapped[str]
    requested_by: Mapped[str]
    requested_by_role: Mapped[str]
    requested_at: Mapped[CreatedAt]
    status: Mapped[str] = mapped_column(server_default=text(_word(CreditRequestStatus.PENDING)))
    decided_by: Mapped[str | None]
    decided_at: Mapped[Timestamp | None]
    decision_note: Mapped[str | None]
    credit_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(
        server_default=text(_word(CreditRequestKind.SERVICE_CREDIT)))
    invoice_id: Mapped[int | None]
    credit_note_id: Mapped[int | None]


# --- legacy reconciliation (docs/reconciliation.md) -----------------------------------------

class LegacyImport(Base):
    """One legacy billing file imported for reconciliation: all of its rows, or none."""

    __tablename__ = "legacy_imports"

    import_id: Mapped[GeneratedId]
    file_name: Mapped[str]
    actor: Mapped[str]
    invoice_count: Mapped[int]
    allocation_count: Mapped[int]
    imported_at: Mapped[CreatedAt]


class LegacyInvoice(Base):
    """An invoice as the old billing system billed it: inputs (plan segments, discounts in
    the order it applied them, usage, credits with the status when applied; the lists as
    JSONB with money in minor units) and billed figures. `voided_at` is set when finance
    voids it as a duplicate; the legacy `status` stays what the old system said."""

    __tablename__ = "legacy_invoices"
    __table_args__ = (
        _check_in("status", LEGACY_STATUSES, "status_known"),
        _currency_check(),
        CheckConstraint("period_end > period_start", name="period_not_empty"),
        CheckConstraint("billed_recurring_minor >= 0 AND billed_usage_minor >= 0"
                        " AND billed_discount_minor >= 0 AND billed_credit_minor >= 0"
                        " AND billed_total_minor >= 0", name="billed_not_negative"),
        CheckConstraint("billed_total_minor = billed_recurring_minor + billed_usage_minor"
                        " - billed_discount_minor - billed_credit_minor",
                        name="billed_adds_up"),
        CheckConstraint("num_nulls(usage_metric, used_base_units, included_base_units,"
                        " base_units_per_unit, usage_price_per_unit) IN (0, 5)",
                        name="usage_complete"),
        CheckConstraint("(voided_at IS NULL) = (voided_by IS NULL)", name="voided_by_with_at"),
    )

    tenant_id: Mapped[OwningTenant]
    legacy_id: Mapped[str] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("legacy_imports.import_id"), index=True)
    line_no: Mapped[int]
    period_start: Mapped[date]
    period_end: Mapped[date]
    status: Mapped[str]
    currency: Mapped[CurrencyCode]
    plan_segments: Mapped[list[Any]] = mapped_column(JSONB)
    discounts: Mapped[list[Any]] = mapped_column(JSONB)
    credits: Mapped[list[Any]] = mapped_column(JSONB)
    usage_metric: Mapped[str | None]
    used_base_units: Mapped[int | None]
    included_base_units: Mapped[int | None]
    base_units_per_unit: Mapped[int | None]
    usage_price_per_unit: Mapped[Decimal | None] = mapped_column(Numeric)
    billed_recurring_minor: Mapped[MinorUnits]
    billed_usage_minor: Mapped[MinorUnits]
    billed_discount_minor: Mapped[MinorUnits]
    billed_credit_minor: Mapped[MinorUnits]
    billed_total_minor: Mapped[MinorUnits]
    voided_at: Mapped[Timestamp | None]
    voided_by: Mapped[str | None]


class LegacyAllocationShare(Base):
    """One tenant's billed part of a legacy shared-cost split (`allocation_id`)."""

    __tablename__ = "legacy_allocation_shares"
    __table_args__ = (
        _currency_check(),
        CheckConstraint("weight >= 0", name="weight_not_negative"),
        CheckConstraint("total_minor >= 0 AND billed_share_minor >= 0",
                        name="amounts_not_negative"),
    )

    tenant_id: Mapped[OwningTenant]
    allocation_id: Mapped[str] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("legacy_imports.import_id"), index=True)
    line_no: Mapped[int]
    period_label: Mapped[str]
    currency: Mapped[CurrencyCode]
    weight: Mapped[Exact]
    total_minor: Mapped[MinorUnits]
    billed_share_minor: Mapped[MinorUnits]


class LegacyCorrection(Base):
    """A correction finance issued for one discrepancy (legacy record + rule), once: a credit
    (`credit_id`, through the service-credit mechanism) for an overcharge, or the void of a
    duplicate. The unique key is the idempotency key: pressing twice issues once."""

    __tablename__ = "legacy_corrections"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "credit_id"],
                             ["credits.tenant_id", "credits.credit_id"]),
        Index("uq_legacy_corrections_discrepancy", "tenant_id", "source", "legacy_id", "rule",
              unique=True),
        _check_in("source", Source, "source_known"),
        _check_in("kind", CorrectionKind, "kind_known"),
        _currency_check(),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(f"(kind = {_word(CorrectionKind.CREDIT)}) = (credit_id IS NOT NULL)",
                        name="credit_has_credit"),
    )

    tenant_id: Mapped[OwningTenant]
    correction_id: Mapped[GeneratedId]
    source: Mapped[str]
    legacy_id: Mapped[str]
    rule: Mapped[str]
    kind: Mapped[str]
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    credit_id: Mapped[int | None]
    actor: Mapped[str]
    created_at: Mapped[CreatedAt]


class LegacyDiscrepancyRow(Base):
    """The stored reconciliation report: each discrepancy `reconcile` finds in the legacy
    records, in report order (`position`), written again in every import's transaction
    (`db.reconciliation`), so the screen reads counts, totals and pages in SQL."""

    __tablename__ = "legacy_discrepancies"
    __table_args__ = (
        Index("uq_legacy_discrepancies_position", "position", unique=True),
        Index("ix_legacy_discrepancies_rule_position", "rule", "position"),
        _check_in("source", Source, "source_known"),
        _check_in("rule", Rule, "rule_known"),
        _currency_check(),
    )

    tenant_id: Mapped[OwningTenant]
    source: Mapped[str] = mapped_column(primary_key=True)
    legacy_id: Mapped[str] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int]
    line_no: Mapped[int]
    period_label: Mapped[str]
    currency: Mapped[CurrencyCode]
    billed_minor: Mapped[MinorUnits]
    correct_minor: Mapped[MinorUnits]
    difference_minor: Mapped[MinorUnits]
    explanation: Mapped[str]


class AuditFilterChoice(Base):
    """An actor or action that occurs in `audit_log`, for the Audit log's pickers; added by
    the trigger `audit_log_keeps_filter_choices` (migration 0012). No unique index, so
    writers never wait on each other: a value may appear twice, readers take DISTINCT."""

    __tablename__ = "audit_filter_choices"
    __table_args__ = (
        Index("ix_audit_filter_choices_kind_value", "kind", "value"),
        CheckConstraint("kind IN ('actor', 'action')", name="kind_known"),
    )

    choice_id: Mapped[GeneratedId]
    kind: Mapped[str]
    value: Mapped[str]


class ApiKey(Base):
    """A key of the billing HTTP API (`api/`), held by one client: `name` is the actor the
    audit log records, `role` one of `billing_core.access.Role` (a meter is only ever a key).

    Only the key's SHA-256 is stored (`db.api_keys`): a key is 256 random bits, so a fast
    hash is as safe as a slow one and can be looked up by equality. Created and revoked with
    `python -m db.api_keys`; a revoked key is refused from the next request on.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        _check_in("role", Role, "role_known"),
        CheckConstraint("key_hash ~ '^[0-9a-f]{64}$'", name="key_hash_is_sha256"),
        CheckConstraint("(revoked_at IS NULL) = (revoked_by IS NULL)",
                        name="revoked_names_who"),
    )

    api_key_id: Mapped[GeneratedId]
    name: Mapped[str] = mapped_column(unique=True)
    role: Mapped[str]
    key_hash: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[CreatedAt]
    created_by: Mapped[str]
    revoked_at: Mapped[Timestamp | None]
    revoked_by: Mapped[str | None]


class ApiIdempotencyKey(Base):
    """The first answer to a request sent with an `Idempotency-Key` (SPEC 13), per API key:
    `fingerprint` of what was asked (method, path, body), and the status and body answered,
    replayed byte for byte. Kept at least `db.idempotency.KEEP_DAYS` days."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (
        CheckConstraint("(response_status IS NULL) = (response_body IS NULL)",
                        name="response_whole"),
    )

    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.api_key_id"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(primary_key=True)
    request: Mapped[str]
    """"POST /v1/credits": what the key was first used for, for the refusal's message."""
    fingerprint: Mapped[str]
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None]
    created_at: Mapped[CreatedAt] = mapped_column(index=True)
