"""The invariants of SPEC.md, for every input Hypothesis can think of."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing_core.allocation import split_by_weights
from billing_core.credits import apply_credit
from billing_core.discounts import FixedOff, PercentOff, apply_discounts
from billing_core.invoices import price_invoice
from billing_core.money import Money
from billing_core.periods import monthly_period
from billing_core.proration import PlanChange, prorate
from billing_core.usage import UsagePlan

cents = st.integers(min_value=0, max_value=10**11)
money = cents.map(lambda minor: Money.from_minor_units(minor, "USD"))
percents = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)
discount_lists = st.lists(
    st.one_of(percents.map(lambda p: PercentOff(p, "p")), money.map(lambda m: FixedOff(m, "f"))),
    max_size=5,
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
weights = st.dictionaries(
    st.text(alphabet="abcdefghij", min_size=1, max_size=4),
    st.one_of(
        st.integers(min_value=0, max_value=10**6),
        st.decimals(min_value=0, max_value=10**4, places=2, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=30,
).filter(lambda ws: any(ws.values()))


@given(total=cents, weights=weights)
def test_allocation_parts_sum_to_the_total_and_each_is_floor_or_ceiling_of_its_quota(
    total, weights
):
    allocation = split_by_weights(Money.from_minor_units(total, "USD"), weights)
    assert sum(allocation.shares_minor.values()) == total
    whole = sum(Decimal(w) for w in weights.values())
    for tenant, weight in weights.items():
        quota = Decimal(total) * Decimal(weight) / whole  # 28 digits: enough to bracket
        share = allocation.shares_minor[tenant]
        assert share - 1 < quota < share + 1 or quota == share


@given(total=cents, weights=weights)
def test_allocation_gives_leftover_units_to_the_largest_remainders(total, weights):
    allocation = split_by_weights(Money.from_minor_units(total, "USD"), weights)
    rows = allocation.rows()
    winners = [row.remainder for row in rows if row.extra_minor]
    losers = [row.remainder for row in rows if not row.extra_minor]
    if winners and losers:
        assert min(winners) >= max(losers)


@given(anchor=st.integers(min_value=1, max_value=31), inside=days, price=money, data=st.data())
def test_an_unchanged_plan_split_at_any_day_sums_to_the_full_price(anchor, inside, price, data):
    period = monthly_period(anchor, inside)
    split = period.start + timedelta(days=data.draw(st.integers(0, period.days - 1)))
    lines = prorate(
        [
            PlanChange(period.start - timedelta(days=3), "Pro", price),
            PlanChange(split, "Pro", price),
        ],
        period,
    )
    assert sum((line.amount for line in lines), Money.zero("USD")) == price


@given(anchor=st.integers(1, 31), inside=days, old=money, new=money, data=st.data())
def test_each_segment_is_its_exact_share_rounded_once(anchor, inside, old, new, data):
    period = monthly_period(anchor, inside)
    split = period.start + timedelta(days=data.draw(st.integers(1, period.days - 1)))
    lines = prorate([PlanChange(period.start, "Old", old), PlanChange(split, "New", new)], period)
    expected_days = [(split - period.start).days, (period.end - split).days]
    assert [line.quantity for line in lines] == expected_days
    for line, price in zip(lines, (old, new), strict=True):
        exact = price.amount * line.quantity / period.days
        assert abs(line.amount.amount - exact) <= Decimal("0.005")


@given(subtotal=money, discounts=discount_lists, credit=money)
def test_no_total_goes_below_zero_after_discounts_and_credits(subtotal, discounts, credit):
    result = apply_discounts(subtotal, discounts)
    assert not result.total.is_negative
    assert result.total <= subtotal
    applied, left = apply_credit(result.total, credit)
    assert not (result.total - applied).is_negative
    assert applied + left == credit


@given(
    prices=st.tuples(money, money),
    change_day=st.integers(min_value=1, max_value=30),
    used=st.integers(min_value=0, max_value=5 * 10**12),
    discounts=discount_lists,
    credit=st.one_of(st.none(), money),
)
def test_the_lines_always_sum_to_the_total(prices, change_day, used, discounts, credit):
    november = monthly_period(1, date(2024, 11, 1))
    invoice = price_invoice(
        november,
        [
            PlanChange(date(2024, 10, 1), "Old", prices[0]),
            PlanChange(date(2024, 11, change_day), "New", prices[1]),
        ],
        usage=[(UsagePlan("storage", "TB", 10**12, 10**12, Money("23.00", "USD"), "byte"), used)],
        discounts=discounts,
        credit_balance=credit,
    )
    assert sum((line.amount for line in invoice.lines), Money.zero("USD")) == invoice.total
    assert invoice.subtotal - invoice.discount_total - invoice.credit_applied == invoice.total
    assert not invoice.total.is_negative
    assert all(line.amount.is_rounded for line in invoice.lines)
