"""Actors for tests: `finance("alice")` is Actor("alice", Role.FINANCE), and so on."""

from __future__ import annotations

import uuid

from billing_core.access import Actor, Role


def finance(user_id: str = "finance@test") -> Actor:
    return Actor(user_id, Role.FINANCE)


def customer_success(user_id: str = "cs@test") -> Actor:
    return Actor(user_id, Role.CUSTOMER_SUCCESS)


def manager(user_id: str = "manager@test") -> Actor:
    return Actor(user_id, Role.MANAGER)


def actor_of(role: Role | str, user_id: str | None = None) -> Actor:
    role = Role(role)
    return Actor(user_id or f"{role.value}@test", role)


def someone(name: str) -> Actor:
    """A finance user of the caller's own: `someone("alice")` -> alice-3f2a9c1b@test."""
    return finance(f"{name}-{uuid.uuid4().hex[:8]}@test")
