"""State tables: how each state machine of billing_core is declared and read.

An invoice, a credit request and a month-end run each move through a few
states, and only along the moves their table lists (STYLE 5): no
``if status == ...`` chain decides a move anywhere else. Each module names its
states in a StrEnum and writes its table as ``{state: the states it may move
to}``; ``allowed_moves`` turns that table into the set of ``(from, to)`` pairs
the checks ask, and ``read_state`` reads a stored or typed word as a state,
refusing an unknown word with InvalidInput naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

from billing_core.errors import InvalidInput

State = TypeVar("State", bound=StrEnum)


def allowed_moves(table: Mapping[State, Iterable[State]]) -> frozenset[tuple[State, State]]:
    """``{DRAFT: (FINALIZED, VOID)}`` -> ``{(DRAFT, FINALIZED), (DRAFT, VOID)}``."""
    return frozenset((here, there) for here, targets in table.items() for there in targets)


def read_state(states: type[State], value: State | str, field: str, what: str) -> State:
    """``read_state(InvoiceStatus, "draft", "status", "an invoice status")`` is DRAFT.

    An unknown word is InvalidInput: "status: 'drafty' is not an invoice status".
    """
    try:
        return states(value)
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not {what}") from None
