"""The Reconciliation screen's reads: the stored report counted, totalled and paged in SQL.

`db.reconciliation.store_reconciliation_report` writes every discrepancy once per import
(`legacy_discrepancies`, in report order). A render reads from it:

- `report_summary`: the imports, counts, totals per rule and currency, the rules found, how
  many corrections are proposed, and the proposals beside credits already granted;
- `discrepancy_page`: one page of discrepancies (all, or one rule's), each with its state;
- `proposal_selection` / `selected_keys`: the proposals of one kind (credits or voids) that a
  rule and a tenant filter choose: their count and total per currency, a page of them, and
  their keys when finance reviews them; `proposal_filters` gives the filters' choices;
- `stored_report_rows`: every row, for the CSV export (built on the click).

Corrections issued since the import (`legacy_corrections`) are joined in SQL. What the
customer was granted outside reconciliation (`billing_core.already_granted`) can change at
any moment, so it is laid beside the proposals on every render, but only for the tenants
that have such a credit or credit note: 54,000 proposals of tenants without any cost
nothing; each tenant with one costs its own proposals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.already_granted import GrantedBeside, lay_beside
from billing_core.money import Money
from billing_core.reconciliation import (
    CorrectionKind,
    Discrepancy,
    ReconciliationTotals,
    Rule,
    RuleTotal,
    Source,
)
from db.granted_credits import granted_credits
from db.reconciliation import Correction, DiscrepancyKey, LegacyImportSummary, ReportRow

PAGE_SIZE = 100
"""Rows in one page of discrepancies or of a selection of proposals."""

_COLUMNS = """d.tenant_id, d.source, d.legacy_id, d.rule, d.line_no, d.period_label, d.currency,
    d.billed_minor, d.correct_minor, d.difference_minor, d.explanation,
    c.kind, c.amount_minor, c.currency, c.credit_id, c.actor, c.created_at"""
_FROM = """FROM legacy_discrepancies d
    LEFT JOIN legacy_corrections c ON c.tenant_id = d.tenant_id AND c.source = d.source
         AND c.legacy_id = d.legacy_id AND c.rule = d.rule"""
_OVERCHARGE = "d.rule <> 'duplicate_invoice' AND d.difference_minor > 0"
_DUPLICATE = "d.rule = 'duplicate_invoice'"


@dataclass(frozen=True, slots=True)
class ReportSummary:
    imports: tuple[LegacyImportSummary, ...]
    """Newest first."""
    discrepancy_count: int
    totals: ReconciliationTotals
    rules: tuple[Rule, ...]
    """The rules that have discrepancies, in `Rule` order."""
    proposed_credit_count: int
    proposed_void_count: int
    left_out: tuple[ReportRow, ...]
    """Overcharges not proposed: the customer already received the credit."""
    related: tuple[ReportRow, ...]
    """Proposals beside credits granted for the same period or record (still proposed)."""
    beside: dict[DiscrepancyKey, GrantedBeside] = field(default_factory=dict)
    """What lies beside each proposal that has a related credit (`ReportRow.beside`)."""

    @property
    def invoice_count(self) -> int:
        return sum(item.invoice_count for item in self.imports)

    @property
    def allocation_count(self) -> int:
        return sum(item.allocation_count for item in self.imports)

    @property
    def pending_count(self) -> int:
        return self.proposed_credit_count + self.proposed_void_count


@dataclass(frozen=True, slots=True)
class ProposalSelection:
    """The proposals a filter chooses: how many, their total per currency, the first page."""

    count: int
    amounts: tuple[Money, ...]
    rows: tuple[ReportRow, ...]


def report_summary(session: Session) -> ReportSummary:
    """Counts, totals and what lies beside the proposals; a few small queries."""
    imports = tuple(LegacyImportSummary(*row) for row in session.execute(text("""
        SELECT import_id, file_name, actor, invoice_count, allocation_count, imported_at
        FROM legacy_imports ORDER BY import_id DESC
    """)))
    totals = _totals(session)
    beside = _beside_proposals(session)
    beside_rows = _rows_of(session, beside, list(beside))
    left_out = tuple(row for row in beside_rows if row.already_granted is not None)
    related = tuple(row for row in beside_rows if row.already_granted is None)
    pending: dict[bool, int] = dict(session.execute(text(f"""
        SELECT {_DUPLICATE}, count(*) {_FROM}
        WHERE c.correction_id IS NULL AND ({_OVERCHARGE} OR {_DUPLICATE})
        GROUP BY 1
    """)).all())
    return ReportSummary(
        imports, sum(total.count for total in totals.overall), totals,
        tuple(rule for rule in Rule if any(t.rule == rule for t in totals.by_rule)),
        pending.get(False, 0) - len(left_out), pending.get(True, 0), left_out, related, beside)


def discrepancy_page(session: Session, summary: ReportSummary, rule: Rule | None = None,
                     page: int = 0) -> tuple[ReportRow, ...]:
    """Page `page` (from 0) of the discrepancies, all or one rule's, in report order."""
    where, params = ("d.rule = :rule", {"rule": str(rule)}) if rule else ("true", {})
    return _read_rows(session, summary.beside, f"WHERE {where}", params,
                      limit=PAGE_SIZE, offset=page * PAGE_SIZE)


def discrepancy_count(summary: ReportSummary, rule: Rule | None = None) -> int:
    return sum(t.count for t in summary.totals.by_rule if rule is None or t.rule == rule)


def proposal_filters(session: Session, summary: ReportSummary, kind: CorrectionKind
                     ) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    """The rules and the tenants that have proposals of `kind`: the filters' choices."""
    where, params = _proposals_where(summary, kind, None, None)
    rules = set(session.execute(text(f"SELECT DISTINCT d.rule {_FROM} WHERE {where}"),
                                params).scalars())
    tenants = session.execute(text(f"""
        SELECT DISTINCT d.tenant_id {_FROM} WHERE {where} ORDER BY d.tenant_id
    """), params).scalars()
    return tuple(rule for rule in Rule if rule in rules), tuple(tenants)


def proposal_selection(session: Session, summary: ReportSummary, kind: CorrectionKind,
                       rule: Rule | None = None, tenant_id: str | None = None
                       ) -> ProposalSelection:
    """The proposals of `kind` that `rule` and `tenant_id` choose (None: every one)."""
    where, params = _proposals_where(summary, kind, rule, tenant_id)
    by_currency = session.execute(text(f"""
        SELECT d.currency, count(*), sum(d.difference_minor) {_FROM} WHERE {where}
        GROUP BY d.currency ORDER BY d.currency
    """), params).all()
    rows = _read_rows(session, summary.beside, f"WHERE {where}", params, limit=PAGE_SIZE)
    return ProposalSelection(sum(count for _, count, _ in by_currency),
                             tuple(Money.from_minor_units(int(minor), currency)
                                   for currency, _, minor in by_currency), rows)


def selected_keys(session: Session, summary: ReportSummary, kind: CorrectionKind,
                  rule: Rule | None = None, tenant_id: str | None = None
                  ) -> tuple[DiscrepancyKey, ...]:
    """The keys of `proposal_selection`'s proposals, every one, in report order."""
    where, params = _proposals_where(summary, kind, rule, tenant_id)
    return tuple((tenant, source, legacy_id, rule_word) for tenant, source, legacy_id, rule_word
                 in session.execute(text(f"""
                     SELECT d.tenant_id, d.source, d.legacy_id, d.rule {_FROM}
                     WHERE {where} ORDER BY d.position
                 """), params))


def stored_report_rows(session: Session, summary: ReportSummary) -> tuple[ReportRow, ...]:
    """Every discrepancy with its state, in report order (the export)."""
    return _read_rows(session, summary.beside, "", {})


# --- the parts ------------------------------------------------------------------------------


def _totals(session: Session) -> ReconciliationTotals:
    """Per rule and overall, per currency, as `billing_core.reconciliation.summarize` gives."""
    found = {(Rule(rule), currency): (count, over, under) for rule, currency, count, over, under
             in session.execute(text("""
                 SELECT rule, currency, count(*),
                        coalesce(sum(difference_minor) FILTER (WHERE difference_minor > 0), 0),
                        coalesce(-sum(difference_minor) FILTER (WHERE difference_minor < 0), 0)
                 FROM legacy_discrepancies GROUP BY rule, currency
             """))}
    order = list(Rule)
    by_rule = tuple(_rule_total(rule, currency, *found[(rule, currency)])
                    for rule, currency in sorted(found, key=lambda k: (order.index(k[0]), k[1])))
    overall: dict[str, list[int]] = {}
    for (_, currency), figures in found.items():
        summed = overall.setdefault(currency, [0, 0, 0])
        for index, figure in enumerate(figures):
            summed[index] += int(figure)
    return ReconciliationTotals(by_rule, tuple(
        _rule_total(None, currency, *overall[currency]) for currency in sorted(overall)))


def _rule_total(rule: Rule | None, currency: str, count: int, over: int, under: int
                ) -> RuleTotal:
    return RuleTotal(rule, currency, int(count), Money.from_minor_units(int(over), currency),
                     Money.from_minor_units(int(under), currency))


def _beside_proposals(session: Session) -> dict[DiscrepancyKey, GrantedBeside]:
    """The credits granted outside reconciliation beside each open overcharge, for the tenants
    that have any (a credit a legacy correction issued does not count: see granted_credits)."""
    tenants = list(session.execute(text("""
        WITH proposing AS (
            SELECT DISTINCT tenant_id FROM legacy_discrepancies d WHERE """ + _OVERCHARGE + """)
        SELECT p.tenant_id FROM proposing p
        WHERE EXISTS (SELECT 1 FROM credits c WHERE c.tenant_id = p.tenant_id
                      AND NOT EXISTS (SELECT 1 FROM legacy_corrections l
                                      WHERE l.tenant_id = c.tenant_id
                                        AND l.credit_id = c.credit_id))
           OR EXISTS (SELECT 1 FROM credit_notes n WHERE n.tenant_id = p.tenant_id)
    """)).scalars())
    if not tenants:
        return {}
    proposals = [row.discrepancy for row in _read_rows(
        session, {}, f"WHERE {_OVERCHARGE} AND c.correction_id IS NULL "
                     "AND d.tenant_id = ANY(:tenants)", {"tenants": tenants})]
    return lay_beside(proposals, granted_credits(session, tenants))


def _rows_of(session: Session, beside: dict[DiscrepancyKey, GrantedBeside],
             keys: Sequence[DiscrepancyKey]) -> tuple[ReportRow, ...]:
    """The rows of `keys`, in report order."""
    if not keys:
        return ()
    tenants, sources, ids, rules = (list(part) for part in zip(*keys, strict=True))
    return _read_rows(session, beside, """
        JOIN unnest(CAST(:tenants AS text[]), CAST(:sources AS text[]), CAST(:ids AS text[]),
                    CAST(:rules AS text[])) AS k(tenant_id, source, legacy_id, rule)
          ON (k.tenant_id, k.source, k.legacy_id, k.rule)
           = (d.tenant_id, d.source, d.legacy_id, d.rule)
    """, {"tenants": tenants, "sources": sources, "ids": ids, "rules": rules})


def _proposals_where(summary: ReportSummary, kind: CorrectionKind, rule: Rule | None,
                     tenant_id: str | None) -> tuple[str, dict[str, object]]:
    """The proposals of `kind` (credits leave out what was already granted), filtered."""
    conditions = ["c.correction_id IS NULL",
                  _OVERCHARGE if kind is CorrectionKind.CREDIT else _DUPLICATE]
    params: dict[str, object] = {}
    if rule is not None:
        conditions.append("d.rule = :rule")
        params["rule"] = str(rule)
    if tenant_id is not None:
        conditions.append("d.tenant_id = :tenant_id")
        params["tenant_id"] = tenant_id
    left_out = [row.discrepancy.key for row in summary.left_out]
    if kind is CorrectionKind.CREDIT and left_out:
        conditions.append("""(d.tenant_id, d.source, d.legacy_id, d.rule) NOT IN (
            SELECT * FROM unnest(CAST(:out_tenants AS text[]), CAST(:out_sources AS text[]),
                                 CAST(:out_ids AS text[]), CAST(:out_rules AS text[])))""")
        for name, part in zip(("out_tenants", "out_sources", "out_ids", "out_rules"),
                              zip(*left_out, strict=True), strict=True):
            params[name] = list(part)
    return " AND ".join(conditions), params


def _read_rows(session: Session, beside: dict[DiscrepancyKey, GrantedBeside], where: str,
               params: Mapping[str, object], *, limit: int | None = None, offset: int = 0
               ) -> tuple[ReportRow, ...]:
    paging = "" if limit is None else f"LIMIT {int(limit)} OFFSET {int(offset)}"
    rows = []
    for (tenant_id, source, legacy_id, rule, line_no, period_label, currency, billed, correct,
         difference, explanation, kind, amount, correction_currency, credit_id, actor,
         created_at) in session.execute(text(f"""
            SELECT {_COLUMNS} {_FROM} {where} ORDER BY d.position {paging}
         """), params):
        item = Discrepancy(Source(source), tenant_id, legacy_id, period_label, Rule(rule),
                           Money.from_minor_units(billed, currency),
                           Money.from_minor_units(correct, currency),
                           Money.from_minor_units(difference, currency), explanation, line_no)
        correction = None if kind is None else Correction(
            CorrectionKind(kind), Money.from_minor_units(amount, correction_currency),
            credit_id, actor, created_at)
        rows.append(ReportRow(item, correction,
                              beside.get(item.key) if correction is None else None))
    return tuple(rows)
