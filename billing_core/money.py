"""Money: an exact amount of one currency.

Never use floating point in an accounting system: 0.1 + 0.2 is not 0.3 in
binary, and a ledger that is off by a fraction of a cent is off. Every amount
in Ledgerline is a ``decimal.Decimal`` from the moment it is typed to the moment
it is stored, and there is exactly one door through which numbers enter:
``to_decimal``. It accepts a ``Decimal``, an ``int`` or a numeric string, refuses
``float`` (and ``bool``, which is an ``int`` by accident) with ``TypeError``, and
refuses NaN and infinity with ``ValueError``.

``Money`` pairs an amount with an ISO 4217 currency. Its arithmetic is closed:
money plus money (same currency) is money, money times a number is money,
money divided by money is a plain ratio, money times money is nonsense and
refused. The amount may carry more digits than the currency's minor unit,
because a price per unit may be finer than a cent.

A billable amount comes from one function, ``round_ratio``: every rule that
divides money (proration, usage, a discount step) is an exact rational, one
integer of minor units over another, and ``round_ratio`` rounds it once to a
whole number of minor units with the one named ``ROUNDING_MODE``
(``rounded()``, ``exact_share`` and ``format_money`` use it too). Nothing is
rounded on the way there, and Python integers have no precision to run out
of. That is also why ``Money`` keeps its amount as an integer coefficient and a
power of ten inside, handing out the Decimal on request: the rules add,
compare and scale ints. Only parsing an amount calls ``quantize``, through
``at_minor_unit`` here; "round once per line item" is enforced by there being
one place that rounds.

Reading an amount a person typed (``parse_money``) and writing a Decimal in
plain digits live beside this module, in ``billing_core.money_text``; showing
an amount (``format_money``) stays here, because it is ``str(money)`` and the
bound messages name the largest amount in it.

Addition, subtraction and comparison work on the ints, exact by nature. What
needs a Decimal runs in private decimal contexts, so nothing a caller does to
the thread's default context changes a bill: multiplication traps ``Inexact``
(it is exact or it fails loudly), and division is carried to 50 significant
digits, far below any minor unit.

Every number is measured at the door, before anything is computed with it. A
few characters in exponent form stand for millions of digits: "1e3000000" is
cheap to hold as a Decimal, but scaling it to minor units or turning it into
an integer builds a 3,000,001-digit int while holding the interpreter lock,
and the whole server stops. So ``to_decimal`` refuses a number with more than
``MAX_DIGITS`` digits written out (or a narrower bound its caller names: a
weight, a percentage), reading the size off the exponent and the length of the
coefficient, which costs nothing; and an amount must fit the BIGINT column
that stores it in minor units (``MAX_MINOR_UNITS``).
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from decimal import Decimal
from math import gcd
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from billing_core.errors import CurrencyMismatch, InvalidInput

ROUNDING_MODE = decimal.ROUND_HALF_UP
"""How an exact amount becomes a billable one: half a cent rounds away from zero (SPEC 1)."""

ROUNDING_MODE_LABEL = {
    decimal.ROUND_HALF_UP: "half up",
    decimal.ROUND_HALF_EVEN: "half to even",
    decimal.ROUND_HALF_DOWN: "half down",
    decimal.ROUND_UP: "up",
    decimal.ROUND_DOWN: "down",
    decimal.ROUND_CEILING: "towards +infinity",
    decimal.ROUND_FLOOR: "towards -infinity",
    decimal.ROUND_05UP: "05 up",
}[ROUNDING_MODE]
"""``ROUNDING_MODE`` in words, for the pages and PDFs that tell people how a line was rounded."""

CURRENCY_EXPONENTS: MappingProxyType[str, int] = MappingProxyType(
    {
        # ISO 4217 minor-unit exponents.
        "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2,
        "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "SGD": 2, "HKD": 2,
        "INR": 2, "BRL": 2, "MXN": 2, "ZAR": 2, "CNY": 2,
        "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0,
        "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
    }
)

# Only the dollar is shown with a symbol: the house currency. "$" is also the
# Canadian and Australian symbol and "¥" both yen and yuan, so every other
# currency is shown by its unambiguous code ("EUR 1,000.00").
CURRENCY_SYMBOLS: MappingProxyType[str, str] = MappingProxyType({"USD": "$"})

_QUANTUM = {code: Decimal(1).scaleb(-exp) for code, exp in CURRENCY_EXPONENTS.items()}

MAX_DIGITS = 100
"""The most digits any number may have written out in full, before and after the point.

"33.33" has 4, "1E+3" ("1000") has 4, "0.05" has 2 and "1e3000000" has 3,000,001.
An exact amount carries 50 significant digits (``_DIVIDE``), some 80 places
after the point for the finest price over the largest billing unit, so 100
turns away nothing real and keeps every number small enough that no step of a
bill can stall on it.
"""

MAX_NUMBER_TEXT = MAX_DIGITS + 20
"""The most characters of a number's text (room for sign, point, exponent and grouping).

Longer text is refused before ``Decimal`` reads it, and is never echoed back whole.
"""

MAX_MINOR_UNITS = 2**63 - 1
"""The largest amount, in minor units, either side of zero: what a BIGINT column holds.

9,223,372,036,854,775,807 cents is $92,233,720,368,547,758.07. An amount beyond
it could never be stored, so it is refused where it enters, by name, rather
than at the database as an unexplained failure.
"""

MAX_UNIT_PRICE_DECIMALS = 10
"""The most decimal places of a price per unit finer than the minor unit ($0.0000000023 per byte).

A plan stores its unit price as ``NUMERIC(20, 10)``; and a price this fine times
a BIGINT count of base units is still exact within the 50 digits of ``_EXACT``.
"""

_EXACT = decimal.Context(
    prec=50,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Inexact],
)
_DIVIDE = decimal.Context(
    prec=50,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_WIDE = decimal.Context(prec=200, traps=[decimal.InvalidOperation, decimal.Overflow])


def to_decimal(
    value: Decimal | int | str, field: str = "amount", *, max_digits: int = MAX_DIGITS
) -> Decimal:
    """Turn a Decimal, int or numeric string into a finite, bounded Decimal: the door for numbers.

    ``float`` and ``bool`` raise ``TypeError``; NaN, infinity, text that is not a
    number and a number with more than ``max_digits`` digits written out
    (``digits_written``) raise ``InvalidInput`` (a ``ValueError``) naming
    ``field``. The size is checked before any arithmetic: "1e3000000" is
    refused as quickly as "abc".

    >>> to_decimal("1000.00")
    Decimal('1000.00')
    """
    kind = type(value)
    if type(value) is Decimal:
        if value.is_finite():
            return _bounded(value, field, max_digits, value)
        raise InvalidInput(field, f"{value} is not a finite number")
    if type(value) is int:
        # int -> Decimal takes time quadratic in the digits, so the bits are
        # counted first (a digit is about 3.3 bits; 4 leaves a margin).
        if value.bit_length() > 4 * max_digits:
            raise InvalidInput(field, f"{_shown_int(value)} has too many digits "
                                      f"(at most {max_digits})")
        return _bounded(Decimal(value), field, max_digits, value)
    if type(value) is str:
        return _text_to_decimal(value, field, max_digits)
    if isinstance(value, (bool, float)):
        raise TypeError(
            f"{field}: {kind.__name__} {value!r} refused; money and rates are never "
            "float or bool - pass a Decimal, an int or a numeric string"
        )
    if isinstance(value, (int, str, Decimal)):  # subclasses: normalise to the plain type
        plain = (int if isinstance(value, int) else str)(value)
        return to_decimal(plain, field, max_digits=max_digits)
    raise TypeError(f"{field}: expected Decimal, int or numeric str, got {kind.__name__}")


def _text_to_decimal(value: str, field: str, max_digits: int) -> Decimal:
    text = value.strip()
    if not text:
        raise InvalidInput(field, "is empty")
    if len(text) > MAX_NUMBER_TEXT:  # refused before ``Decimal`` reads it
        raise InvalidInput(field, f"{shown_briefly(text)} is too long for a number "
                                  f"(at most {max_digits} digits)")
    try:
        number = Decimal(text)
    except decimal.InvalidOperation:
        raise InvalidInput(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise InvalidInput(field, f"{value!r} is not a finite number")
    return _bounded(number, field, max_digits, text)


def digits_written(number: Decimal) -> int:
    """How many digits a finite Decimal has written out in full, before and after the point.

    ``Decimal("33.33")`` -> 4, ``Decimal("1E+3")`` ("1000") -> 4, ``Decimal("0.05")``
    -> 2. Read off the exponent and the coefficient's length: no arithmetic, so
    ``Decimal("1E+3000000")`` is measured as quickly as ``Decimal(1)``.
    """
    _, coefficient, exponent = number.as_tuple()
    return max(len(coefficient) + exponent, 0) + max(-exponent, 0)  # type: ignore[operator]


def _bounded(number: Decimal, field: str, max_digits: int, given: object) -> Decimal:
    digits = digits_written(number)
    if digits > max_digits:
        shown = shown_briefly(given if type(given) is str else str(given))
        raise InvalidInput(field, f"{shown} has too many digits: {digits:,} written out, "
                                  f"at most {max_digits}")
    return number


def shown_briefly(text: str) -> str:
    """Refused text as a message quotes it: whole when short, else its ends and its length."""
    # A refused number is quoted in the message, but a pasted megabyte is not echoed back.
    if len(text) <= 40:
        return repr(text)
    return f"{text[:20] + '...' + text[-8:]!r} ({len(text):,} characters)"


def _shown_int(value: int) -> str:
    # Printing a huge int in decimal is itself quadratic; its size in bits is free.
    return f"a {value.bit_length():,}-bit number"


def check_amount_fits(
    amount: Decimal, currency: str, field: str = "amount", shown: str | None = None
) -> Decimal:
    """``amount`` of ``currency`` if its minor units fit a BIGINT column, else InvalidInput.

    ``MAX_MINOR_UNITS`` either side of zero: $92,233,720,368,547,758.07 is the most
    there is; one cent more is refused naming ``field`` (and ``shown``, the text
    as typed, when there was one). ``amount`` must already have passed
    ``to_decimal``, so the comparison is cheap.
    """
    limit = _LARGEST[currency]
    if -limit <= amount <= limit:
        return amount
    raise _too_large(field, shown_briefly(shown or format(amount, "f")), currency, amount > 0)


def _too_large(field: str, shown: str, currency: str, positive: bool) -> InvalidInput:
    # ``shown`` is the refused value as the message names it (quoted text, or a count).
    if positive:
        bound = f"at most {minor_units_text(MAX_MINOR_UNITS, currency)}"
    else:
        bound = f"at least {minor_units_text(-MAX_MINOR_UNITS, currency)}"
    return InvalidInput(field, f"{shown} is too large ({bound})")


_LARGEST = {code: Decimal(MAX_MINOR_UNITS).scaleb(-exp) for code, exp in CURRENCY_EXPONENTS.items()}


def read_only(name: str, read: Callable[[Any], Any], doc: str) -> Any:
    """A field of an immutable slotted value: read through ``read``, never assigned or deleted.

    Assigning or deleting raises FrozenInstanceError, as on a frozen dataclass.
    A frozen dataclass refuses through ``__setattr__``, which makes every new
    value set its slots through ``object.__setattr__`` at twice the cost, and
    pricing an invoice makes a dozen values; behind this property the value's
    own module sets plain private slots. Typed ``Any`` so that the class
    declares the field's type (``currency: str = read_only(...)``).
    """

    def refuse_assignment(value: object, given: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def refuse_deletion(value: object) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    return property(read, refuse_assignment, refuse_deletion, doc)


class FieldValue:
    """The base of billing_core's slotted immutable values (a line, a priced invoice).

    A subclass names its public fields in ``FIELDS``, in its constructor's
    order; it is then compared, hashed, shown and pickled by them, as a frozen
    dataclass is. Its fields are ``read_only``.
    """

    __slots__ = ()
    FIELDS: tuple[str, ...] = ()

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._fields() == other._fields()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(
            self.FIELDS, self._fields(), strict=True))
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> tuple:
        # Pickle and copy the values, never how they were worked out.
        return (type(self), self._fields())


def check_currency(currency: str, field: str = "currency") -> str:
    """Return the upper-case ISO 4217 code, or raise InvalidInput naming ``field``."""
    if type(currency) is str:
        code = currency.strip().upper()
        if code in CURRENCY_EXPONENTS:
            return code
        raise InvalidInput(field, f"{currency!r} is not a supported currency")
    raise TypeError(f"{field}: expected a currency code str, got {type(currency).__name__}")


class Money:
    """An exact amount of one currency: ``Money(amount, currency)``.

    ``amount`` goes through ``to_decimal`` (float refused), ``currency`` must be
    a known ISO 4217 code. Same-currency ``+ -`` and comparisons; ``Money * n``
    and ``Money / n`` are Money; ``Money / Money`` is a Decimal ratio;
    ``sum()`` works.

    SPEC 4: ``Money("1000.00", "USD") * Decimal("0.90") - Money("50.00", "USD")``
    is ``Money("850.00", "USD")``.

    Inside, the amount is the integer ``coefficient * 10 ** exponent``, as a
    Decimal holds it, but in Python ints: the rules of a bill are integer
    arithmetic on minor units, and an int is what they add, compare and round
    without a conversion. ``amount`` gives the Decimal, digits and scale as
    given (``Money("1000.0", "USD").amount`` is ``Decimal("1000.0")``).
    An immutable value, compared and hashed by amount and currency.
    """

    __slots__ = ("_coefficient", "_exponent", "_currency")
    __match_args__ = ("amount", "currency")

    # Private slots behind ``read_only`` fields; a slotted class takes no other attribute.
    _coefficient: int
    _exponent: int
    _currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        code = check_currency(currency)
        number = check_amount_fits(to_decimal(amount, "amount"), code)
        exponent = number.as_tuple().exponent
        self._coefficient = int(number.scaleb(-exponent, _WIDE))  # type: ignore[operator]
        self._exponent = exponent  # type: ignore[assignment]  # finite: to_decimal checked
        self._currency = code

    amount: Decimal = read_only(
        "amount", lambda money: Decimal(money._coefficient).scaleb(money._exponent, _WIDE),
        """The amount as a Decimal: ``Money("500.00", "USD").amount == Decimal("500.00")``.""",
    )
    currency: str = read_only(
        "currency", attrgetter("_currency"),
        """The ISO 4217 code: ``Money("500.00", "usd").currency == "USD"``.""",
    )

    # Construction -----------------------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``, at the currency's minor-unit scale ("0.00")."""
        zero = _ZEROS.get(currency)
        return zero if zero is not None else _ZEROS[check_currency(currency)]

    @classmethod
    def from_minor_units(cls, minor: int, currency: str) -> Money:
        """``Money.from_minor_units(100000, "USD")`` is $1,000.00 (the database's BIGINT form).

        Beyond ``MAX_MINOR_UNITS`` either way is InvalidInput: no BIGINT holds it.
        """
        if type(minor) is not int:
            raise TypeError(f"minor units must be an int, got {type(minor).__name__}")
        code = check_currency(currency)
        if not -MAX_MINOR_UNITS <= minor <= MAX_MINOR_UNITS:
            shown = f"{minor:,}" if minor.bit_length() <= 4 * MAX_DIGITS else _shown_int(minor)
            raise _too_large("amount", f"{shown} of minor units", code, minor > 0)
        return _money(minor, _MINOR_EXPONENT[code], code)

    # Rounding ---------------------------------------------------------------------------------

    def rounded(self) -> Money:
        """Round to the currency's minor unit with ``ROUNDING_MODE``: the only rounding there is.

        SPEC 3: ``(Money("1000.00", "USD") * 15 / 30).rounded()`` is $500.00.
        """
        return money_from_minor(round_ratio(*minor_units_ratio(self)), self._currency)

    @property
    def is_rounded(self) -> bool:
        """True when the amount has no digits below the currency's minor unit."""
        below = _MINOR_EXPONENT[self._currency] - self._exponent  # decimals beyond the minor unit
        return below <= 0 or not self._coefficient % 10**below

    def to_minor_units(self) -> int:
        """$1,000.00 -> 100000. Only for billable (rounded) amounts; an unrounded one is a bug.

        Raises ``ValueError`` rather than rounding silently, so that rounding
        stays a visible, deliberate step.
        """
        if self._exponent == _MINOR_EXPONENT[self._currency]:  # at the currency's scale already
            return self._coefficient
        numerator, denominator = minor_units_ratio(self)
        if denominator != 1:
            raise ValueError(
                f"{self.amount} {self._currency} has digits below the minor unit; round it first"
            )
        return numerator

    # Predicates -------------------------------------------------------------------------------

    @property
    def is_zero(self) -> bool:
        return not self._coefficient

    @property
    def is_negative(self) -> bool:
        return self._coefficient < 0

    def __bool__(self) -> bool:
        return bool(self._coefficient)

    # Arithmetic -------------------------------------------------------------------------------

    def __add__(self, other: Money) -> Money:
        if type(other) is not Money:
            return NotImplemented
        mine, theirs, exponent = _aligned(self, other, "add")
        return _money(mine + theirs, exponent, self._currency)

    def __radd__(self, other: Any) -> Money:
        # sum() starts from the int 0; that and only that may be added to Money.
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        if type(other) is not Money:
            return NotImplemented
        mine, theirs, exponent = _aligned(self, other, "subtract")
        return _money(mine - theirs, exponent, self._currency)

    def __neg__(self) -> Money:
        return _money(-self._coefficient, self._exponent, self._currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return _money(abs(self._coefficient), self._exponent, self._currency)

    def __mul__(self, factor: Decimal | int | str) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money; multiply by a number instead")
        product = _EXACT.multiply(self.amount, to_decimal(factor, "factor"))
        return _from_decimal(product, self._currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: Money | Decimal | int | str) -> Any:
        if type(divisor) is Money:
            if divisor._currency != self._currency:
                raise CurrencyMismatch(self._currency, divisor._currency, "divide")
            if not divisor:
                raise ZeroDivisionError("cannot divide by a zero amount")
            return _DIVIDE.divide(self.amount, divisor.amount)
        number = to_decimal(divisor, "divisor")  # type: ignore[arg-type]  # a Money subclass: refused
        if not number:
            raise ZeroDivisionError("cannot divide money by zero")
        return _from_decimal(_DIVIDE.divide(self.amount, number), self._currency)

    def __rtruediv__(self, other: Any) -> Any:
        raise TypeError("cannot divide a number by Money")

    # Comparison (same currency only) ----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if type(other) is not Money:
            return NotImplemented
        if self._currency != other._currency:
            return False
        if self._exponent == other._exponent:
            return self._coefficient == other._coefficient
        mine, theirs, _ = _aligned(self, other, "compare")
        return mine == theirs

    def __hash__(self) -> int:
        # Equal amounts of another scale hash alike: hashed as minor units, the trailing
        # zeros of a finer scale taken off (an amount at its currency's scale has none to take).
        coefficient = self._coefficient
        shift = self._exponent - _MINOR_EXPONENT[self._currency]
        if shift > 0:
            return hash((coefficient * 10**shift, 0, self._currency))
        while shift and not coefficient % 10:
            coefficient //= 10
            shift += 1
        return hash((coefficient, shift, self._currency))

    @property
    def decimals(self) -> int:
        """How many decimals the amount is written with: 2 for ``Money("1000.00", "USD")``, 1 for
        "1000.0", -3 for "1E+3". Equal amounts may differ in it; a sentence shows its own."""
        return -self._exponent

    def __lt__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        mine, theirs, _ = _aligned(self, other, "compare")
        return mine < theirs

    def __le__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        mine, theirs, _ = _aligned(self, other, "compare")
        return mine <= theirs

    def __gt__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        mine, theirs, _ = _aligned(self, other, "compare")
        return mine > theirs

    def __ge__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        mine, theirs, _ = _aligned(self, other, "compare")
        return mine >= theirs

    def __str__(self) -> str:
        return format_money(self)

    def __repr__(self) -> str:
        return f"Money(amount={self.amount!r}, currency={self._currency!r})"

    def __reduce__(self) -> tuple:
        return (Money, (self.amount, self._currency))


_new = object.__new__


def _money(coefficient: int, exponent: int, currency: str) -> Money:
    # The private constructor for results of Money's own arithmetic: the
    # currency is already checked and the amount worked out from checked ones.
    money = _new(Money)
    money._coefficient = coefficient
    money._exponent = exponent
    money._currency = currency
    return money


def _from_decimal(amount: Decimal, currency: str) -> Money:
    exponent: int = amount.as_tuple().exponent  # type: ignore[assignment]  # finite
    return _money(int(amount.scaleb(-exponent, _WIDE)), exponent, currency)


def _aligned(money: Money, other: Money, operation: str) -> tuple[int, int, int]:
    """Both coefficients at the finer exponent, and that exponent (same currency only)."""
    if other._currency != money._currency:
        raise CurrencyMismatch(money._currency, other._currency, operation)
    mine, theirs = money._exponent, other._exponent
    if mine == theirs:
        return money._coefficient, other._coefficient, mine
    if mine < theirs:
        return money._coefficient, other._coefficient * 10 ** (theirs - mine), mine
    return money._coefficient * 10 ** (mine - theirs), other._coefficient, theirs


_MINOR_EXPONENT = {code: -exp for code, exp in CURRENCY_EXPONENTS.items()}
_ZEROS = {code: _money(0, exponent, code) for code, exponent in _MINOR_EXPONENT.items()}
_HUNDRED_UNITS = {  # a hundred units in minor units, written with the currency's places (1.00E+4)
    code: Decimal((0, (1, 0, 0), places)) for code, places in CURRENCY_EXPONENTS.items()
}

# Rounding: exact rationals to whole minor units ----------------------------------------------

# For each mode: whether a number strictly between ``quotient`` and
# ``quotient + 1`` rounds up to ``quotient + 1``. ``half`` compares its
# fractional part with one half (-1 below, 0 equal, 1 above); the number is
# positive exactly when ``quotient >= 0``, so there "away from zero" is up.
_ROUNDS_UP = {
    decimal.ROUND_HALF_UP: lambda quotient, half: half > 0 or (half == 0 and quotient >= 0),
    decimal.ROUND_HALF_DOWN: lambda quotient, half: half > 0 or (half == 0 and quotient < 0),
    decimal.ROUND_HALF_EVEN: lambda quotient, half: half > 0 or (half == 0 and quotient % 2 == 1),
    decimal.ROUND_UP: lambda quotient, half: quotient >= 0,
    decimal.ROUND_DOWN: lambda quotient, half: quotient < 0,
    decimal.ROUND_CEILING: lambda quotient, half: True,
    decimal.ROUND_FLOOR: lambda quotient, half: False,
    # Away from zero when the digit towards zero is 0 or 5, else towards zero.
    decimal.ROUND_05UP: lambda quotient, half: (
        (quotient >= 0) == ((quotient + (quotient < 0)) % 5 == 0)
    ),
}


def round_ratio(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to a whole number with ``ROUNDING_MODE``.

    The one rounding of a bill. SPEC 3: $1000.00 for 15 of 30 days is
    ``round_ratio(100000 * 15, 30)``, 50000 cents. Under ROUND_HALF_UP half
    goes away from zero: ``round_ratio(1001, 2)`` is 501, ``round_ratio(-1001,
    2)`` is -501, as ``Decimal.quantize`` would give. Every mode of the
    ``decimal`` module is honoured, so changing the named setting changes
    every bill alike.
    """
    if type(numerator) is not int or type(denominator) is not int:
        # A float would come back as a float "share" (50.0), and a bool is no count.
        raise TypeError("round_ratio: numerator and denominator must be ints")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(numerator, denominator)  # floor; 0 <= remainder < denominator
    if not remainder:
        return quotient
    twice = remainder + remainder
    half = (twice > denominator) - (twice < denominator)
    return quotient + _ROUNDS_UP[ROUNDING_MODE](quotient, half)  # a bool: 0 or 1


def minor_units_ratio(money: Money) -> tuple[int, int]:
    """``money`` in minor units as an exact fraction ``(numerator, denominator)``, in lowest terms.

    $500.00 -> (50000, 1), as for every rounded amount; a price per unit finer
    than the minor unit, $0.023, -> (23, 10). Every share starts here.
    """
    shift = money._exponent - _MINOR_EXPONENT[money._currency]  # powers of ten left in it
    if shift >= 0:
        return money._coefficient * 10**shift, 1
    denominator = 10**-shift
    common = gcd(money._coefficient, denominator)
    return money._coefficient // common, denominator // common


def share_minor(money: Money, part: int, whole: int) -> int:
    """``money * part / whole`` in minor units, exactly, rounded once by ``round_ratio``.

    SPEC 3: ``share_minor(Money("1000.00", "USD"), 15, 30)`` is 50000; one byte over
    a 1 TB plan at $23.00, ``share_minor(Money("23.00", "USD"), 1, 10**12)``, is 0.
    The rational is ``minor_units_ratio`` times ``part / whole``, not reduced: the
    rounding does not need lowest terms.
    """
    shift = money._exponent - _MINOR_EXPONENT[money._currency]  # powers of ten left in it
    if shift >= 0:
        return round_ratio(money._coefficient * 10**shift * part, whole)
    return round_ratio(money._coefficient * part, 10**-shift * whole)


def money_from_minor(minor: int, currency: str) -> Money:
    """Minor units worked out by a rule as Money at the currency's scale: 50000 -> $500.00.

    For billing_core's rules, whose currency is already checked and whose int
    they computed themselves; an outside number of minor units goes through
    ``Money.from_minor_units``, which also checks that a BIGINT holds it.
    """
    money = _new(Money)  # as _money does, without a second call: every line makes a few
    money._coefficient = minor
    money._exponent = _MINOR_EXPONENT[currency]
    money._currency = currency
    return money


def exact_share(
    money: Money, part: Decimal | int, whole: Decimal | int
) -> tuple[Decimal, Money, bool]:
    """``money * part / whole`` exactly, that amount rounded once, and whether it terminates.

    ``exact_share(money, part, whole) -> (exact, billable, is_exact)``: the one
    calculation behind proration (days of a period), usage (base units of a
    billing unit) and percentage discounts (percent of 100). A quotient that
    does not terminate (10 / 31) is carried to 50 significant digits and
    ``is_exact`` is False. SPEC 3: ``exact_share(Money("1000.00", "USD"), 15, 30)``
    is ``(Decimal("500.00"), Money("500.00", "USD"), True)``.
    """
    if type(money) is not Money:
        raise TypeError(f"money: expected Money, got {type(money).__name__}")
    if type(part) is not int and type(part) is not Decimal:
        part = to_decimal(part, "part")
    if type(whole) is not int and type(whole) is not Decimal:
        whole = to_decimal(whole, "whole")
    if not whole:
        raise ZeroDivisionError("exact_share: whole must not be zero")
    exact, is_exact = exact_quotient(money, part, whole)
    numerator, denominator = minor_units_ratio(money)
    part_numerator, part_denominator = part.as_integer_ratio()
    whole_numerator, whole_denominator = whole.as_integer_ratio()
    minor = round_ratio(numerator * part_numerator * whole_denominator,
                        denominator * part_denominator * whole_numerator)
    return exact, money_from_minor(minor, money._currency), is_exact


def exact_quotient(money: Money, part: Decimal | int, whole: Decimal | int) -> tuple[Decimal, bool]:
    """``exact_share`` without the rounding: ``(money.amount * part / whole, is_exact)``.

    For explanations of amounts already rounded elsewhere; ``part`` and
    ``whole`` must already be ints or Decimals and ``whole`` non-zero.
    """
    if type(part) is int:  # at most 19 digits times 19: within _EXACT's 50, so no trap needed
        numerator = Decimal(money._coefficient * part).scaleb(money._exponent, _WIDE)
    else:
        numerator = _EXACT.multiply(money.amount, part)
    exact = _DIVIDE.divide(numerator, whole)
    # The quotient terminated if multiplying back gives the numerator; the
    # wide context holds that product without rounding, so it cannot pretend.
    return exact, _WIDE.multiply(exact, whole) == numerator


def exact_percent(minor: int, currency: str, percent: Decimal) -> Decimal:
    """``percent`` % of ``minor`` minor units of ``currency``, exactly: 12% of 45678 USD cents is
    ``Decimal("54.8136")``, as ``exact_quotient`` gives it.

    Always exact: an amount has at most 19 digits and a percentage at most 30
    (``billing_core.discounts.MAX_PERCENT_DIGITS``), so the product fits the 50
    digits of ``_EXACT`` and dividing it by 100 only moves the point.
    """
    # ``minor * percent`` over 100 minor units per hundred: the divisor is written with the
    # currency's places as its exponent (USD: 1.00E+4), so the quotient has the very digits
    # of ``amount * percent / 100``, one Decimal step fewer.
    return _DIVIDE.divide(_EXACT.multiply(Decimal(minor), percent), _HUNDRED_UNITS[currency])


def minor_units_decimal(minor: int, currency: str) -> Decimal:
    """``minor`` minor units of ``currency`` as a Decimal at its scale: 5000 USD -> 50.00."""
    return Decimal(minor).scaleb(_MINOR_EXPONENT[currency], _WIDE)


def rounding_adjustment(billable: Money, exact: Decimal) -> Decimal:
    """What rounding added to ``exact`` to give ``billable``: ``billable.amount - exact``, exactly.

    An exact amount carries up to 50 significant digits; the difference is
    taken in the wide context so none of them is lost (the default context
    keeps 28). ``rounding_adjustment(Money("333.33", "USD"), Decimal("333.3333"))``
    is ``Decimal("-0.0033")``.
    """
    return _WIDE.subtract(billable.amount, exact)


def at_minor_unit(number: Decimal, currency: str) -> Decimal:
    """``number`` rounded to ``currency``'s minor unit with ``ROUNDING_MODE``: 12.345 -> 12.35.

    Only for text: checking that a typed amount has no digits below the minor
    unit (``billing_core.money_text``). A bill is rounded by ``round_ratio``,
    never here, and so is an amount shown (``format_money``).
    """
    return number.quantize(_QUANTUM[currency], ROUNDING_MODE, _DIVIDE)


def format_money(money: Money) -> str:
    """Show a rounded amount for people: "$1,000.00", "-$50.00", "EUR 1,000.00", "JPY 1,000".

    An exact, unrounded amount is rounded for display with ``ROUNDING_MODE``.
    """
    code = money._currency
    minor = money._coefficient if money._exponent == _MINOR_EXPONENT[code] else (
        round_ratio(*minor_units_ratio(money))
    )
    return minor_units_text(minor, code)


def minor_units_text(minor: int, currency: str) -> str:
    """``format_money`` of ``minor`` minor units: 100000 USD -> "$1,000.00", -5000 -> "-$50.00"."""
    # Every sentence of an invoice shows a few amounts, so this is written for speed: the
    # currency's figures are read once from its row of ``_TEXT``, and the minor digits and
    # the last group of three are strings looked up by index (Python's "," grouping costs
    # as much as the rest of the call; below a million it is one lookup).
    if minor < 0:
        return "-" + minor_units_text(-minor, currency)
    per_unit, prefix, minor_digits = _TEXT[currency]
    units, part = divmod(minor, per_unit)
    if units < 1000:
        return f"{prefix}{units}{minor_digits[part]}"
    if units < 1_000_000:
        thousands, units = divmod(units, 1000)
        return f"{prefix}{thousands},{_THREE_DIGITS[units]}{minor_digits[part]}"
    return f"{prefix}{units:,}{minor_digits[part]}"


_THREE_DIGITS = tuple(f"{group:03d}" for group in range(1000))


def _text_row(code: str, places: int) -> tuple[int, str, tuple[str, ...]]:
    # (minor units per unit, what goes before the digits, ".00" to ".99" by minor part).
    prefix = CURRENCY_SYMBOLS.get(code) or f"{code} "
    minor_digits = tuple(f".{part:0{places}d}" for part in range(10**places)) if places else ("",)
    return 10**places, prefix, minor_digits


_TEXT = {code: _text_row(code, places) for code, places in CURRENCY_EXPONENTS.items()}
