"""What may cross into billing_core: the standard library, and never a float."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import billing_core
from billing_core.allocation import split_by_weights
from billing_core.credits import apply_credit
from billing_core.discounts import FixedOff, PercentOff, apply_discounts
from billing_core.invoices import InvoiceLine
from billing_core.money import Money, exact_share, to_decimal
from billing_core.money_text import parse_money
from billing_core.periods import Period
from billing_core.proration import PlanChange
from billing_core.usage import UsagePlan, overage, price_usage

PACKAGE = Path(billing_core.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
USD = Money("1.00", "USD")
PLAN = UsagePlan("storage", "TB", 10**12, 10**12, USD, "byte")


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_every_billing_core_module_imports_only_the_standard_library(module):
    outside = imported_roots(module) - set(sys.stdlib_module_names) - {"billing_core", "__future__"}
    assert outside == set()


def test_importing_every_billing_core_module_loads_only_standard_library_modules():
    program = (
        "import sys, importlib, pkgutil\n"
        "before = set(sys.modules)\n"
        "import billing_core\n"
        "for m in pkgutil.iter_modules(billing_core.__path__):\n"
        "    importlib.import_module('billing_core.' + m.name)\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True,
        cwd=PACKAGE.parent,
    ).stdout.split()
    assert "billing_core.money" in loaded
    roots = {name.split(".")[0] for name in loaded}
    assert roots - set(sys.stdlib_module_names) - {"billing_core"} == set()


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_no_billing_core_module_mentions_float_arithmetic(module):
    tree = ast.parse(module.read_text())
    nodes = list(ast.walk(tree))
    floats = [n.value for n in nodes if isinstance(n, ast.Constant) and type(n.value) is float]
    calls = [n for n in nodes if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "float"]
    assert (floats, calls) == ([], [])


# Every public door that takes an amount, a rate, a percent, a weight or a count.
DOORS = {
    "to_decimal": lambda x: to_decimal(x),
    "Money": lambda x: Money(x, "USD"),
    "Money * x": lambda x: USD * x,
    "x * Money": lambda x: x * USD,
    "Money / x": lambda x: USD / x,
    "Money + x": lambda x: USD + x,
    "Money < x": lambda x: USD < x,  # noqa: SIM300 - this row tests Money.__lt__
    "exact_share part": lambda x: exact_share(USD, x, 30),
    "exact_share whole": lambda x: exact_share(USD, 15, x),
    "parse_money": lambda x: parse_money(x, "USD"),
    "Money.from_minor_units": lambda x: Money.from_minor_units(x, "USD"),
    "PercentOff": lambda x: PercentOff(x, "p"),
    "FixedOff": lambda x: FixedOff(x, "f"),
    "apply_discounts": lambda x: apply_discounts(x, []),
    "apply_credit": lambda x: apply_credit(USD, x),
    "PlanChange": lambda x: PlanChange(date(2024, 11, 1), "Pro", x),
    "UsagePlan price": lambda x: UsagePlan("s", "TB", 10**12, 0, x),
    "UsagePlan included": lambda x: UsagePlan("s", "TB", 10**12, x, USD),
    "overage": lambda x: overage(x, 0),
    "price_usage": lambda x: price_usage(PLAN, x),
    "split_by_weights weight": lambda x: split_by_weights(USD, {"a": x}),
    "split_by_weights total": lambda x: split_by_weights(x, {"a": 1}),
    "InvoiceLine exact_amount": lambda x: InvoiceLine("usage", "u", USD, x, "e"),
    "Period": lambda x: Period(x, date(2024, 1, 1)),
}


@pytest.mark.parametrize("door", DOORS, ids=str)
@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_every_public_door_refuses_a_float_with_type_error(door, value):
    with pytest.raises(TypeError):
        DOORS[door](value)


@pytest.mark.parametrize("door", ["to_decimal", "Money", "PercentOff", "Money * x"])
def test_the_decimal_equivalent_of_the_float_is_welcome(door):
    DOORS[door](Decimal("0.1"))
