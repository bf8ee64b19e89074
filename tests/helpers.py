"""Small helpers for tests of every kind (unit, integration, screens)."""

from __future__ import annotations

from billing_core.money import Money


def usd(amount: str | int) -> Money:
    """`usd("12.50")`: an amount in dollars, written as SPEC.md writes it."""
    return Money(amount, "USD")
