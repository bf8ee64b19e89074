"""API keys: made on the command line (the key alone on the last line), stored only as a hash,
refused from the moment they are revoked, and audited with who made or revoked them."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import text

from billing_core.periods import calendar_month
from db.api_keys import hash_key, main
from db.invoicing import generate_invoice
from db.reading_pool import READERS
from tests.actors import finance
from tests.helpers import command_in_process
from tests.integration.factories import add_plan, add_tenant


@pytest.fixture
def api_keys_command(api_url, monkeypatch, capsys):
    """`python -m db.api_keys ...` in this process on the API's database; (code, out, err)."""
    return command_in_process(main, api_url, monkeypatch, capsys)


def test_a_key_is_printed_once_stored_as_a_hash_and_refused_once_revoked(api_keys_command,
                                                                         api_db, client):
    name = f"meter-eu-{uuid.uuid4().hex[:6]}"
    code, out, _ = api_keys_command(["create", "--name", name, "--role", "meter"])
    assert code == 0
    key = out.splitlines()[-1]
    assert key.startswith("ll_") and len(key) > 40 and " " not in key

    with api_db.begin() as session:
        stored = session.execute(text("SELECT * FROM api_keys WHERE name = :n"),
                                 {"n": name}).mappings().one()
        dump = session.execute(text("SELECT string_agg(t::text, '') FROM api_keys t")).scalar_one()
        audited = session.execute(text("""
            SELECT actor, actor_role, action FROM audit_log WHERE entity = 'api_key'
            AND entity_id = :id ORDER BY audit_id
        """), {"id": str(stored["api_key_id"])}).all()
    assert stored["key_hash"] == hash_key(key) and key not in dump
    assert (stored["role"], stored["created_by"]) == ("meter", "api-keys")
    assert audited == [("api-keys", "finance", "api_key.created")]

    # A meter may not read invoices: the key works (403, not 401) until it is revoked.
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/invoices", headers=headers).status_code == 403
    code, out, _ = api_keys_command(["--actor", "ops@test", "revoke", "--name", name])
    assert (code, out.strip()) == (0, f"Revoked API key {name}.")
    assert client.get("/v1/invoices", headers=headers).status_code == 401

    code, out, _ = api_keys_command(["list"])
    [listed] = [line.split("\t") for line in out.splitlines() if line.startswith(f"{name}\t")]
    assert listed[1] == "meter" and listed[2].startswith("revoked ")


@pytest.mark.parametrize("argv, message", [
    (["create", "--name", "Has Spaces", "--role", "finance"],
     "name: 'Has Spaces' is not a key name"),
    (["revoke", "--name", "never-made"], "name: no API key is named 'never-made'"),
], ids=["a name with spaces", "revoking an unknown key"])
def test_bad_commands_say_what_is_wrong_and_change_nothing(api_keys_command, api_db, argv,
                                                           message):
    with api_db.begin() as session:
        before = session.execute(text("SELECT count(*) FROM api_keys")).scalar_one()
    code, _, err = api_keys_command(argv)
    assert code == 2 and err.startswith(message)
    with api_db.begin() as session:
        assert session.execute(text("SELECT count(*) FROM api_keys")).scalar_one() == before


def test_a_name_is_one_client_forever(api_keys_command):
    name = f"platform-{uuid.uuid4().hex[:6]}"
    assert api_keys_command(["create", "--name", name, "--role", "finance"])[0] == 0
    assert api_keys_command(["revoke", "--name", name])[0] == 0
    code, _, err = api_keys_command(["create", "--name", name, "--role", "finance"])
    assert (code, err.strip()) == (2, f"name: {name} is already the name of an API key")


def test_the_invoice_read_refuses_a_key_from_the_request_after_its_revocation(
        api_keys_command, api_db, client, new_tenant_id):
    """The invoice read runs on its own async connections (db.reading_pool): it must look the
    key up on every request there too, never keep an answer."""
    with api_db.begin() as session:
        add_plan(session, "keys-compute-1000", 100000)
        tenant = add_tenant(session, new_tenant_id("api-keys"),
                            plans=[(date(2024, 1, 1), "keys-compute-1000")])
        draft = generate_invoice(session, tenant, calendar_month("2024-11"),
                                 actor=finance("setup@test")).invoice_id
    name = f"reader-{uuid.uuid4().hex[:8]}"
    code, out, _ = api_keys_command(["create", "--name", name, "--role", "finance"])
    headers = {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}
    # Enough reads that every pooled connection has served the key, its statement prepared.
    for _ in range(READERS + 2):
        answer = client.get(f"/v1/invoices/{tenant}/{draft}", headers=headers)
        assert (answer.status_code, answer.json()["invoice_id"]) == (200, draft)

    assert api_keys_command(["revoke", "--name", name])[0] == 0
    refused = client.get(f"/v1/invoices/{tenant}/{draft}", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
