"""Legacy reconciliation in the database: import a file, report, correct (docs/reconciliation.md).

- `import_legacy_file` reads and checks the whole file with the core
  (`billing_core.legacy_csv`), then checks what only the database knows, for
  every line whose cells name it, bad lines too: the tenant exists and bills in
  the row's currency, and the legacy id was not imported before. Any problem
  fails the import with one `LegacyFileError` listing every problem of every
  line, and nothing is written; otherwise the rows go in with COPY, in the
  caller's transaction, with one audit row for the import. Imports are
  serialized by a transaction advisory lock, so two imports of the same file
  cannot both pass the "already imported" check.
- `reconciliation_report` loads the legacy records, runs
  `billing_core.reconciliation.reconcile`, lays the corrections already issued
  over the discrepancies, and beside each overcharge still open the credits the
  tenant was granted outside reconciliation (`db.granted_credits`,
  `billing_core.already_granted`): one the customer already received is left
  out, not proposed.
- `issue_legacy_credits` corrects overcharges: per discrepancy one service
  credit through `db.credits.issue_service_credit` (it lands on the tenant's
  draft invoice, else waits on the credit balance for the next invoice), with
  the idempotency key `legacy:<source>:<legacy id>:<rule>`, and one
  `legacy_corrections` row (unique per tenant, source, legacy id and rule;
  `ON CONFLICT DO NOTHING`). Pressing twice, or two people at once, issues
  each once: the tenants are locked first (tenant-id order, the lock credits
  and invoice generation take), the discrepancy is recomputed under the lock,
  and the unique keys decide. Under the same lock the credits already granted
  are read again: a correction whose event was credited since the report is
  skipped (`CorrectionOutcome.left_out`), so a race cannot grant it twice.
- `void_legacy_duplicates` marks legacy duplicates void (`voided_at`,
  `voided_by`), once, with an audit row; the legacy status stays as billed.

Operations take a Session and never commit; each takes `actor` (an `Actor`) and
requires `Permission.RECONCILE_LEGACY_BILLING` (finance) first. Credits for
overcharges go through `issue_service_credit`, so they also need
`ISSUE_CREDITS` and obey the approval threshold: a correction above it is
refused with ApprovalRequired (the person who imports a file could otherwise
grant themselves a large credit through it); such an overcharge is corrected
with a credit request on the Credits screen instead. Many small corrections
are no way round it: each counts in the 24-hour window of what one person
gives alone (`db.four_eyes`), and a batch that would take a tenant's total, or
the user's, above the threshold is refused whole (SecondApproverRequired)
before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import Actor, Permission, check_given_alone, require
from billing_core.already_granted import GrantedBeside, GrantedCredit, lay_beside
from billing_core.discounts import FixedOff, PercentOff
from billing_core.errors import InvalidInput
from billing_core.legacy_csv import LegacyFileError, LineIdentity, LineProblem, read_legacy_csv
from billing_core.money import Money
from billing_core.periods import Period
from billing_core.proration import PlanChange
from billing_core.reconciliation import (
    RULE_LABELS,
    Action,
    CorrectionKind,
    Discrepancy,
    LegacyAllocationShare,
    LegacyCredit,
    LegacyInvoice,
    ReconciliationTotals,
    Rule,
    Source,
    reconcile,
    summarize,
)
from billing_core.usage import UsagePlan
from db.audit import AuditRecord, record_audit
from db.bulk import copy_rows
from db.credit_ledger import lock_tenants
from db.credits import check_direct_credit, credit_approval_threshold, issue_service_credit
from db.four_eyes import given_alone, lock_giver
from db.granted_credits import granted_credits
from db.models import LegacyAllocationShare as AllocationTable
from db.models import LegacyInvoice as InvoiceTable

DiscrepancyKey = tuple[str, str, str, str]
"""(tenant_id, source, legacy_id, rule): `Discrepancy.key`."""


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    import_id: int
    file_name: str
    invoice_count: int
    allocation_count: int


@dataclass(frozen=True, slots=True)
class LegacyImportSummary:
    import_id: int
    file_name: str
    actor: str
    invoice_count: int
    allocation_count: int
    imported_at: datetime


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction already issued for a discrepancy: a credit (`credit_id`) or a void."""

    kind: CorrectionKind
    amount: Money
    credit_id: int | None
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReportRow:
    discrepancy: Discrepancy
    correction: Correction | None
    beside: GrantedBeside | None = None
    """The credits granted outside reconciliation that relate to this proposal (None: none, or
    not a proposal); see `billing_core.already_granted`."""

    @property
    def granted(self) -> tuple[GrantedCredit, ...]:
        """Credits the tenant already received for the same period or record."""
        return self.beside.related if self.beside is not None else ()

    @property
    def already_granted(self) -> GrantedCredit | None:
        """The credit that already gave this correction: it is left out, not proposed."""
        return self.beside.covered_by if self.beside is not None else None

    @property
    def state(self) -> str:
        """Where the discrepancy stands, in words for the screen and the export."""
        action = self.discrepancy.action
        if self.correction is not None:
            if self.correction.kind is CorrectionKind.VOID:
                return "voided"
            return f"credit #{self.correction.credit_id} issued"
        if self.already_granted is not None:
            return "already granted: not proposed"
        if action == Action.CREDIT_NOTE:
            return "service credit proposed"
        if action == Action.VOID:
            return "void proposed"
        return "undercharge: reported only"


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    rows: tuple[ReportRow, ...]
    totals: ReconciliationTotals
    invoice_count: int
    allocation_count: int
    imports: tuple[LegacyImportSummary, ...]

    @property
    def proposed_credits(self) -> tuple[ReportRow, ...]:
        return tuple(row for row in self.rows if row.correction is None
                     and row.discrepancy.action == Action.CREDIT_NOTE
                     and row.already_granted is None)

    @property
    def left_out(self) -> tuple[ReportRow, ...]:
        """Overcharges not proposed: the customer already received the credit."""
        return tuple(row for row in self.rows if row.correction is None
                     and row.already_granted is not None)

    @property
    def proposed_voids(self) -> tuple[ReportRow, ...]:
        return tuple(row for row in self.rows if row.correction is None
                     and row.discrepancy.action == Action.VOID)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A selected correction not issued: `credit` already gave it (found at issue time)."""

    key: DiscrepancyKey
    credit: GrantedCredit


@dataclass(frozen=True, slots=True)
class CorrectionOutcome:
    """What one press did: the discrepancies corrected now, and those corrected before."""

    done: tuple[DiscrepancyKey, ...]
    already: tuple[DiscrepancyKey, ...]
    amounts: tuple[Money, ...]
    """The amount of each of `done`, in its order."""
    left_out: tuple[LeftOut, ...] = ()
    """Selected, but the customer already received it (a credit granted since the report)."""


# --- import ---------------------------------------------------------------------------------


def import_legacy_file(session: Session, content: str | bytes, file_name: str, *,
                       actor: Actor) -> ImportResult:
    """Validate and import a whole legacy file, or nothing: one LegacyFileError lists every
    problem of every line, the file's own and the database's, found in one pass."""
    require(actor, Permission.RECONCILE_LEGACY_BILLING)
    file_name = (file_name or "").strip() or "legacy.csv"
    legacy = read_legacy_csv(content)
    if not legacy.problems and not legacy.row_count:
        raise LegacyFileError([LineProblem(2, None, "the file has a header but no rows")])
    _lock_legacy_imports(session)
    problems = [*legacy.problems, *_database_problems(session, legacy.lines)]
    if problems:
        raise LegacyFileError(problems)

    import_id = session.execute(text("""
        INSERT INTO legacy_imports (file_name, actor, invoice_count, allocation_count)
        VALUES (:file_name, :actor, :invoices, :allocations) RETURNING import_id
    """), {"file_name": file_name, "actor": actor.user_id, "invoices": len(legacy.invoices),
           "allocations": len(legacy.allocations)}).scalar_one()
    copy_rows(session, InvoiceTable.__tablename__, _INVOICE_COLUMNS,
              (_invoice_row(import_id, invoice) for invoice in legacy.invoices))
    copy_rows(session, AllocationTable.__tablename__, _ALLOCATION_COLUMNS,
              ((share.tenant_id, share.allocation_id, import_id, share.line_no,
                share.period_label, share.total.currency, share.weight,
                share.total.to_minor_units(), share.billed_share.to_minor_units())
               for share in legacy.allocations))
    record_audit(session, AuditRecord(
        actor, "legacy_import.created", "legacy_import", str(import_id), None, before=None,
        after={"file_name": file_name, "invoices": len(legacy.invoices),
               "allocations": len(legacy.allocations)}))
    store_reconciliation_report(session)
    return ImportResult(import_id, file_name, len(legacy.invoices), len(legacy.allocations))


_DISCREPANCY_COLUMNS = ("tenant_id", "source", "legacy_id", "rule", "position", "line_no",
                        "period_label", "currency", "billed_minor", "correct_minor",
                        "difference_minor", "explanation")


def store_reconciliation_report(session: Session) -> int:
    """Reconcile every imported legacy record and store the discrepancies in report order in
    `legacy_discrepancies`, replacing the last import's; returns how many.

    The screen reads this table (`db.reads.reconciliation`) instead of reconciling on every
    rerun. The whole report is written again, not only the new file's tenants: a later file
    can add a duplicate of an earlier invoice or shares to an earlier split, and the stored
    rows stay exactly what `reconcile` gives, in its order. Legacy records change only by
    importing, so an import (under its advisory lock) is the one writer.
    """
    invoices, shares = load_legacy_records(session)
    discrepancies = reconcile(invoices, shares)
    session.execute(text("DELETE FROM legacy_discrepancies"))
    copy_rows(session, "legacy_discrepancies", _DISCREPANCY_COLUMNS, (
        (item.tenant_id, str(item.source), item.legacy_id, str(item.rule), position,
         item.line_no, item.period_label, item.difference.currency,
         item.billed.to_minor_units(), item.correct.to_minor_units(),
         item.difference.to_minor_units(), item.explanation)
        for position, item in enumerate(discrepancies)))
    return len(discrepancies)


def _lock_legacy_imports(session: Session) -> None:
    """Imports take turns until the transaction ends, so two imports of one file cannot both
    find it not imported yet."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('ledgerline.legacy_import'))"))


def _database_problems(session: Session, lines: Sequence[LineIdentity]) -> list[LineProblem]:
    """What only the database knows, for every line whose cells say enough (bad lines too):
    the tenant exists, bills in the line's currency, and did not import the id before."""
    tenant_ids = sorted({line.tenant_id for line in lines if line.tenant_id})
    currencies: dict[str, str] = dict(session.execute(text(
        "SELECT tenant_id, currency FROM tenants WHERE tenant_id = ANY(:ids)"),
        {"ids": tenant_ids}).all())
    named = [line for line in lines if line.tenant_id in currencies and line.legacy_id]
    imported = {
        "invoice": _existing(session, "legacy_invoices", "legacy_id",
                             [line for line in named if line.record == "invoice"]),
        "allocation": _existing(session, "legacy_allocation_shares", "allocation_id",
                                [line for line in named if line.record == "allocation"])}
    problems = []
    for line in lines:
        if line.tenant_id is None:
            continue
        known = currencies.get(line.tenant_id)
        if known is None:
            problems.append(LineProblem(line.line_no, "tenant_id", f"{line.tenant_id!r} is "
                                        "not a tenant here; add the tenant first"))
            continue
        if line.currency is not None and known != line.currency:
            problems.append(LineProblem(line.line_no, "currency", f"{line.tenant_id} bills in "
                                        f"{known}, the row says {line.currency}"))
        if (line.tenant_id, line.legacy_id) in imported.get(line.record or "", ()):
            problems.append(LineProblem(line.line_no, "legacy_id", f"{line.legacy_id!r} of "
                                        f"{line.tenant_id} was imported before"))
    return problems


def _existing(session: Session, table: str, id_column: str,
              lines: Sequence[LineIdentity]) -> set[tuple[str, str]]:
    if not lines:
        return set()
    rows = session.execute(text(f"""
        SELECT l.tenant_id, l.{id_column} FROM {table} l
        JOIN unnest(CAST(:tenants AS text[]), CAST(:ids AS text[])) AS given(tenant_id, id)
          ON l.tenant_id = given.tenant_id AND l.{id_column} = given.id
    """), {"tenants": [line.tenant_id for line in lines],
           "ids": [line.legacy_id for line in lines]})
    return {tuple(row) for row in rows}


_INVOICE_COLUMNS = (
    "tenant_id", "legacy_id", "import_id", "line_no", "period_start", "period_end", "status",
    "currency", "plan_segments", "discounts", "credits", "usage_metric", "used_base_units",
    "included_base_units", "base_units_per_unit", "usage_price_per_unit",
    "billed_recurring_minor", "billed_usage_minor", "billed_discount_minor",
    "billed_credit_minor", "billed_total_minor")
_ALLOCATION_COLUMNS = ("tenant_id", "allocation_id", "import_id", "line_no", "period_label",
                       "currency", "weight", "total_minor", "billed_share_minor")


def _invoice_row(import_id: int, invoice: LegacyInvoice) -> tuple[object, ...]:
    plan, used = invoice.usage[0] if invoice.usage else (None, None)
    segments = [[c.starts_on.isoformat(), c.plan, c.price.to_minor_units()]
                for c in invoice.plan_changes]
    discounts = [["percent", f"{d.percent:f}", d.label] if isinstance(d, PercentOff)
                 else ["fixed", d.amount.to_minor_units(), d.label] for d in invoice.discounts]
    credits = [[c.amount.to_minor_units(), c.applied_when] for c in invoice.credits]
    return (
        invoice.tenant_id, invoice.legacy_id, import_id, invoice.line_no, invoice.period.start,
        invoice.period.end, invoice.status, invoice.currency, json.dumps(segments),
        json.dumps(discounts), json.dumps(credits),
        plan.metric if plan else None, used, plan.included_base_units if plan else None,
        plan.base_units_per_unit if plan else None, plan.price_per_unit.amount if plan else None,
        invoice.billed_recurring.to_minor_units(), invoice.billed_usage.to_minor_units(),
        invoice.billed_discount.to_minor_units(), invoice.billed_credit.to_minor_units(),
        invoice.billed_total.to_minor_units())


# --- read -----------------------------------------------------------------------------------


def load_legacy_records(session: Session, tenant_ids: Sequence[str] | None = None
                        ) -> tuple[list[LegacyInvoice], list[LegacyAllocationShare]]:
    """The imported legacy invoices and allocation shares, in import and line order.

    With `tenant_ids`, only those tenants' invoices, and every share of the
    allocations they take part in (a split is checked whole).
    """
    where = "" if tenant_ids is None else "WHERE tenant_id = ANY(:ids)"
    params = {} if tenant_ids is None else {"ids": list(tenant_ids)}
    rows = session.execute(text(f"""
        SELECT tenant_id, legacy_id, line_no, period_start, period_end, status, currency,
               plan_segments, discounts, credits, usage_metric, used_base_units,
               included_base_units, base_units_per_unit, usage_price_per_unit,
               billed_recurring_minor, billed_usage_minor, billed_discount_minor,
               billed_credit_minor, billed_total_minor
        FROM legacy_invoices {where} ORDER BY import_id, line_no
    """), params)
    builder = _Builder()
    invoices = [builder.invoice(*row) for row in rows]
    allocation_where = "" if tenant_ids is None else """
        WHERE allocation_id IN (SELECT allocation_id FROM legacy_allocation_shares
                                WHERE tenant_id = ANY(:ids))"""
    shares = [
        LegacyAllocationShare(tenant_id, allocation_id, period_label,
                              Money.from_minor_units(total_minor, currency), weight,
                              Money.from_minor_units(billed_minor, currency), line_no)
        for tenant_id, allocation_id, line_no, period_label, currency, weight, total_minor,
        billed_minor in session.execute(text(f"""
            SELECT tenant_id, allocation_id, line_no, period_label, currency, weight,
                   total_minor, billed_share_minor
            FROM legacy_allocation_shares {allocation_where} ORDER BY import_id, line_no
        """), params)]
    return invoices, shares


class _Builder:
    """Builds LegacyInvoice values from rows, sharing the repeated parts (periods, plans,
    discounts), which keeps loading 100,000 invoices to a few seconds."""

    def __init__(self) -> None:
        self._periods: dict[tuple[date, date], Period] = {}
        self._plans: dict[tuple[str, str], tuple[PlanChange, ...]] = {}
        self._discounts: dict[tuple[str, str], tuple[PercentOff | FixedOff, ...]] = {}

    def invoice(self, tenant_id: str, legacy_id: str, line_no: int, start: date, end: date,
                status: str, currency: str, segments: list[Any], discounts: list[Any],
                credits: list[Any], metric: str | None, used: int | None,
                included: int | None, per_unit: int | None, unit_price: Decimal | None,
                recurring: int, usage_minor: int, discount: int, credit: int,
                total: int) -> LegacyInvoice:
        period = self._periods.get((start, end))
        if period is None:
            period = self._periods[(start, end)] = Period(start, end)
        usage: tuple[tuple[UsagePlan, int], ...] = ()
        if metric is not None:
            if per_unit is None or included is None or unit_price is None or used is None:
                raise ValueError(f"legacy invoice {legacy_id}: usage row without its terms")
            usage = ((UsagePlan(metric, "unit", per_unit, included,
                                Money(unit_price, currency)), used),)
        money = Money.from_minor_units
        return LegacyInvoice(
            tenant_id, legacy_id, period, status, currency,
            self._plan_changes(segments, currency), self._discount_values(discounts, currency),
            usage, tuple(LegacyCredit(money(minor, currency), when) for minor, when in credits),
            money(recurring, currency), money(usage_minor, currency), money(discount, currency),
            money(credit, currency), money(total, currency), line_no)

    def _plan_changes(self, segments: list[Any], currency: str) -> tuple[PlanChange, ...]:
        key = (repr(segments), currency)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = tuple(
                PlanChange(date.fromisoformat(day), plan, Money.from_minor_units(minor, currency))
                for day, plan, minor in segments)
        return found

    def _discount_values(self, discounts: list[Any], currency: str
                         ) -> tuple[PercentOff | FixedOff, ...]:
        if not discounts:
            return ()
        key = (repr(discounts), currency)
        found = self._discounts.get(key)
        if found is None:
            found = self._discounts[key] = tuple(
                PercentOff(Decimal(value), label) if kind == "percent"
                else FixedOff(Money.from_minor_units(value, currency), label)
                for kind, value, label in discounts)
        return found


def reconciliation_report(session: Session, tenant_ids: Sequence[str] | None = None
                          ) -> ReconciliationReport:
    """Every discrepancy in the imported legacy records (of `tenant_ids`, when given, and
    the allocations they take part in), with the corrections issued so far."""
    invoices, shares = load_legacy_records(session, tenant_ids)
    discrepancies = reconcile(invoices, shares)
    corrections = _corrections(session)
    beside = _beside_proposals(session, discrepancies, corrections)
    rows = tuple(ReportRow(item, corrections.get(item.key), beside.get(item.key))
                 for item in discrepancies)
    imports = tuple(LegacyImportSummary(*row) for row in session.execute(text("""
        SELECT import_id, file_name, actor, invoice_count, allocation_count, imported_at
        FROM legacy_imports ORDER BY import_id DESC
    """)))
    return ReconciliationReport(rows, summarize(discrepancies), len(invoices), len(shares),
                                imports)


def _corrections(session: Session, tenant_ids: Sequence[str] | None = None
                 ) -> dict[DiscrepancyKey, Correction]:
    where = "" if tenant_ids is None else "WHERE tenant_id = ANY(:ids)"
    rows = session.execute(text(f"""
        SELECT tenant_id, source, legacy_id, rule, kind, amount_minor, currency, credit_id,
               actor, created_at
        FROM legacy_corrections {where}
    """), {} if tenant_ids is None else {"ids": list(tenant_ids)})
    return {(tenant, source, legacy_id, rule): Correction(
                CorrectionKind(kind), Money.from_minor_units(amount, currency), credit_id, actor,
                created_at)
            for tenant, source, legacy_id, rule, kind, amount, currency, credit_id, actor,
            created_at in rows}


def _beside_proposals(session: Session, discrepancies: Iterable[Discrepancy],
                      corrections: Collection[DiscrepancyKey]
                      ) -> dict[DiscrepancyKey, GrantedBeside]:
    """The credits granted outside reconciliation beside each overcharge not corrected yet."""
    proposals = [item for item in discrepancies
                 if item.action == Action.CREDIT_NOTE and item.key not in corrections]
    granted = granted_credits(session, {item.tenant_id for item in proposals})
    return lay_beside(proposals, granted)


# --- corrections ----------------------------------------------------------------------------


def issue_legacy_credits(session: Session, keys: Iterable[DiscrepancyKey], *,
                         actor: Actor) -> CorrectionOutcome:
    """Credit each selected overcharge once; see the module docstring.

    An undercharge, a duplicate (void it instead) or a key that is no longer a
    discrepancy is refused (InvalidInput) before anything is written; so is a batch
    above what one person may give alone (ApprovalRequired, SecondApproverRequired).
    """
    require(actor, Permission.RECONCILE_LEGACY_BILLING)
    wanted = sorted(set(_check_key(key) for key in keys))
    if not wanted:
        raise InvalidInput("selection", "is empty; select the overcharges to credit")
    lock_giver(session, actor)  # before the tenant locks: the lock order of db/credit_ledger.py
    current = _current_discrepancies(session, wanted)
    for key in wanted:
        if current[key].action != Action.CREDIT_NOTE:
            raise InvalidInput("selection", f"{_describe(current[key])} is "
                               + ("a duplicate; void it instead"
                                  if current[key].action == Action.VOID
                                  else "an undercharge; undercharges are reported, not collected"))
    tenant_ids = sorted({key[0] for key in wanted})
    corrected = _corrections(session, tenant_ids)
    # Read under the tenant locks, which every credit and credit note takes: a credit granted
    # since the report was drawn is seen here, and its correction is left out, not issued.
    beside = _beside_proposals(session, [item for key, item in current.items()
                                         if key[0] in tenant_ids], corrected)
    left_out = tuple(LeftOut(key, covered_by) for key in wanted
                     if key in beside and (covered_by := beside[key].covered_by) is not None)
    wanted = [key for key in wanted if key not in {skipped.key for skipped in left_out}]
    _check_given_alone(session, [current[key] for key in wanted if key not in corrected],
                       actor)
    done, already, amounts = [], [], []
    for key in wanted:  # every tenant is locked already (`_current_discrepancies`)
        item = current[key]
        tenant_id, source, legacy_id, rule = key
        outcome = issue_service_credit(
            session, tenant_id, item.difference,
            f"Legacy billing correction: {RULE_LABELS[item.rule].lower()} on {legacy_id} "
            f"({item.period_label})",
            actor=actor, idempotency_key=f"legacy:{source}:{legacy_id}:{rule}")
        correction_id = session.execute(text("""
            INSERT INTO legacy_corrections (tenant_id, source, legacy_id, rule, kind,
                                            amount_minor, currency, credit_id, actor)
            VALUES (:tenant_id, :source, :legacy_id, :rule, :kind, :amount_minor,
                    :currency, :credit_id, :actor)
            ON CONFLICT (tenant_id, source, legacy_id, rule) DO NOTHING
            RETURNING correction_id
        """), {"tenant_id": tenant_id, "source": source, "legacy_id": legacy_id, "rule": rule,
               "kind": CorrectionKind.CREDIT, "amount_minor": item.difference.to_minor_units(),
               "currency": item.difference.currency, "credit_id": outcome.credit_id,
               "actor": actor.user_id}).scalar()
        if correction_id is None:
            already.append(key)
            continue
        record_audit(session, AuditRecord(
            actor, "legacy_correction.credited", "legacy_correction", str(correction_id),
            tenant_id, before=None,
            after={"source": source, "legacy_id": legacy_id, "rule": rule,
                   "period": item.period_label,
                   "billed_minor": item.billed.to_minor_units(),
                   "correct_minor": item.correct.to_minor_units(),
                   "amount_minor": item.difference.to_minor_units(),
                   "currency": item.difference.currency, "credit_id": outcome.credit_id}))
        done.append(key)
        amounts.append(item.difference)
    return CorrectionOutcome(tuple(done), tuple(already), tuple(amounts), left_out)


LEGACY_ADVICE = ("Nothing was issued: select fewer, or correct the larger overcharges with "
                 "credit requests on the Credits screen.")


def _check_given_alone(session: Session, items: Sequence[Discrepancy], actor: Actor) -> None:
    """Refuse the whole batch, before anything is written, when one correction is above the
    approval threshold or the batch would take a tenant's, or the user's, 24-hour total above
    it (every correction counts: see `db.four_eyes`). Under the tenant locks and the giver's."""
    for item in items:
        check_direct_credit(item.difference)
    threshold = credit_approval_threshold()
    for currency in sorted({item.difference.currency for item in items}):
        part = [item for item in items if item.difference.currency == currency]
        by_tenant: dict[str, list[Money]] = {}
        for item in part:
            by_tenant.setdefault(item.tenant_id, []).append(item.difference)
        given = given_alone(session, by_tenant, actor, currency)
        for tenant_id, amounts in by_tenant.items():
            check_given_alone(f"Correcting {_overcharges(len(amounts))} of {tenant_id}",
                              sum(amounts, Money.zero(currency)), given.to_tenant[tenant_id],
                              f"to {tenant_id}", threshold, LEGACY_ADVICE)
        check_given_alone(f"Correcting {_overcharges(len(part))}",
                          sum((item.difference for item in part), Money.zero(currency)),
                          given.by_user, f"by {actor.user_id}", threshold, LEGACY_ADVICE)


def _overcharges(count: int) -> str:
    return f"{count} legacy overcharge{'' if count == 1 else 's'}"


def void_legacy_duplicates(session: Session, keys: Iterable[DiscrepancyKey], *,
                           actor: Actor) -> CorrectionOutcome:
    """Void each selected legacy duplicate once (`voided_at`, `voided_by`), with an audit row."""
    require(actor, Permission.RECONCILE_LEGACY_BILLING)
    wanted = sorted(set(_check_key(key) for key in keys))
    if not wanted:
        raise InvalidInput("selection", "is empty; select the duplicates to void")
    current = _current_discrepancies(session, wanted)
    for key in wanted:
        if current[key].rule != Rule.DUPLICATE_INVOICE:
            raise InvalidInput("selection", f"{_describe(current[key])} is not a duplicate")
    done, already, amounts = [], [], []
    for key in wanted:
        item = current[key]
        tenant_id, source, legacy_id, rule = key
        voided = session.execute(text("""
            UPDATE legacy_invoices SET voided_at = now(), voided_by = :actor
            WHERE tenant_id = :tenant_id AND legacy_id = :legacy_id AND voided_at IS NULL
            RETURNING status
        """), {"tenant_id": tenant_id, "legacy_id": legacy_id, "actor": actor.user_id}).scalar()
        if voided is None:
            already.append(key)
            continue
        session.execute(text("""
            INSERT INTO legacy_corrections (tenant_id, source, legacy_id, rule, kind,
                                            amount_minor, currency, actor)
            VALUES (:tenant_id, :source, :legacy_id, :rule, :kind, :amount_minor, :currency,
                    :actor)
        """), {"tenant_id": tenant_id, "source": source, "legacy_id": legacy_id, "rule": rule,
               "kind": CorrectionKind.VOID, "amount_minor": item.difference.to_minor_units(),
               "currency": item.difference.currency, "actor": actor.user_id})
        record_audit(session, AuditRecord(
            actor, "legacy_invoice.voided", "legacy_invoice", legacy_id, tenant_id,
            before={"status": voided, "voided": False},
            after={"status": voided, "voided": True, "period": item.period_label,
                   "total_minor": item.difference.to_minor_units(),
                   "currency": item.difference.currency, "reason": item.explanation}))
        done.append(key)
        amounts.append(item.difference)
    return CorrectionOutcome(tuple(done), tuple(already), tuple(amounts))


def _check_key(key: Sequence[str]) -> DiscrepancyKey:
    if len(key) != 4 or key[1] not in tuple(Source) or key[3] not in tuple(Rule):
        raise InvalidInput("selection", f"{key!r} does not name a discrepancy")
    return (str(key[0]), str(key[1]), str(key[2]), str(key[3]))


def _current_discrepancies(session: Session, keys: Sequence[DiscrepancyKey]
                           ) -> dict[DiscrepancyKey, Discrepancy]:
    """Lock the tenants (id order), then recompute their discrepancies under the lock."""
    tenant_ids = sorted({key[0] for key in keys})
    lock_tenants(session, tenant_ids)
    invoices, shares = load_legacy_records(session, tenant_ids)
    current = {item.key: item for item in reconcile(invoices, shares)}
    for key in keys:
        if key not in current:
            raise InvalidInput("selection", f"{key[2]} of {key[0]} ({key[3]}) is not a "
                                            "discrepancy")
    return current


def _describe(item: Discrepancy) -> str:
    return f"{item.legacy_id} of {item.tenant_id} ({RULE_LABELS[item.rule].lower()})"


# --- the sample file --------------------------------------------------------------------------

SAMPLE_FILE = Path(__file__).parent / "sample_data" / "legacy_invoices.csv"


def import_sample_legacy_file(session: Session, *, actor: Actor) -> ImportResult | None:
    """Import `db/sample_data/legacy_invoices.csv` (the six incident symptoms) unless it is
    already there; None when it was. For the demo data."""
    require(actor, Permission.RECONCILE_LEGACY_BILLING)
    _lock_legacy_imports(session)
    if session.execute(text("SELECT 1 FROM legacy_imports WHERE file_name = :name"),
                       {"name": SAMPLE_FILE.name}).first():
        return None
    return import_legacy_file(session, SAMPLE_FILE.read_text(encoding="utf-8"), SAMPLE_FILE.name,
                              actor=actor)
