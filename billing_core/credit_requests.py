"""Credit requests: what a request asks for, where it stands, and the only ways it may move.

A service credit or a credit note that one person may not give alone is asked
for first (``CreditRequestKind``). A request is born ``pending`` and is decided
once, by a second finance user: ``approved`` (its credit or note is issued) or
``rejected`` (nothing is). A decided request never changes again: an approved
request is never rejected afterwards, a rejected one never approved.

As for invoices (``billing_core.states``), the moves are declared once, in
``ALLOWED_MOVES``, and checked once, in ``check_decision``. Making the same
decision twice is not a move but a repeat (a double click, two approvers at
once): the caller answers it with what the first decision did.
"""

from __future__ import annotations

from enum import StrEnum

from billing_core.errors import BillingError
from billing_core.state_tables import allowed_moves, read_state


class CreditRequestKind(StrEnum):
    SERVICE_CREDIT = "service_credit"
    CREDIT_NOTE = "credit_note"

    @property
    def label(self) -> str:
        """"service credit", "credit note": the words a sentence uses."""
        return self.value.replace("_", " ")


class CreditRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


ALLOWED_MOVES: frozenset[tuple[CreditRequestStatus, CreditRequestStatus]] = allowed_moves({
    CreditRequestStatus.PENDING: (CreditRequestStatus.APPROVED, CreditRequestStatus.REJECTED),
})
"""A pending request is decided once; a decided one never moves."""


class RequestAlreadyDecided(BillingError):
    """A decided request was asked to move again: a rejected one approved, an approved one
    rejected. The message names the request, both states and who decided."""

    def __init__(self, request: str, status: str, target: str,
                 decided_by: str | None = None) -> None:
        self.request = request
        self.status = str(status)
        self.target = str(target)
        self.decided_by = decided_by
        by = f" by {decided_by}" if decided_by else ""
        super().__init__(f"Credit request {request} was already {self.status}{by}; "
                         f"it cannot be {self.target} now")


def to_request_status(value: CreditRequestStatus | str,
                      field: str = "status") -> CreditRequestStatus:
    """``"pending"`` -> ``CreditRequestStatus.PENDING``; an unknown word is InvalidInput."""
    return read_state(CreditRequestStatus, value, field, "a credit request status")


def check_decision(request: str, current: CreditRequestStatus | str,
                   target: CreditRequestStatus | str, decided_by: str | None = None) -> bool:
    """Whether deciding ``target`` changes a request that is ``current``.

    True for a move the table allows (pending -> approved): make it. False when the
    request already is ``target`` (approving an approved request): a repeat, to be
    answered with what the first decision did. Anything else raises
    RequestAlreadyDecided: ``check_decision("#12", "rejected", "approved", "bo@x")``
    reads "Credit request #12 was already rejected by bo@x; it cannot be approved now".
    """
    here = to_request_status(current, "current")
    there = to_request_status(target, "target")
    if (here, there) in ALLOWED_MOVES:
        return True
    if here is there and here is not CreditRequestStatus.PENDING:
        return False
    raise RequestAlreadyDecided(request, here, there, decided_by)
