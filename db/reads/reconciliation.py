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

The one pass over the stored report (0.2-0.5 s at 100,000 legacy invoices) is kept per
database and reused while the report's version holds: the newest import (its id and time,
so a database made again under the same name is not taken for the old one) and the newest
correction. Both tables only ever grow and their ids are never reused, so any change moves
one of them. A rerun of the screen then costs reading the version (an index probe and a scan
of the corrections' ids), not the pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

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
_OPEN = f"c.correction_id IS NULL AND ({_OVERCHARGE} OR {_DUPLICATE})"
"""A proposal: no correction yet, and an overcharge to credit or a duplicate to void."""
_UNCORRECTED = """NOT EXISTS (SELECT 1 FROM legacy_corrections x
    WHERE (x.tenant_id, x.source, x.legacy_id, x.rule)
        = (d.tenant_id, d.source, d.legacy_id, d.rule))"""
"""No correction yet, as a filter for a page: PostgreSQL plans it as an anti-join and walks the
report in order until the page is full (0.4 ms), where `c.correction_id IS NULL` after the
outer join, misjudged as rare, made it join and sort every discrepancy (140 ms at 54,000)."""
_RULES = {str(rule): rule for rule in Rule}


@dataclass(frozen=True, slots=True)
class ProposalGroup:
    """The open proposals of one kind, rule, tenant and currency: how many, and their sum."""

    kind: CorrectionKind
    rule: Rule
    tenant_id: str
    currency: str
    count: int
    minor: int


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
    proposals: tuple[ProposalGroup, ...] = ()
    """The open proposals (without those left out) counted per kind, rule, tenant, currency."""

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
    """Counts, totals and what lies beside the proposals: one pass over the stored report
    (grouped by rule, tenant and currency), then the few proposals beside granted credits."""
    imports = tuple(LegacyImportSummary(*row) for row in session.execute(text("""
        SELECT import_id, file_name, actor, invoice_count, allocation_count, imported_at
        FROM legacy_imports ORDER BY import_id DESC
    """)))
    groups = _report_groups(session)
    totals = _totals([(_RULES[rule], currency, count, int(over), int(under))
                      for rule, _, currency, count, over, under, _, _ in groups])
    beside = _beside_proposals(session, sorted({
        tenant for rule, tenant, *_, open_count, _ in groups
        if open_count and rule != Rule.DUPLICATE_INVOICE}))
    beside_rows = _rows_of(session, beside, list(beside))
    left_out = tuple(row for row in beside_rows if row.already_granted is not None)
    related = tuple(row for row in beside_rows if row.already_granted is None)
    proposals = _without(left_out, [
        ProposalGroup(_kind_of(_RULES[rule]), _RULES[rule], tenant, currency, count,
                      int(minor))
        for rule, tenant, currency, *_, count, minor in groups if count])
    return ReportSummary(
        imports, sum(total.count for total in totals.overall), totals,
        tuple(rule for rule in Rule if any(t.rule == rule for t in totals.by_rule)),
        sum(g.count for g in proposals if g.kind is CorrectionKind.CREDIT),
        sum(g.count for g in proposals if g.kind is CorrectionKind.VOID),
        left_out, related, beside, proposals)


def discrepancy_page(session: Session, summary: ReportSummary, rule: Rule | None = None,
                     page: int = 0) -> tuple[ReportRow, ...]:
    """Page `page` (from 0) of the discrepancies, all or one rule's, in report order."""
    where, params = ("d.rule = :rule", {"rule": str(rule)}) if rule else ("true", {})
    return _read_rows(session, summary.beside, f"WHERE {where}", params,
                      limit=PAGE_SIZE, offset=page * PAGE_SIZE)


def discrepancy_count(summary: ReportSummary, rule: Rule | None = None) -> int:
    return sum(t.count for t in summary.totals.by_rule if rule is None or t.rule == rule)


def proposal_filters(summary: ReportSummary, kind: CorrectionKind
                     ) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    """The rules and the tenants that have proposals of `kind`: the filters' choices."""
    groups = [group for group in summary.proposals if group.kind is kind]
    rules = {group.rule for group in groups}
    return (tuple(rule for rule in Rule if rule in rules),
            tuple(sorted({group.tenant_id for group in groups})))


def proposal_selection(session: Session, summary: ReportSummary, kind: CorrectionKind,
                       rule: Rule | None = None, tenant_id: str | None = None
                       ) -> ProposalSelection:
    """The proposals of `kind` that `rule` and `tenant_id` choose (None: every one): count
    and total per currency from the summary, and the first page."""
    chosen = [group for group in summary.proposals if group.kind is kind
              and rule in (None, group.rule) and tenant_id in (None, group.tenant_id)]
    by_currency: dict[str, int] = {}
    for group in chosen:
        by_currency[group.currency] = by_currency.get(group.currency, 0) + group.minor
    where, params = _proposals_where(summary, kind, rule, tenant_id)
    rows = _read_rows(session, summary.beside, f"WHERE {where}", params, limit=PAGE_SIZE)
    return ProposalSelection(sum(group.count for group in chosen), tuple(
        Money.from_minor_units(by_currency[currency], currency)
        for currency in sorted(by_currency)), rows)


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

_GROUPS_BY_DATABASE: dict[str, tuple[tuple[Any, ...], list[Any]]] = {}
_GROUPS_LOCK = Lock()


def _report_groups(session: Session) -> list[Any]:
    """The stored report grouped by rule, tenant and currency (counts, over- and undercharged,
    open proposals and their sum), reused while the report's version is unchanged."""
    version = tuple(session.execute(text("""
        SELECT (SELECT max(import_id) FROM legacy_imports),
               (SELECT imported_at FROM legacy_imports ORDER BY import_id DESC LIMIT 1),
               (SELECT max(correction_id) FROM legacy_corrections)
    """)).one())
    database = session.connection().engine.url.render_as_string(hide_password=True)
    with _GROUPS_LOCK:
        kept = _GROUPS_BY_DATABASE.get(database)
    if kept is not None and kept[0] == version:
        return kept[1]
    groups = list(session.execute(text(f"""
        SELECT d.rule, d.tenant_id, d.currency, count(*),
               coalesce(sum(d.difference_minor) FILTER (WHERE d.difference_minor > 0), 0),
               coalesce(-sum(d.difference_minor) FILTER (WHERE d.difference_minor < 0), 0),
               count(*) FILTER (WHERE {_OPEN}),
               coalesce(sum(d.difference_minor) FILTER (WHERE {_OPEN}), 0)
        {_FROM} GROUP BY d.rule, d.tenant_id, d.currency
    """)).all())
    with _GROUPS_LOCK:
        _GROUPS_BY_DATABASE[database] = (version, groups)
    return groups


def _totals(figures: Sequence[tuple[Rule, str, int, int, int]]) -> ReconciliationTotals:
    """Per rule and overall, per currency, as `billing_core.reconciliation.summarize` gives,
    from (rule, currency, count, overcharged, undercharged) figures."""
    by_key: dict[tuple[Rule | None, str], list[int]] = {}
    for rule, currency, *counted in figures:
        for key in ((rule, currency), (None, currency)):
            summed = by_key.setdefault(key, [0, 0, 0])
            for index, figure in enumerate(counted):
                summed[index] += figure
    order = list(Rule)
    by_rule = sorted(((rule, currency) for rule, currency in by_key if rule is not None),
                     key=lambda key: (order.index(key[0]), key[1]))
    return ReconciliationTotals(
        tuple(_rule_total(rule, currency, *by_key[(rule, currency)])
              for rule, currency in by_rule),
        tuple(_rule_total(None, currency, *by_key[(None, currency)])
              for currency in sorted({currency for rule, currency in by_key})))


def _kind_of(rule: Rule) -> CorrectionKind:
    return CorrectionKind.VOID if rule == Rule.DUPLICATE_INVOICE else CorrectionKind.CREDIT


def _without(left_out: Sequence[ReportRow], groups: list[ProposalGroup]
             ) -> tuple[ProposalGroup, ...]:
    """`groups` less the proposals left out (already granted): each leaves its group."""
    out: dict[tuple[Rule, str, str], list[int]] = {}
    for row in left_out:
        item = row.discrepancy
        taken = out.setdefault((item.rule, item.tenant_id, item.difference.currency), [0, 0])
        taken[0] += 1
        taken[1] += item.difference.to_minor_units()
    kept = []
    for group in groups:
        count, minor = out.get((group.rule, group.tenant_id, group.currency), (0, 0))
        if group.kind is CorrectionKind.CREDIT and count:
            group = ProposalGroup(group.kind, group.rule, group.tenant_id, group.currency,
                                  group.count - count, group.minor - minor)
        if group.count:
            kept.append(group)
    return tuple(kept)


def _rule_total(rule: Rule | None, currency: str, count: int, over: int, under: int
                ) -> RuleTotal:
    return RuleTotal(rule, currency, int(count), Money.from_minor_units(int(over), currency),
                     Money.from_minor_units(int(under), currency))


def _beside_proposals(session: Session, proposing: Sequence[str]
                      ) -> dict[DiscrepancyKey, GrantedBeside]:
    """The credits granted outside reconciliation beside each open overcharge of the tenants
    `proposing`, for those that have any (a credit a legacy correction issued does not count:
    see `granted_credits`)."""
    tenants = list(session.execute(text("""
        SELECT p.tenant_id FROM unnest(CAST(:proposing AS text[])) AS p(tenant_id)
        WHERE EXISTS (SELECT 1 FROM credits c WHERE c.tenant_id = p.tenant_id
                      AND NOT EXISTS (SELECT 1 FROM legacy_corrections l
                                      WHERE l.tenant_id = c.tenant_id
                                        AND l.credit_id = c.credit_id))
           OR EXISTS (SELECT 1 FROM credit_notes n WHERE n.tenant_id = p.tenant_id)
    """), {"proposing": list(proposing)}).scalars())
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
    conditions = [_UNCORRECTED, _OVERCHARGE if kind is CorrectionKind.CREDIT else _DUPLICATE]
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
