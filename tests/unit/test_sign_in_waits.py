"""How long a sign-in waits: per client up to 15 minutes, per email never more than 30 seconds
(so a stranger's wrong passwords on someone's email delay its owner only briefly)."""

from __future__ import annotations

import pytest

from billing_core.access import email_sign_in_wait_seconds, sign_in_wait_seconds


@pytest.mark.parametrize("failures, client_wait, email_wait", [
    (0, 0, 0), (2, 0, 0), (3, 2, 2), (5, 8, 8), (6, 16, 16), (7, 32, 30), (12, 900, 30),
    (10**6, 900, 30),
], ids=lambda value: str(value))
def test_a_client_waits_up_to_fifteen_minutes_an_email_up_to_thirty_seconds(
        failures, client_wait, email_wait):
    assert sign_in_wait_seconds(failures) == client_wait
    assert email_sign_in_wait_seconds(failures) == email_wait


@pytest.mark.parametrize("failures", [-1, 1.0, True], ids=["negative", "float", "bool"])
def test_a_count_that_is_not_a_non_negative_int_is_a_programming_error(failures):
    with pytest.raises(ValueError):
        email_sign_in_wait_seconds(failures)
