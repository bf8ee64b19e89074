"""Errors: what went wrong, said so a finance user can act on it.

Every rule in the billing core that can be broken raises one of the errors
below. They form one small hierarchy under ``BillingError`` so that the user
interface can catch the whole family in exactly one place and show
``str(error)``; nothing else about an error needs to be parsed.

Each error carries its data as attributes (the field, the invoice, the
statuses, the amounts) as well as a readable message, because a database layer
or a test wants the data and a person wants the sentence. Messages name the
thing that is wrong and the problem: ``"amount: 'abc' is not a number"``,
``"Invoice INV-2024-000007 is already finalized"``.

Programming mistakes are not billing errors: handing a ``float`` to a money
function raises ``TypeError``, exactly as the standard library would.
"""

from __future__ import annotations

from typing import Any


class BillingError(Exception):
    """Base of every error a billing rule raises; ``str()`` is the user-facing message."""


class InvalidInput(BillingError, ValueError):
    """A value broke a rule; ``field`` names it, ``problem`` says what is wrong.

    It is also a ``ValueError`` so that code written against the standard
    library's conventions (NaN and infinity are value errors) still catches it.

    >>> str(InvalidInput("amount", "is empty"))
    'amount: is empty'
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class AllocationError(InvalidInput):
    """The weights of a shared-cost split are unusable (negative, or all zero). Field: "weights"."""

    def __init__(self, problem: str) -> None:
        super().__init__("weights", problem)


class CurrencyMismatch(BillingError):
    """Two amounts in different currencies met in one calculation."""

    def __init__(self, left: str, right: str, operation: str = "combine") -> None:
        self.left = left
        self.right = right
        self.operation = operation
        super().__init__(f"cannot {operation} {left} with {right}; amounts must share a currency")


class IllegalTransition(BillingError):
    """An invoice was asked to move between two states the state table does not connect.

    The message names the invoice and both states; asking for the state the
    invoice is already in reads "Invoice X is already finalized", which is what
    the loser of two simultaneous finalizations is told.
    """

    def __init__(self, invoice: str, from_status: Any, to_status: Any) -> None:
        self.invoice = invoice
        self.from_status = str(from_status)
        self.to_status = str(to_status)
        if self.from_status == self.to_status:
            message = f"Invoice {invoice} is already {self.from_status}"
        else:
            message = (
                f"Invoice {invoice} cannot move from {self.from_status} to {self.to_status}"
            )
        super().__init__(message)


class InvoiceNotOpen(BillingError):
    """Something tried to change an invoice that is no longer a draft (SPEC 5)."""

    def __init__(self, invoice: str, status: Any) -> None:
        self.invoice = invoice
        self.status = str(status)
        super().__init__(
            f"Invoice {invoice} is {self.status}; only a draft invoice can be changed. "
            "Correct it with a credit note instead."
        )


class CreditNoteTooLarge(BillingError):
    """A credit note would credit more than the invoice's total minus earlier credit notes."""

    def __init__(self, invoice: str, amount: Any, available: Any) -> None:
        self.invoice = invoice
        self.amount = amount
        self.available = available
        super().__init__(
            f"Credit note of {amount} for invoice {invoice} is too large: "
            f"only {available} can still be credited (total minus earlier credit notes)"
        )
