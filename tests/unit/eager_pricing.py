"""The pricing rules written the plain way, as billing_core first had them: an oracle for tests.

Every amount goes through ``exact_share`` and Money arithmetic, and every line
is built with its exact amount and explanation up front. ``billing_core``
prices on integer minor units and writes explanations on first use; the tests
in ``test_core_fast_pricing.py`` check that it gives these very Decimals (digit
for digit) and these very sentences.
"""

from __future__ import annotations

from billing_core.credits import apply_credit
from billing_core.discounts import FixedOff, PercentOff
from billing_core.errors import CurrencyMismatch, InvalidInput
from billing_core.lines import LineKind, describe_exact
from billing_core.money import Money, exact_share, format_money
from billing_core.proration import _spans, _starts_on
from billing_core.usage import unit_price_text


def eager_prorate(plan_changes, period) -> list[tuple]:
    start = period.start
    whole = (period.end - start).days
    spans = _spans([((c.starts_on - start).days, c) for c in plan_changes], whole, _starts_on)
    lines = []
    for change, lo, hi in spans:
        used, price, since = hi - lo, change.price, change.starts_on if lo else start
        if used == whole:
            amount = price.rounded()
            lines.append((LineKind.RECURRING, change.plan, amount, price.amount,
                          f"{used:,} of {whole:,} days from {since} x {format_money(price)} = "
                          f"full price -> {format_money(amount)}", used))
            continue
        exact, amount, is_exact = exact_share(price, used, whole)
        lines.append((LineKind.RECURRING, change.plan, amount, exact,
                      f"{used:,} of {whole:,} days from {since} x {format_money(price)} = "
                      f"{price.amount} x {used:,} / {whole:,} = {describe_exact(exact, is_exact)} "
                      f"-> {format_money(amount)}", used))
    return lines


def eager_usage(plan, used) -> tuple | None:
    extra = used - plan.included_base_units
    if extra <= 0:
        return None
    per, price, base = plan.base_units_per_unit, plan.price_per_unit, plan.base_unit_name
    exact, amount, is_exact = exact_share(price, extra, per)
    return (LineKind.USAGE, f"{plan.metric} overage", amount, exact,
            f"used {used:,} {base}s, included {plan.included_base_units:,}: "
            f"overage {extra:,} {base}{'' if extra == 1 else 's'} x {unit_price_text(price)} per "
            f"{plan.unit_name} ({per:,} {base}s) = {describe_exact(exact, is_exact)} "
            f"-> {format_money(amount)}", extra)


def eager_discounts(subtotal, discounts) -> tuple[list[tuple], Money, Money]:
    if subtotal.is_negative:
        raise InvalidInput("subtotal", f"{subtotal} is negative; there is nothing to discount")
    currency = subtotal.currency
    percents = [d for d in discounts if type(d) is PercentOff]
    fixed = [d for d in discounts if type(d) is FixedOff]
    steps, running = [], subtotal
    for discount in percents:
        exact, step, is_exact = exact_share(running, discount.percent, 100)
        steps.append((LineKind.DISCOUNT, discount.label, -step, exact.copy_negate(),
                      f"{discount.percent}% of {format_money(running)} = "
                      f"{describe_exact(exact, is_exact)} -> -{format_money(step)}", None))
        running = running - step
    unused = Money.zero(currency)
    for discount in fixed:
        offered = discount.amount
        if offered.currency != currency:
            raise CurrencyMismatch(currency, offered.currency, "discount")
        if offered.amount <= running.amount:
            used = offered
            explanation = f"{format_money(offered)} off {format_money(running)}"
        else:
            used, left = running, offered - running
            unused = unused + left
            explanation = (f"{format_money(offered)} offered, only {format_money(used)} used so "
                           f"the total stays at zero; {format_money(left)} unused")
        steps.append((LineKind.DISCOUNT, discount.label, -used, used.amount.copy_negate(),
                      explanation, None))
        running = running - used
    return steps, running, unused


def eager_invoice(period, plan_changes, usage=(), discounts=(), credit_balance=None) -> tuple:
    """(lines, subtotal, discount_total, credit_applied, total, unused, balance_left)."""
    lines = eager_prorate(plan_changes, period)
    for plan, used in usage:
        line = eager_usage(plan, used)
        if line is not None:
            lines.append(line)
    if lines:
        currency = lines[0][2].currency
    elif plan_changes:
        currency = plan_changes[0].price.currency
    elif credit_balance is not None:
        currency = credit_balance.currency
    else:
        raise InvalidInput("plan_changes", "an invoice needs a plan or usage to price")
    subtotal = Money.zero(currency)
    for line in lines:
        subtotal += line[2]
    steps, total, unused = eager_discounts(subtotal, discounts)
    lines += steps
    discounted = total
    applied = balance_left = Money.zero(currency)
    if credit_balance is not None and credit_balance:
        applied, balance_left = apply_credit(total, credit_balance)
    if applied:
        lines.append((LineKind.CREDIT, "Credit balance", -applied, applied.amount.copy_negate(),
                      f"{format_money(applied)} of the {format_money(credit_balance)} credit "
                      f"balance; {format_money(balance_left)} stays on the balance", None))
        total = total - applied
    return lines, subtotal, subtotal - discounted, applied, total, unused, balance_left
