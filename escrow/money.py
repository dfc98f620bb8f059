"""All money arithmetic: parsing, rounding, the fee breakdown and the member split.

Amounts are `Money` (a `Decimal` and a currency), never floats, always to the cent.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from djmoney.money import Money

from marketplace.core.errors import InvalidInput

CENT = Decimal("0.01")

# The column of one amount (a price, a fee, one ledger entry), for every app's
# MoneyFields. `MAX_AMOUNT` (1 000 000.00) caps every operation, so twelve digits leave
# room to spare.
AMOUNT = {"max_digits": 12, "decimal_places": 2, "default_currency": "USD"}


def round_half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# Plain ASCII digits, optionally a point and more digits: no exponent, sign,
# underscores or other scripts' digits ("1e30", "1_000" and "١٢" are refused).
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def parse_amount(raw, currency: str | None = None, *, field: str = "amount") -> Money:
    """Turn client input into Money, or refuse it with `invalid_amount` naming `field`.

    Accepts a plain decimal string (ASCII digits, at most two places), an int or a
    Decimal, above zero and at most `settings.MAX_AMOUNT`. Floats are refused: they
    cannot say 0.10 exactly. The size is checked before anything is rounded, so no input
    can make the arithmetic itself fail.
    """
    currency = currency or settings.DEFAULT_CURRENCY

    def refuse(message: str, code: str = "invalid_amount") -> InvalidInput:
        return InvalidInput(message, code=code, fields={field: [message]})

    if currency not in settings.CURRENCIES:
        raise refuse(f"Currency {currency!r} is not supported.", "invalid_currency")
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("-"):
            raise refuse("Amount must be above zero.")
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise refuse('Amount must be a plain decimal number such as "12.50".')
        amount = Decimal(text)
    elif isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        amount = Decimal(raw)
        if not amount.is_finite():
            raise refuse("Amount must be a number.")
    else:
        raise refuse('Amount must be a decimal string such as "12.50".')
    if amount <= 0:
        raise refuse("Amount must be above zero.")
    if amount > settings.MAX_AMOUNT:
        raise refuse(f"Amount must be at most {settings.MAX_AMOUNT} {currency}.")
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        raise refuse("Amounts have at most two decimal places.")
    return Money(amount.quantize(CENT), currency)


@dataclass(frozen=True)
class Rates:
    platform_fee: Decimal
    leader_commission: Decimal

    @classmethod
    def current(cls) -> "Rates":
        return cls(settings.PLATFORM_FEE_RATE, settings.LEADER_COMMISSION_RATE)


@dataclass(frozen=True)
class Breakdown:
    platform_fee: Money
    leader_commission: Money
    member_pool: Money


def fee_breakdown(price: Money, rates: Rates) -> Breakdown:
    """Fee and commission rounded half up to the cent; the pool is what is left, so the
    three always sum to the price exactly."""
    fee = round_half_up(price.amount * rates.platform_fee)
    commission = round_half_up(price.amount * rates.leader_commission)
    currency = price.currency
    return Breakdown(
        platform_fee=Money(fee, currency),
        leader_commission=Money(commission, currency),
        member_pool=Money(price.amount - fee - commission, currency),
    )


def split_pool(pool: Money, participants: int) -> list[Money]:
    """Equal shares floored to the cent; the leftover cents go one each to the first
    participants (the callers pass them in order of joining): `split_by_weight` with
    every weight 1, so the remainders tie and go by order. The shares sum to the pool
    exactly and differ by at most a cent.
    """
    if participants < 1:
        raise ValueError("A pool is split among at least one participant.")
    return split_by_weight(pool, [1] * participants)


def split_by_weight(pool: Money, weights: Sequence[int]) -> list[Money]:
    """The largest-remainder rule of CONTRACT.md: each share is `pool * weight / total`
    floored to the cent, and the leftover cents go one each to the largest fractional
    remainders, ties to the earlier weight (callers pass them in order of joining).
    Weight 0 gets 0; an all-zero (or empty) list falls back to equal shares."""
    if not weights:
        raise ValueError("A pool is split among at least one participant.")
    if any(weight < 0 for weight in weights):
        raise ValueError("Weights are never negative.")
    total = sum(weights)
    if total == 0:
        return split_pool(pool, len(weights))
    cents = int(pool.amount / CENT)
    # Integer arithmetic: floor and remainder of cents * weight / total, exactly.
    floors, remainders = zip(*(divmod(cents * weight, total) for weight in weights), strict=True)
    leftover = cents - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda index: (-remainders[index], index))
    bonus = set(by_remainder[:leftover])
    return [
        Money((floor + (1 if index in bonus else 0)) * CENT, pool.currency)
        for index, floor in enumerate(floors)
    ]


@dataclass(frozen=True)
class Distribution:
    """Who gets what when `amount` leaves escrow: the payees are whatever the caller
    passed in (wallets, users or ids), the shares in their order."""

    platform_fee: Money
    leader: object
    leader_commission: Money
    shares: list[tuple[object, Money]]


def distribute(
    amount: Money,
    rates: Rates,
    *,
    leader,
    members: Sequence,
    weights: Sequence[int] | None = None,
) -> Distribution:
    """The release rule of CONTRACT.md: the fee breakdown of `amount`, the commission to
    the leader, the pool split among `members` (in order of joining): equally, or by
    `weights` (one per member, `split_by_weight`) for a `task_points` pool. With nobody
    left to share the pool, it goes to the leader."""
    breakdown = fee_breakdown(amount, rates)
    sharers = list(members) or [leader]
    if weights is None or not members:
        weights = [1] * len(sharers)
    elif len(weights) != len(sharers):
        raise ValueError("One weight per member.")
    shares = split_by_weight(breakdown.member_pool, weights)
    return Distribution(
        platform_fee=breakdown.platform_fee,
        leader=leader,
        leader_commission=breakdown.leader_commission,
        shares=list(zip(sharers, shares, strict=True)),
    )
