"""Allocation: splitting a shared cost across tenants so the parts add up.

A shared cost (a database cluster, a support contract) is split across
tenants in proportion to non-negative weights, usually their usage. Exact
shares are rarely whole cents, and rounding each one independently makes the
parts add up to a cent or two more or less than the bill. The
largest-remainder method (SPEC 7) cannot: working in integer minor units,
each tenant first gets the floor of its exact quota; the cents left over, of
which there are fewer than tenants, go one each to the tenants with the
largest fractional remainders. Ties go to the larger weight, then to the
smaller tenant id, so the same input always gives the same split.

So the parts always sum to the total, and every part is the floor or the
ceiling of its exact quota. $1000.00 by 33.33 / 33.33 / 33.34 is $333.30 /
$333.30 / $333.40; $1000.00 by three equal weights for a, b, c is $333.34 /
$333.33 / $333.33.

The arithmetic is integers throughout: decimal weights are scaled to
integers by their least common denominator, so tenant i's quota is
``total_minor * w_i / W`` and its floor and remainder come from one integer
division. Only the leftover cents need ordering, so instead of sorting a
million tenants by remainder the remainders are bucketed, and only the one
bucket where the leftover runs out is ordered exactly. A million tenants
split in under a second: of that, building the million-entry result dict is
the largest single part (about half), then the one integer division per
tenant (about a quarter); the buckets are one byte per tenant in a ``bytes``
object, so counting them, finding the cut bucket's tenants and adding the
extra units all run in C.

A weight that is not an int passes the one number door (``to_weight``) with at
most ``MAX_WEIGHT_DIGITS`` digits written out, before it is scaled: "1e3000000"
scaled to an integer is a 3,000,001-digit number, and the split would stall
the server on it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from operator import add, and_, floordiv, mul, rshift

from billing_core.errors import AllocationError, InvalidInput
from billing_core.money import Money, to_decimal

MAX_WEIGHT_DIGITS = 18
"""The most digits a weight may have written out: "33.33" has 4, "1e3000000" 3,000,001.

Weights are usage figures or percentages typed by hand; 18 digits hold any of
them. Scaled to integers they stay below 10**36, and each tenant's exact quota
(a total of at most 19 digits in minor units times a weight of at most 18) is
exact within the 50 digits the money module carries. Int weights (counts read
from the database) pass as they are.
"""


def to_weight(value: Decimal | int | str, field: str = "weight") -> Decimal:
    """A weight through the one number door, at most ``MAX_WEIGHT_DIGITS`` digits written out.

    ``to_weight("33.33") == Decimal("33.33")``; "1e3000000" is InvalidInput naming
    ``field``, float and bool are TypeError. The sign is the split's to judge.
    """
    return to_decimal(value, field, max_digits=MAX_WEIGHT_DIGITS)


@dataclass(frozen=True, slots=True)
class AllocationRow:
    """One tenant's line in the explanation table of a split."""

    tenant_id: str
    weight: Decimal
    quota: Decimal
    """Exact share in currency units (a repeating value is carried to 50 digits)."""
    floor: Money
    remainder: Decimal
    """The fraction of one minor unit the floor left behind, 0 <= remainder < 1."""
    extra_minor: int
    """1 when this tenant received one of the leftover minor units, else 0."""
    amount: Money


@dataclass(frozen=True, slots=True, eq=False)
class Allocation:
    """The result of ``split_by_weights``: ``shares_minor`` maps tenant id to minor units."""

    total: Money
    shares_minor: dict[str, int]
    scaled_weights: Sequence[int]
    """Integer weights in the order of ``shares_minor`` (not copied: a million-entry tuple
    would cost a tenth of the split's time budget)."""
    weight_denominator: int
    """Each weight is ``scaled_weight / weight_denominator`` (1 for integer weights)."""

    @property
    def tenant_ids(self) -> tuple[str, ...]:
        """The tenants in input order (computed on demand from ``shares_minor``)."""
        return tuple(self.shares_minor)

    def amount_for(self, tenant_id: str) -> Money:
        return Money.from_minor_units(self.shares_minor[tenant_id], self.total.currency)

    def amounts(self) -> dict[str, Money]:
        currency = self.total.currency
        return {
            tenant: Money.from_minor_units(minor, currency)
            for tenant, minor in self.shares_minor.items()
        }

    def rows(self) -> list[AllocationRow]:
        """Quota, floor, remainder, extra unit and amount per tenant, in input order."""
        currency = self.total.currency
        total_minor = self.total.to_minor_units()
        whole = sum(self.scaled_weights)
        minor_unit = Money.from_minor_units(1, currency)
        rows = []
        for tenant, weight in zip(self.shares_minor, self.scaled_weights, strict=True):
            floor, remainder = divmod(total_minor * weight, whole)
            share = self.shares_minor[tenant]
            rows.append(
                AllocationRow(
                    tenant_id=tenant,
                    weight=Decimal(weight) / self.weight_denominator,
                    quota=(minor_unit * (total_minor * weight) / whole).amount,
                    floor=Money.from_minor_units(floor, currency),
                    remainder=(minor_unit * remainder / whole / minor_unit),
                    extra_minor=share - floor,
                    amount=Money.from_minor_units(share, currency),
                )
            )
        return rows


def _scale_weights(tenant_ids: list[str], raw: list[object]) -> tuple[list[int], int]:
    """Integer weights with the same ratios, and the denominator that maps them back."""
    # Integer weights (the common case: usage counts) pass straight through.
    if set(map(type, raw)) == {int}:
        return raw, 1  # type: ignore[return-value]
    weights = list(map(_weight_of, tenant_ids, raw))  # sized before anything is scaled
    # Scaling every weight by the least common denominator (a divisor of a
    # power of ten) keeps all the ratios exact.
    ratios = [weight.as_integer_ratio() for weight in weights]
    common = math.lcm(*{denominator for _, denominator in ratios})
    return [numerator * (common // denominator) for numerator, denominator in ratios], common


def _weight_of(tenant_id: str, value: object) -> Decimal:
    try:
        return to_weight(value)  # type: ignore[arg-type]  # float -> TypeError
    except InvalidInput as error:
        raise AllocationError(f"the weight for {tenant_id!r}: {error.problem}") from None


# Leftover units are handed out by fractional remainder. Each tenant's
# remainder is first placed in one of 2**8 buckets (its top 8 bits), which
# falls out of the same integer division as its floor; only the one bucket
# where the leftover runs out needs exact remainders and tie-breaking. A bucket
# is one byte, so a million of them are a 1 MB ``bytes`` value that C counts,
# searches and translates.
_BUCKET_BITS = 8
_BUCKET_MASK = (1 << _BUCKET_BITS) - 1


def split_by_weights(total: Money, weights: Mapping[str, int | Decimal | str]) -> Allocation:
    """``split_by_weights(total, weights) -> Allocation``: largest remainder in minor units.

    SPEC 7: ``split_by_weights(Money("1000.00", "USD"), {"x": Decimal("33.33"),
    "y": Decimal("33.33"), "z": Decimal("33.34")}).shares_minor`` is
    ``{"x": 33330, "y": 33330, "z": 33340}``; equal weights for "a", "b", "c"
    give 33334 / 33333 / 33333. Negative weights, all zero, or a weight beyond
    ``MAX_WEIGHT_DIGITS`` raise AllocationError (field "weights") naming the tenant.
    """
    if type(total) is not Money:
        raise TypeError(f"total: expected Money, got {type(total).__name__}")
    try:
        total_minor = total.to_minor_units()
    except ValueError:
        raise InvalidInput("total", f"{total.amount} is finer than the minor unit") from None
    if total_minor < 0:
        raise InvalidInput("total", f"{total} is negative")
    tenant_ids = list(weights)
    if not tenant_ids:
        raise AllocationError("there are no tenants to split between")
    scaled, denominator = _scale_weights(tenant_ids, list(weights.values()))
    if min(scaled) < 0:
        tenant = tenant_ids[next(i for i, weight in enumerate(scaled) if weight < 0)]
        raise AllocationError(
            f"the weight for {tenant!r} is negative; weights must be zero or more"
        )
    whole = sum(scaled)
    if whole == 0:
        raise AllocationError("all weights are zero, so there is nothing to split by")

    # floor(total * w * 2**8 / W): its high bits are the tenant's floor in
    # minor units, its low 8 bits the remainder's bucket. The per-tenant steps
    # are map()s over operator functions so that the loops run in C; floors
    # are streamed from the quotas straight into the result.
    count = len(scaled)
    quotas = list(
        map(floordiv, map(mul, scaled, repeat(total_minor << _BUCKET_BITS, count)), repeat(whole))
    )
    buckets = bytes(map(and_, quotas, repeat(_BUCKET_MASK, count)))
    per_bucket = Counter(buckets)
    bucket_sum = sum(bucket * tenants for bucket, tenants in per_bucket.items())
    leftover = total_minor - ((sum(quotas) - bucket_sum) >> _BUCKET_BITS)
    floors = map(rshift, quotas, repeat(_BUCKET_BITS, count))
    if not leftover:
        shares = dict(zip(tenant_ids, floors, strict=True))
    else:
        cut, needed = _cut_bucket(leftover, per_bucket)
        # One more unit for every tenant above the cut bucket ...
        above = bytes(int(bucket > cut) for bucket in range(_BUCKET_MASK + 1))
        shares = dict(zip(tenant_ids, map(add, floors, buckets.translate(above)), strict=True))
        # ... and for the first `needed` of the cut bucket, by exact remainder.
        tied = _positions(buckets, cut)
        tied.sort(key=lambda i: (-(total_minor * scaled[i] % whole), -scaled[i], tenant_ids[i]))
        for i in tied[:needed]:
            shares[tenant_ids[i]] += 1
    return Allocation(
        total=total,
        shares_minor=shares,
        scaled_weights=scaled,
        weight_denominator=denominator,
    )


def _cut_bucket(leftover: int, per_bucket: Mapping[int, int]) -> tuple[int, int]:
    """The bucket where the leftover units run out, and how many it gets.

    Every tenant in a higher bucket gets one unit; ``needed`` go to tenants in
    the cut bucket, by exact remainder, then weight, then tenant id.
    """
    given = 0
    for bucket in sorted(per_bucket, reverse=True):
        if given + per_bucket[bucket] >= leftover:
            return bucket, leftover - given
        given += per_bucket[bucket]
    raise AssertionError("leftover exceeds the tenants with a remainder")  # pragma: no cover


def _positions(buckets: bytes, bucket: int) -> list[int]:
    """Where ``bucket`` occurs in ``buckets`` (a few thousand of a million: found by C)."""
    found = []
    at = buckets.find(bucket)
    while at >= 0:
        found.append(at)
        at = buckets.find(bucket, at + 1)
    return found
