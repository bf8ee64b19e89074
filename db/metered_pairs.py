"""The (tenant, metric) pairs this process has found metered, kept for as long as they hold.

A pair is metered when one of the tenant's plans meters the metric. The straight way of
storing usage (`db.usage_straight`) needs every pair of a batch to be, and asking the
database cost an API batch of 1,000 events 1,000 probes of `subscriptions` and `plans` (2.3
ms in PostgreSQL). Meters send the same pairs batch after batch, so the answers are kept
here, with the `metering_version` they were read beside (0019): every change to which plans
meter what replaces that version, so an answer is used only while the version it came with
is still the database's (`MeteredPairs.known` for the version just read; the statement that
stores the batch checks the version again, in its own snapshot).

Only pairs found metered are kept (a pair that was not is asked again; it may be by then).
The answers of one version at a time: a new version starts afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Set

MOST_PAIRS = 1_000_000
"""Pairs kept at most (about 100 MB): past them the process starts afresh rather than grow."""


class MeteredPairs:
    """Pairs found metered, by the version they were found under; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # One attribute, so that a look sees a version with its own pairs.
        self._known: tuple[str | None, frozenset[tuple[str, str]]] = (None, frozenset())

    def known(self, version: str | None) -> Set[tuple[str, str]]:
        """The pairs found metered under `version` (none for another, or for no version)."""
        version_now, pairs = self._known
        return pairs if version is not None and version == version_now else frozenset()

    def learn(self, version: str | None, pairs: Set[tuple[str, str]]) -> None:
        """`pairs` were found metered in a statement that read `version`."""
        if version is None or not pairs:
            return
        with self._lock:
            version_now, kept = self._known
            if version != version_now or len(kept) + len(pairs) > MOST_PAIRS:
                kept = frozenset()
            self._known = (version, kept | pairs)


METERED = MeteredPairs()
"""The process's answers (one database per process; a test's other databases have other
versions, so their answers never mix)."""
