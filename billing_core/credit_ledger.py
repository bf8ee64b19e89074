"""The credit balance ledger's entries: the three ways a tenant's credit balance moves.

A service credit that no open invoice can take waits on the tenant's balance
(``credit_added``, money in); the next invoice consumes what it can
(``consumed``, money out); voiding an invoice that consumed balance gives it
back, once per invoice (``returned_on_void``, money in). The ledger is
append-only, so these words are the balance's whole history.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class LedgerEntryKind(StrEnum):
    CREDIT_ADDED = "credit_added"
    CONSUMED = "consumed"
    RETURNED_ON_VOID = "returned_on_void"


ADDING_KINDS: tuple[LedgerEntryKind, ...] = (LedgerEntryKind.CREDIT_ADDED,
                                             LedgerEntryKind.RETURNED_ON_VOID)
"""The entries that add to the balance (a positive amount); the others take from it."""

LEDGER_ENTRY_LABELS: Mapping[LedgerEntryKind, str] = MappingProxyType(
    {kind: kind.value.replace("_", " ") for kind in LedgerEntryKind})
""""credit added", "consumed", "returned on void"."""
