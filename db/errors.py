"""Errors the database layer adds to the billing core's family.

Everything a screen may show is a `billing_core.errors.BillingError`, so the UI
turns every failure into a message in one place. The database layer adds only
what the core cannot know: that a row asked for does not exist.
"""

from __future__ import annotations

from billing_core.errors import BillingError


class NotFound(BillingError):
    """A row asked for by key does not exist; names the entity and the key.

    >>> str(NotFound("tenant", "ent-nobody"))
    'tenant ent-nobody was not found'
    """

    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key} was not found")


class RunInProgress(BillingError):
    """Another month end run for the same month is still going."""

    def __init__(self, period_label: str) -> None:
        self.period_label = period_label
        super().__init__(f"A month end run for {period_label} is already in progress; "
                         "wait for it to finish")
