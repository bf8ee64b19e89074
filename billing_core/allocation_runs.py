"""Allocation runs: where a stored split's weights came from.

A shared cost is split (``billing_core.allocation``) by weights that are
either the tenants' stored usage of one metric over a period (``usage``: the
run names the metric and the period, so anyone can recount it) or weights
given by hand, uploaded as a file (``weights``).
"""

from __future__ import annotations

from enum import StrEnum


class AllocationMethod(StrEnum):
    USAGE = "usage"
    WEIGHTS = "weights"
