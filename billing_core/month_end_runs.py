"""Month-end runs: where a run's record stands, and the only ways it may move.

A run's record is born ``running`` and ends once: ``completed`` when every
batch committed, ``failed`` when one raised (the record says why), or
``interrupted`` when a later run of the same month finds it ``running`` with
nobody holding the month's lock: its process died. An ended record never
changes again; running the month again starts a new record.

The moves are declared once, in ``ALLOWED_MOVES`` (a table of
``billing_core.state_tables``), and checked once, in
``check_run_move`` (as for invoices, ``billing_core.states``).
"""

from __future__ import annotations

from enum import StrEnum

from billing_core.errors import BillingError
from billing_core.state_tables import allowed_moves, read_state


class MonthEndRunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


ALLOWED_MOVES: frozenset[tuple[MonthEndRunStatus, MonthEndRunStatus]] = allowed_moves({
    MonthEndRunStatus.RUNNING: (
        MonthEndRunStatus.COMPLETED, MonthEndRunStatus.FAILED, MonthEndRunStatus.INTERRUPTED
    ),
})
"""A run ends once; an ended record never moves."""


class IllegalRunMove(BillingError):
    """A month-end run's record was asked to move between two states the table does not
    connect; the message names the run and both states."""

    def __init__(self, run: str, from_status: str, to_status: str) -> None:
        self.run = run
        self.from_status = str(from_status)
        self.to_status = str(to_status)
        super().__init__(f"Month-end run {run} cannot move from {self.from_status} to "
                         f"{self.to_status}")


def to_run_status(value: MonthEndRunStatus | str, field: str = "status") -> MonthEndRunStatus:
    """``"running"`` -> ``MonthEndRunStatus.RUNNING``; an unknown word is InvalidInput."""
    return read_state(MonthEndRunStatus, value, field, "a month-end run status")


def check_run_move(run: str, current: MonthEndRunStatus | str,
                   target: MonthEndRunStatus | str) -> MonthEndRunStatus:
    """Return ``target`` if ``current -> target`` is allowed, else raise IllegalRunMove:
    ``check_run_move("12", "completed", "failed")`` reads "Month-end run 12 cannot move
    from completed to failed"."""
    here = to_run_status(current, "current")
    there = to_run_status(target, "target")
    if (here, there) not in ALLOWED_MOVES:
        raise IllegalRunMove(run, here, there)
    return there


def statuses_moving_to(target: MonthEndRunStatus) -> tuple[MonthEndRunStatus, ...]:
    """The statuses from which the table allows ``target``, in declaration order:
    ``statuses_moving_to(INTERRUPTED)`` is ``(RUNNING,)``. For a bulk UPDATE's WHERE."""
    return tuple(status for status in MonthEndRunStatus if (status, target) in ALLOWED_MOVES)
