"""Uploaded allocation weights: exact Decimals, and every bad line named."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from billing_core.errors import InvalidInput
from ledgerline_ui.allocation.weights_csv import parse_weights_csv

KNOWN = {"ent-acme-corp", "ent-globex-industries", "ent-initech"}


def test_spec_weights_are_read_exactly_with_or_without_header():
    body = "ent-acme-corp,33.33\nent-globex-industries,33.33\n\nent-initech,33.34\n"
    expected = {"ent-acme-corp": Decimal("33.33"), "ent-globex-industries": Decimal("33.33"),
                "ent-initech": Decimal("33.34")}
    assert parse_weights_csv(body, KNOWN) == expected
    assert parse_weights_csv(("\ufefftenant_id,weight\r\n" + body).encode(), KNOWN) == expected
    assert all(type(w) is Decimal for w in parse_weights_csv(body, KNOWN).values())


@pytest.mark.parametrize(("body", "problem"), [
    pytest.param("tenant_id,weight\nent-acme-corp,1\nent-initech,-2\n",
                 "line 3: weight -2 for 'ent-initech' is negative; weights must be zero or more",
                 id="negative"),
    pytest.param("ent-nobody,1\n", "line 1: unknown tenant 'ent-nobody'", id="unknown-tenant"),
    pytest.param("ent-initech,abc\n", "line 1: weight for 'ent-initech': 'abc' is not a number",
                 id="not-a-number"),
    pytest.param("ent-initech,NaN\n",
                 "line 1: weight for 'ent-initech': 'NaN' is not a finite number", id="nan"),
    pytest.param("ent-initech,1\nent-acme-corp,1\nent-initech,2\n",
                 "line 3: tenant 'ent-initech' is listed twice (first on line 1)", id="duplicate"),
    pytest.param("ent-initech;1\n", "line 1: expected 2 values (tenant_id,weight), found 1",
                 id="wrong-separator"),
    pytest.param("tenant_id,weight\n", "has no weights; expected lines like 'ent-initech,33.34'",
                 id="empty"),
])
def test_bad_lines_are_named(body, problem):
    with pytest.raises(InvalidInput) as error:
        parse_weights_csv(body, KNOWN)
    assert str(error.value) == f"weights CSV: {problem}"


def test_every_bad_line_is_reported_not_only_the_first():
    with pytest.raises(InvalidInput) as error:
        parse_weights_csv("ent-initech,-1\nent-nobody,2\nent-acme-corp,x\n", KNOWN)
    assert re.findall(r"line \d+", error.value.problem) == ["line 1", "line 2", "line 3"]
