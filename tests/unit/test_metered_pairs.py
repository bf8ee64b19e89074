"""The metered pairs a process keeps: used only under the version they were found with."""

from __future__ import annotations

from db.metered_pairs import MeteredPairs


def test_pairs_are_known_under_their_version_only():
    pairs = MeteredPairs()
    pairs.learn("v1", {("acme", "storage")})
    pairs.learn("v1", {("globex", "storage")})
    assert pairs.known("v1") == {("acme", "storage"), ("globex", "storage")}
    assert pairs.known("v2") == frozenset()
    assert pairs.known(None) == frozenset()


def test_a_new_version_starts_afresh():
    pairs = MeteredPairs()
    pairs.learn("v1", {("acme", "storage")})
    pairs.learn("v2", {("globex", "storage")})
    assert pairs.known("v2") == {("globex", "storage")}
    assert pairs.known("v1") == frozenset()


def test_nothing_is_kept_without_a_version():
    pairs = MeteredPairs()
    pairs.learn(None, {("acme", "storage")})
    assert pairs.known(None) == frozenset()
