"""Settings the screens read on every run: a bad value falls back (and says so), never breaks
every page."""

from __future__ import annotations

import logging

import pytest

from ledgerline_ui.shell.idle_limit import (
    DEFAULT_IDLE_MINUTES,
    IDLE_MINUTES_ENV,
    _idle_minutes,
    idle_limit_seconds,
)


@pytest.mark.parametrize("value, minutes", [
    (None, DEFAULT_IDLE_MINUTES), ("", DEFAULT_IDLE_MINUTES), (" 45 ", 45), ("1", 1)])
def test_idle_minutes_are_read_from_the_environment(monkeypatch, value, minutes):
    if value is None:
        monkeypatch.delenv(IDLE_MINUTES_ENV, raising=False)
    else:
        monkeypatch.setenv(IDLE_MINUTES_ENV, value)
    assert idle_limit_seconds() == minutes * 60


@pytest.mark.parametrize("value", ["30m", "0", "-5", "1.5", "thirty"])
def test_a_bad_idle_setting_falls_back_to_the_default_with_a_warning(monkeypatch, caplog, value):
    monkeypatch.setenv(IDLE_MINUTES_ENV, value)
    _idle_minutes.cache_clear()
    with caplog.at_level(logging.WARNING, logger="ledgerline.ui"):
        assert idle_limit_seconds() == DEFAULT_IDLE_MINUTES * 60
        assert idle_limit_seconds() == DEFAULT_IDLE_MINUTES * 60
    warned = [r.getMessage() for r in caplog.records if IDLE_MINUTES_ENV in r.getMessage()]
    assert len(warned) == 1  # once per bad value, not once per rerun
    assert repr(value) in warned[0]
