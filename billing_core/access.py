"""Who may do what: roles, permissions, and the one check every change passes.

Ledgerline holds every tenant's billing data and can move money, so a change is
never anonymous and never unchecked. Four roles, declared once in
`ROLE_PERMISSIONS` below (issue #5):

- finance: every action;
- customer success: reads everything, uses the price preview, and *requests*
  service credits, which finance approves or rejects (a request is not a credit);
  a credit note corrects an invoice already issued, finance's own document, so
  only finance issues or requests one;
- manager: reads only, including the dashboards and allocation charts;
- meter: a machine, never a person (an API key of the billing API, `api/`): it may
  only send usage events. People sign in with one of `PERSON_ROLES`.

Every changing operation in `db/` takes an `Actor` and calls `require(actor,
permission)` before it reads anything under a lock; the screens hide what a
role cannot do, but the operation refuses anyway, with a sentence that names
the actor, the role and the action:
"Customer success — cs@demo may not finalize invoices".

Credits and credit notes above a configurable amount need a second finance user:
the one who requested them never approves them (`check_credit_approver`). Splitting does
not get round that: what one person gives away alone (service credits, credit
notes, legacy corrections) is added up over a rolling 24 hours, per tenant and
per user, and the same threshold applies to the sum (`check_given_alone`).

Sign-in throttling is policy too: after a few wrong passwords in a row the next
attempt waits, doubling each time. Counted per client (any email, known or not) up
to 15 minutes (`sign_in_wait_seconds`), and per email up to 30 seconds only
(`email_sign_in_wait_seconds`), so a stranger guessing someone's password delays
its owner briefly and never locks them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from billing_core.errors import BillingError, InvalidInput
from billing_core.money import Money, format_money


class Role(StrEnum):
    FINANCE = "finance"
    CUSTOMER_SUCCESS = "customer_success"
    MANAGER = "manager"
    METER = "meter"


PERSON_ROLES: tuple[Role, ...] = (Role.FINANCE, Role.CUSTOMER_SUCCESS, Role.MANAGER)
"""The roles a person signs in with (`users.role`); a meter is only ever an API key."""

ROLE_LABELS: Mapping[Role, str] = MappingProxyType({
    Role.FINANCE: "Finance", Role.CUSTOMER_SUCCESS: "Customer success", Role.MANAGER: "Manager",
    Role.METER: "Meter",
})


class Permission(StrEnum):
    """One per thing a user can do; the value reads in a sentence after "may not"."""

    VIEW_BILLING = "view billing data"
    USE_PREVIEW = "use the price preview"
    GENERATE_INVOICES = "generate invoices"
    FINALIZE_INVOICES = "finalize invoices"
    VOID_INVOICES = "void invoices"
    RECORD_PAYMENTS = "record payments"
    ISSUE_CREDITS = "issue credits"
    ISSUE_CREDIT_NOTES = "issue credit notes"
    REQUEST_CREDITS = "request credits"
    REQUEST_CREDIT_NOTES = "request credit notes"
    DECIDE_CREDIT_REQUESTS = "approve or reject credit requests"
    RUN_ALLOCATIONS = "save cost allocation runs"
    RUN_MONTH_END = "run month-end"
    RECONCILE_LEGACY_BILLING = "import and correct legacy billing"
    MANAGE_TENANTS = "create and change tenants"
    MANAGE_PLANS = "create and change plans"
    CHANGE_SUBSCRIPTIONS = "change subscriptions"
    MANAGE_DISCOUNTS = "add, end and remove discounts"
    SEND_USAGE = "send usage events"
    SETTLE_LATE_USAGE = "bill or waive late usage"
    MANAGE_API_KEYS = "create and revoke API keys"


# The one table of who may do what. Finance may do everything; nobody else changes money (a
# meter's usage events re-price drafts, but only by the rules of SPEC 12).
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType({
    Role.FINANCE: frozenset(Permission),
    Role.CUSTOMER_SUCCESS: frozenset({
        Permission.VIEW_BILLING, Permission.USE_PREVIEW, Permission.REQUEST_CREDITS,
    }),
    Role.MANAGER: frozenset({Permission.VIEW_BILLING}),
    Role.METER: frozenset({Permission.SEND_USAGE}),
})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a signed-in user (`user_id` is the email) or a job acting as finance
    (`user_id` such as "demo-data"). The audit log records both fields."""

    user_id: str
    role: Role

    def __post_init__(self) -> None:
        if not isinstance(self.user_id, str) or not self.user_id.strip():
            raise InvalidInput("actor", "is empty; every change must name who made it")
        object.__setattr__(self, "role", Role(self.role))

    def __str__(self) -> str:
        # Read by people (screens, refusals): the role's label, never its code.
        return f"{ROLE_LABELS[self.role]} — {self.user_id}"


class PermissionDenied(BillingError):
    """`actor` (may be None: nobody signed in) may not do `action`."""

    def __init__(self, actor: Actor | None, permission: Permission | None,
                 action: str | None = None) -> None:
        self.actor = actor
        self.permission = permission
        self.action = action or (permission.value if permission else "do this")
        who = str(actor) if actor is not None else "Nobody signed in"
        super().__init__(f"{who} may not {self.action}")


class SelfApprovalRefused(PermissionDenied):
    """The finance user who requested a credit (or credit note) tries to approve it."""

    def __init__(self, actor: Actor, request: str) -> None:
        self.actor = actor
        self.permission = Permission.DECIDE_CREDIT_REQUESTS
        self.action = "approve their own credit request"
        self.request = request
        BillingError.__init__(
            self, f"{actor.user_id} requested credit request {request} and cannot approve it; "
                  "a second finance user must")


class ApprovalRequired(BillingError):
    """A credit (or credit note: `what`) above the threshold issued directly: it must be
    requested and approved."""

    def __init__(self, amount: Money, threshold: Money, what: str = "A credit") -> None:
        self.amount = amount
        self.threshold = threshold
        super().__init__(
            f"{what} of {format_money(amount)} is above {format_money(threshold)} and needs "
            "a second finance user's approval: request it, and another finance user approves it")


class SecondApproverRequired(ApprovalRequired):
    """`amount` plus what was already given alone in the window (`already`, to a tenant or by a
    user: `scope`) would be above the threshold: one person may not give it."""

    def __init__(self, what: str, amount: Money, already: Money, scope: str, threshold: Money,
                 advice: str) -> None:
        self.amount = amount
        self.threshold = threshold
        self.already = already
        self.scope = scope
        BillingError.__init__(
            self, f"{what} ({format_money(amount)}) needs a second approver: "
                  f"{format_money(already)} already credited {scope} in the last "
                  f"{GIVEN_ALONE_WINDOW_HOURS} hours, this would make "
                  f"{format_money(already + amount)}, above the {format_money(threshold)} limit. "
                  f"{advice}")


GIVEN_ALONE_WINDOW_HOURS = 24
"""How far back `check_given_alone` looks: a rolling window, not a calendar day, so nothing
resets at midnight."""


def check_given_alone(what: str, amount: Money, already: Money, scope: str,
                      threshold: Decimal, advice: str) -> None:
    """Refuse (SecondApproverRequired) when `already` + `amount` is above `threshold`.

    `already` is what was given without a second approver in the last 24 hours, in
    `amount`'s currency, to one tenant or by one user (`scope`: "to ent-acme", "by
    alice@x"). With a threshold of $500.00: $500.00 with nothing before passes; a second
    $500.00 makes $1,000.00 and is refused. The caller holds the lock that serializes
    `scope` while it reads `already` and writes `amount`.
    """
    if needs_second_approval(already + amount, threshold):
        raise SecondApproverRequired(what, amount, already, scope,
                                     Money(threshold, amount.currency), advice)


def is_allowed(actor: Actor | None, permission: Permission) -> bool:
    """Whether `actor` may do `permission` (None, nobody signed in, may do nothing)."""
    return isinstance(actor, Actor) and permission in ROLE_PERMISSIONS[actor.role]


def require(actor: Actor | None, permission: Permission) -> Actor:
    """The guard every changing operation starts with; returns the actor or raises PermissionDenied.

    A string where an Actor belongs is a programming mistake (TypeError): a role must be known.
    """
    if actor is not None and not isinstance(actor, Actor):
        raise TypeError(f"actor: expected Actor, got {type(actor).__name__}")
    if actor is None or not is_allowed(actor, permission):
        raise PermissionDenied(actor, permission)
    return actor


def needs_second_approval(amount: Money, threshold: Decimal) -> bool:
    """A credit strictly above `threshold` (in its own currency) needs a second finance user."""
    if not isinstance(amount, Money):
        raise TypeError(f"amount: expected Money, got {type(amount).__name__}")
    return amount.amount > threshold


def check_credit_approver(approver: Actor, requested_by: str, request: str) -> Actor:
    """Finance only, and never the user who asked for the credit or note (SelfApprovalRefused)."""
    require(approver, Permission.DECIDE_CREDIT_REQUESTS)
    if approver.user_id.strip().lower() == requested_by.strip().lower():
        raise SelfApprovalRefused(approver, request)
    return approver


FREE_SIGN_IN_FAILURES = 2
MAX_SIGN_IN_WAIT_SECONDS = 15 * 60
# Short, because anyone can type someone else's email: this is all a stranger's wrong
# guesses can cost the owner. Guessers themselves are slowed by the per-client wait.
MAX_EMAIL_SIGN_IN_WAIT_SECONDS = 30


def sign_in_wait_seconds(failed_attempts: int) -> int:
    """How long a client's next attempt must wait after `failed_attempts` wrong ones in a row.

    Two mistakes are free; from the third on the wait doubles: 2, 4, 8, ... seconds,
    at most 15 minutes. Counted per client across every email, known or not, so the wait
    never reveals whether an account exists.
    """
    if type(failed_attempts) is not int or failed_attempts < 0:
        raise ValueError("failed_attempts must be a non-negative int")
    if failed_attempts <= FREE_SIGN_IN_FAILURES:
        return 0
    return min(2 ** min(failed_attempts - FREE_SIGN_IN_FAILURES, 20), MAX_SIGN_IN_WAIT_SECONDS)


def email_sign_in_wait_seconds(failed_attempts: int) -> int:
    """How long the next attempt on an email must wait after `failed_attempts` wrong ones in a
    row, from any client: as for a client (2, 4, 8, ...) but at most 30 seconds, which slows
    guessing spread over many clients while never keeping the owner out for longer."""
    return min(sign_in_wait_seconds(failed_attempts), MAX_EMAIL_SIGN_IN_WAIT_SECONDS)
