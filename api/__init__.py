"""Ledgerline's billing HTTP API: the door the platform calls (issue 15).

A thin door over the same `db/` operations the screens use: FastAPI turns JSON
into their arguments and their results into JSON; no billing rule lives here.
Every request is authenticated by an API key (`db.api_keys`), allowed by the key's
role (`billing_core.access.require`), run in one transaction, and audited by the
operation with the key's name as the actor. See docs/api.md.

    .venv/bin/python -m api --port 8000 --host 127.0.0.1
"""
