"""`python -m db.usage import FILE`, in this process on the test database (as the platform's
jobs run it): the counts on success, every bad line and exit status 2 on a refusal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from db.usage import main
from tests.helpers import command_in_process, committed_session
from tests.integration.factories import TB, add_plan, add_tenant

HEADER = "tenant_id,event_id,metric,quantity,occurred_at\n"


@pytest.fixture
def usage_command(database_url, monkeypatch, capsys):
    return command_in_process(main, database_url, monkeypatch, capsys)


def _metered_tenant(database_url, tenant: str) -> str:
    with committed_session(database_url) as session:
        add_plan(session, "test-cli-storage", 0,
                 usage=("storage", "TB", "byte", TB, TB, Decimal("23.00")))
        add_tenant(session, tenant, plans=[(date(2024, 1, 1), "test-cli-storage")])
    return tenant


def test_the_command_imports_a_file_and_prints_its_counts(usage_command, database_url,
                                                          new_tenant_id, tmp_path):
    tenant = _metered_tenant(database_url, new_tenant_id("cli"))
    good = tmp_path / "usage.csv"
    good.write_text(HEADER + f"{tenant},c1,storage,5,2024-01-02T00:00:00Z\n"
                             f"{tenant},c2,storage,6,2024-01-02T00:00:00Z\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(f'{{"tenant_id": "{tenant}", "event_id": "c3", "metric": "storage", '
                   '"quantity": -1, "occurred_at": "2024-01-02T00:00:00Z"}\n')

    code, out, _ = usage_command(["import", str(good)])
    assert code == 0
    assert out.endswith(": 2 events received, 2 new (0 late), 0 duplicates, 0 conflicts; "
                        "0 draft invoices re-priced\n")
    code, out, _ = usage_command(["import", str(good)])
    assert (code, out.split(": ", 1)[1]) == (0, "2 events received, 0 new (0 late), "
                                               "2 duplicates, 0 conflicts; 0 draft invoices "
                                               "re-priced\n")
    code, out, err = usage_command(["import", str(bad)])
    assert (code, out) == (2, "")
    assert "line 1, quantity: -1 is negative; send whole base units (0 or more)" in err


def test_the_roll_up_command_writes_pending_day_totals(usage_command, database_url,
                                                       new_tenant_id, tmp_path):
    tenant = _metered_tenant(database_url, new_tenant_id("cli"))
    path = tmp_path / "usage.csv"
    path.write_text(HEADER + f"{tenant},r1,storage,5,2024-01-02T00:00:00Z\n")
    assert usage_command(["import", str(path)])[0] == 0

    code, out, _ = usage_command(["roll-up"])

    assert code == 0 and out.startswith("Usage days rolled up: ")
    with committed_session(database_url) as session:
        assert session.execute(text(
            "SELECT used_on, quantity_base_units FROM usage_records WHERE tenant_id = :t"),
            {"t": tenant}).all() == [(date(2024, 1, 2), 5)]
