"""Money as text: reading an amount a person typed, and a Decimal in plain digits.

``parse_money`` is the door for typed amounts ("1,000.50", "$1000", "USD 5"):
it refuses, by field name, what is not a number, what has more decimals than
the currency and what no BIGINT of minor units holds, and returns ``Money`` at
the currency's scale; it never rounds an amount a person typed. Showing an
amount is ``format_money`` (``str(money)``) in ``billing_core.money``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from billing_core.errors import InvalidInput
from billing_core.money import (
    CURRENCY_EXPONENTS,
    CURRENCY_SYMBOLS,
    MAX_NUMBER_TEXT,
    MAX_UNIT_PRICE_DECIMALS,
    Money,
    at_minor_unit,
    check_amount_fits,
    check_currency,
    shown_briefly,
    to_decimal,
)


def plain_digits(value: Decimal) -> str:
    """A Decimal in plain digits, trailing zeros dropped, nothing rounded.

    ``Decimal("100.00000000")`` -> "100", ``Decimal("2.3E-11")`` -> "0.000000000023".
    The zeros are cut from the text: ``normalize()`` would round to the
    context's precision (28 digits) and write 100 as "1E+2".
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# Thousands separators only in groups of three, so "1,0,0" is refused rather than guessed at.
_TYPED_NUMBER = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?|\.(\d+)")


def parse_money(
    text: str,
    currency: str = "USD",
    field: str = "amount",
    *,
    allow_negative: bool = False,
    allow_sub_minor: bool = False,
) -> Money:
    """Read an amount a person typed: "1,000.50", "$1000", "  12.3 ", "USD 5".

    The result is at the currency's minor-unit scale ("12.3" -> $12.30).
    Refused with ``InvalidInput`` naming ``field``: empty text ("amount: is
    empty"), text that is not a number ("amount: 'abc' is not a number"), more
    decimals than the currency has ("amount: '12.345' has more than 2 decimal
    places for USD") and, unless ``allow_negative``, negative amounts.

    ``allow_sub_minor`` is for prices per unit, which may be finer than the
    minor unit ("0.023" per GB): such an amount is kept exactly, not refused
    and never rounded; an amount within the minor unit is still scaled to it.
    """
    code = check_currency(currency)
    if not isinstance(text, str):
        number = to_decimal(text, field)
        return _typed_amount(number, code, field, str(number), allow_negative, allow_sub_minor)
    shown = text.strip()
    if not shown:
        raise InvalidInput(field, "is empty")
    if len(shown) > MAX_NUMBER_TEXT:
        raise InvalidInput(field, f"{shown_briefly(shown)} is too long for an amount")
    sign, body = _sign_and_digits(shown, code)
    match = _TYPED_NUMBER.fullmatch(body)
    if match is None:
        raise InvalidInput(field, f"{shown!r} is not a number")
    decimals = match.group(1) or match.group(2) or ""
    exponent = CURRENCY_EXPONENTS[code]
    if len(decimals) > exponent and not allow_sub_minor:
        if exponent == 0:
            raise InvalidInput(field, f"{shown!r} has decimal places, but {code} has none")
        raise InvalidInput(
            field, f"{shown!r} has more than {exponent} decimal places for {code}"
        )
    number = Decimal(sign + body.replace(",", ""))  # plain digits, fewer than MAX_NUMBER_TEXT
    return _typed_amount(number, code, field, shown, allow_negative, allow_sub_minor)


def _sign_and_digits(shown: str, code: str) -> tuple[str, str]:
    # The currency's code (before or after), then a sign before or after its symbol:
    # "USD -5", "-$5" and "$-5" are all minus five dollars.
    body = shown
    if body[:3].upper() == code:
        body = body[3:].strip()
    elif body[-3:].upper() == code:
        body = body[:-3].strip()
    sign = ""
    if body[:1] in ("-", "+"):
        sign, body = body[0], body[1:].strip()
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol and body.startswith(symbol):
        body = body[len(symbol) :].strip()
    if not sign and body[:1] in ("-", "+"):
        sign, body = body[0], body[1:].strip()
    return sign, body


def _typed_amount(
    number: Decimal,
    code: str,
    field: str,
    shown: str,
    allow_negative: bool,
    allow_sub_minor: bool = False,
) -> Money:
    # Bounded before ``at_minor_unit``, whose quantize fails on a number wider than its context.
    check_amount_fits(number, code, field, shown)
    if number < 0 and not allow_negative:
        raise InvalidInput(field, f"{shown!r} is negative; enter an amount of zero or more")
    scaled = at_minor_unit(number, code)
    if scaled != number:
        if not allow_sub_minor:
            places = CURRENCY_EXPONENTS[code]
            raise InvalidInput(field, f"{shown!r} has more than {places} decimal places for {code}")
        if number.as_tuple().exponent < -MAX_UNIT_PRICE_DECIMALS:  # type: ignore[operator]
            raise InvalidInput(field, f"{shown!r} has more than {MAX_UNIT_PRICE_DECIMALS} "
                                      "decimal places; a price per unit is kept to "
                                      f"{MAX_UNIT_PRICE_DECIMALS}")
        return Money(number, code)  # a price per unit, kept exact: nothing rounded
    if not scaled:
        scaled = scaled.copy_abs()  # "-0" is zero, not a negative amount
    return Money(scaled, code)
