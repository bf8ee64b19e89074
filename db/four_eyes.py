"""The four-eyes window: what one person gave away alone in the last 24 hours.

A credit above the approval threshold (`db.credits.credit_approval_threshold`)
needs a second finance user. Splitting would beat that rule if each part were
judged alone: three $500 credits at a $500 threshold, or a crafted legacy file
of 24 corrections of $1,000 each. So every way one person can give money away
without a second approver (a service credit issued directly, a credit note, a
legacy correction, which is a service credit too) is added to what was given
that way in the last 24 hours by the database clock (`now()`), in the same
currency, twice over: to the tenant by anyone, and by the user to any tenant.
Above the threshold it needs a second approver
(`billing_core.access.check_given_alone`).

What counts: the `credits` and `credit_notes` rows created in the window. A
credit or credit note issued by approving a request (a
`credit_requests.credit_id` or `credit_note_id`) does not: a second person
looked at it, and counting it would only stop the next small credit without
adding a pair of eyes. A pending request counts for nothing until it is
approved.

Locks: reading the window and writing the grant must not interleave with
another grant, or three $500 credits sent at once would each see nothing given.
The tenant row lock (`db.credit_ledger.lock_tenants`, taken by every credit and
credit note) serializes the grants to one tenant; `lock_giver`, a transaction
advisory lock on the user id, serializes one user's grants across tenants.
Order (`db.credit_ledger`): the giver, then the tenants (id order), then
invoices. After both locks, a statement under
READ COMMITTED (the engine's default) sees every grant committed by whoever held
them before; the window is read then, never earlier.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing_core.access import GIVEN_ALONE_WINDOW_HOURS, Actor
from billing_core.money import Money


@dataclass(frozen=True, slots=True)
class GivenAlone:
    """Given without a second approver in the window, in one currency: `to_tenant[t]` by
    anyone to tenant t, `by_user` by one user to any tenant."""

    to_tenant: dict[str, Money]
    by_user: Money


def lock_giver(session: Session, actor: Actor) -> None:
    """Serialize `actor`'s grants until the transaction ends. Take it before any tenant lock."""
    session.execute(text(
        "SELECT pg_advisory_xact_lock(hashtext('ledgerline.giver'), hashtext(:user_id))"),
        {"user_id": actor.user_id})


# One rule for both ways of giving: what `table` gave in the window, to the tenants or by
# the user, less what an approved request issued (its `credit_requests` column `id_column`).
_GIVEN_ALONE = text(" UNION ALL ".join(f"""
    SELECT g.tenant_id, g.actor, g.amount_minor FROM {table} g
    WHERE g.created_at > now() - make_interval(hours => :hours)
      AND g.currency = :currency
      AND (g.tenant_id = ANY(:tenant_ids) OR g.actor = :user_id)
      AND NOT EXISTS (SELECT 1 FROM credit_requests r
                      WHERE r.tenant_id = g.tenant_id AND r.{id_column} = g.{id_column})
"""
    for table, id_column in (("credits", "credit_id"), ("credit_notes", "credit_note_id"))))


def given_alone(session: Session, tenant_ids: Collection[str], actor: Actor,
                currency: str) -> GivenAlone:
    """What the window holds for `tenant_ids` and for `actor`, in `currency`. Read it under the
    tenants' locks and `lock_giver`, or it is only a preview."""
    rows = session.execute(_GIVEN_ALONE, {
        "hours": GIVEN_ALONE_WINDOW_HOURS, "currency": currency,
        "tenant_ids": list(tenant_ids), "user_id": actor.user_id}).all()
    to_tenant = {tenant_id: Money.zero(currency) for tenant_id in tenant_ids}
    by_user = Money.zero(currency)
    for tenant_id, given_by, amount_minor in rows:
        amount = Money.from_minor_units(amount_minor, currency)
        if tenant_id in to_tenant:
            to_tenant[tenant_id] += amount
        if given_by == actor.user_id:
            by_user += amount
    return GivenAlone(to_tenant, by_user)
