"""The CSV exports on a real PostgreSQL: tenant names and legacy ids that look like spreadsheet
formulas arrive as text (OWASP's CSV injection rule), while the money columns stay exact decimal
text, negative amounts included."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from sqlalchemy import text

from billing_core.periods import calendar_month
from db.invoicing import generate_invoice
from db.reconciliation import import_legacy_file, reconciliation_report
from ledgerline_ui.back_office.reconciliation_view import report_csv
from ledgerline_ui.tables.csv_export import export_invoices_csv
from tests.actors import finance
from tests.integration.factories import add_plan, add_tenant

ACTOR = finance("finance@test")
SAMPLE = Path(__file__).resolve().parents[2] / "db" / "sample_data" / "legacy_invoices.csv"
HOSTILE = ('=HYPERLINK("http://evil","x")', "+1+1", "@SUM(A1)", "-2+3")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _rows(exported: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(exported)))


def _formula_cells(exported: str, numeric: tuple[str, ...]) -> list[str]:
    """Cells a spreadsheet would run, leaving out the exact decimal text of money columns."""
    return [cell for row in _rows(exported) for column, cell in row.items()
            if cell.startswith(FORMULA_STARTS)
            and not (column in numeric and cell.lstrip("-").replace(".", "").isdigit())]


def test_the_invoice_export_writes_formula_like_tenant_names_as_text(session, new_tenant_id):
    add_plan(session, "test-compute-1000", 100000)
    names = {}
    for name in HOSTILE:
        tenant = add_tenant(session, new_tenant_id("formula"),
                            plans=[(date(2024, 1, 1), "test-compute-1000")])
        session.execute(text("UPDATE tenants SET name = :name WHERE tenant_id = :tenant"),
                        {"name": name, "tenant": tenant})
        generate_invoice(session, tenant, calendar_month("2024-11"), actor=ACTOR)
        names[tenant] = name

    for tenant, name in names.items():
        exported = export_invoices_csv(session, tenant_id=tenant, period_label=None, status=None)
        [row] = _rows(exported)
        assert (row["tenant_id"], row["tenant_name"]) == (tenant, f"'{name}")
        assert (row["subtotal"], row["discount"], row["credit"], row["total"]) == (
            "1000.00", "0.00", "0.00", "1000.00")
        assert _formula_cells(exported, numeric=()) == []


def _hostile_sample(session, new_tenant_id) -> tuple[str, list[str]]:
    """The sample legacy file for fresh tenants, its discrepant legacy ids made hostile."""
    renamed = {"OLD-2024-11-0001": HOSTILE[0], "OLD-2024-11-0004": HOSTILE[1],
               "OLD-2024-11-0005": HOSTILE[2], "OLD-2024-11-0006": HOSTILE[3]}
    tenants: dict[str, str] = {}
    lines = list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))
    header, body = lines[0], lines[1:]
    tenant_at, legacy_at = header.index("tenant_id"), header.index("legacy_id")
    for line in body:
        if line[tenant_at] not in tenants:
            tenants[line[tenant_at]] = add_tenant(session, new_tenant_id(line[tenant_at]))
        line[tenant_at] = tenants[line[tenant_at]]
        line[legacy_at] = renamed.get(line[legacy_at], line[legacy_at])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *body])
    return buffer.getvalue(), list(tenants.values())


def test_the_reconciliation_export_writes_formula_like_legacy_ids_as_text(session,
                                                                           new_tenant_id):
    content, tenants = _hostile_sample(session, new_tenant_id)
    import_legacy_file(session, content, "hostile.csv", actor=ACTOR)

    exported = report_csv(reconciliation_report(session, tenants).rows)
    rows = _rows(exported)
    assert {row["legacy_id"] for row in rows} >= {f"'{legacy_id}" for legacy_id in HOSTILE}
    assert _formula_cells(exported, numeric=("billed", "correct", "difference")) == []
    undercharge = next(row for row in rows if row["rule"] == "allocation_rounding")
    assert (undercharge["legacy_id"], undercharge["difference"]) == (
        "OLD-ALLOC-2024-11-DB", "-0.10"), "a negative amount stays a number"
