"""A bulk operation holds the cyclic collector off, and leaves it as it found it."""

from __future__ import annotations

import gc

import pytest

from db.collector import collector_paused


@pytest.fixture
def collector_state():
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after(collector_state):
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_failure_inside_still_turns_it_back_on(collector_state):
    gc.enable()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("refused")
    assert gc.isenabled()


def test_a_collector_found_off_stays_off(collector_state):
    gc.disable()
    with collector_paused(), collector_paused():
        pass
    assert not gc.isenabled()
