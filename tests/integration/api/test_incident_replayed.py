"""The incident, the way it happened: many HTTP clients asking for one invoice at once.

"Multiple API requests hit the billing endpoint simultaneously during month-end processing"
made duplicate invoices. Here 50 clients, each with its own connection, send
`POST /v1/invoices` for ent-globex-industries 2024-01 at the same moment, 20 rounds: every
round all 50 get 200/201 with one invoice id, and the database holds one invoice.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
from sqlalchemy import text

from tests.integration.api.conftest import bearer
from tests.integration.factories import add_plan, add_tenant

GLOBEX = "ent-globex-industries"
CLIENTS = 50
ROUNDS = 20


def _invoices(db) -> list[int]:
    with db.begin() as session:
        return list(session.execute(text("""
            SELECT invoice_id FROM invoices WHERE tenant_id = :t AND period_label = '2024-01'
        """), {"t": GLOBEX}).scalars())


def _delete_draft(db, invoice_id: int) -> None:
    with db.begin() as session:
        params = {"t": GLOBEX, "i": invoice_id}
        session.execute(text("DELETE FROM invoice_lines WHERE tenant_id = :t AND invoice_id = :i"),
                        params)
        session.execute(text("DELETE FROM invoices WHERE tenant_id = :t AND invoice_id = :i"),
                        params)


def test_fifty_clients_at_once_get_one_invoice_twenty_times(api_base, api_db, keys):
    with api_db.begin() as session:
        add_plan(session, "globex-compute-1000", 100000)
        add_tenant(session, GLOBEX, plans=[(date(2024, 1, 1), "globex-compute-1000")])
    headers = bearer(keys, "finance")
    clients = [httpx.Client(base_url=api_base, headers=headers, timeout=60)
               for _ in range(CLIENTS)]
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            for _ in range(ROUNDS):
                start = threading.Barrier(CLIENTS)

                def ask(http: httpx.Client, start: threading.Barrier = start) -> httpx.Response:
                    start.wait()
                    return http.post("/v1/invoices", json={"tenant": GLOBEX, "period": "2024-01"})

                answers = list(pool.map(ask, clients))
                assert sorted({answer.status_code for answer in answers}) in ([200, 201], [201])
                assert [a.status_code for a in answers].count(201) == 1
                ids = {answer.json()["invoice_id"] for answer in answers}
                stored = _invoices(api_db)
                assert len(ids) == 1 and stored == list(ids)
                _delete_draft(api_db, stored[0])
    finally:
        for http in clients:
            http.close()
