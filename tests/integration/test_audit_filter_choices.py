"""The Audit log's pickers read `audit_filter_choices`, which the log's insert trigger keeps:
every actor and action written (one row at a time or by COPY) is offered, once; two
transactions bringing the same new actor at once never wait for each other."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.audit import AuditRecord, record_audit, record_audits
from db.reads.audit import audit_actions, audit_actors
from tests.actors import finance


def test_an_actor_and_action_written_once_or_by_copy_are_offered_once(session):
    one, many = f"one-{uuid.uuid4().hex[:8]}@test", f"copy-{uuid.uuid4().hex[:8]}@test"
    action = f"probe.{uuid.uuid4().hex[:8]}"
    record_audit(session, AuditRecord(finance(one), action, "probe", "1"))
    record_audit(session, AuditRecord(finance(one), action, "probe", "2"))
    record_audits(session, [AuditRecord(finance(many), f"{action}.copied", "probe", str(n))
                            for n in range(3)])
    actors, actions = audit_actors(session), audit_actions(session)
    assert (actors.count(one), actors.count(many)) == (1, 1)
    assert (actions.count(action), actions.count(f"{action}.copied")) == (1, 1)
    assert actors == sorted(actors) and actions == sorted(actions)
    # The same answer as the full-table DISTINCT the pickers used to run.
    assert actors == list(session.execute(text(
        "SELECT DISTINCT actor FROM audit_log ORDER BY actor")).scalars())
    assert actions == list(session.execute(text(
        "SELECT DISTINCT action FROM audit_log ORDER BY action")).scalars())


def test_two_transactions_bringing_the_same_new_actor_do_not_wait_for_each_other(engine):
    actor = finance(f"new-{uuid.uuid4().hex[:8]}@test")
    first, second = engine.connect(), engine.connect()
    try:
        for connection in (first, second):
            connection.execute(text("SET LOCAL lock_timeout = '5s'"))
            # Both uncommitted at once: a unique index would make the second wait on the first.
            record_audit(_session_on(connection), AuditRecord(actor, "probe.raced", "probe", "1"))
        first.commit()
        second.commit()
        with engine.connect() as reader:
            assert audit_actors(_session_on(reader)).count(actor.user_id) == 1
    finally:
        first.close()
        second.close()


def _session_on(connection) -> Session:
    return Session(bind=connection)
