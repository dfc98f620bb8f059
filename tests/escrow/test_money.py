from decimal import Decimal

import pytest
from djmoney.money import Money
from hypothesis import given
from hypothesis import strategies as st

from escrow.money import Rates, fee_breakdown, parse_amount, split_pool
from marketplace.core.errors import InvalidInput

STANDARD = Rates(platform_fee=Decimal("0.10"), leader_commission=Decimal("0.03"))
prices = st.integers(min_value=1, max_value=100_000_000).map(
    lambda cents: Money(Decimal(cents) / 100, "USD")
)


@given(price=prices, participants=st.integers(min_value=1, max_value=60))
def test_breakdown_and_split_are_exact_for_any_price_and_group(price, participants):
    breakdown = fee_breakdown(price, STANDARD)
    assert breakdown.platform_fee + breakdown.leader_commission + breakdown.member_pool == price
    for part in (breakdown.platform_fee, breakdown.leader_commission, breakdown.member_pool):
        assert part.amount == part.amount.quantize(Decimal("0.01"))
        assert part.amount >= 0

    shares = split_pool(breakdown.member_pool, participants)
    assert len(shares) == participants
    assert sum(share.amount for share in shares) == breakdown.member_pool.amount
    assert max(shares).amount - min(shares).amount <= Decimal("0.01")
    # Leftover cents go to the earliest joiners: shares never increase down the list.
    assert [share.amount for share in shares] == sorted((s.amount for s in shares), reverse=True)


@pytest.mark.parametrize(
    ("price", "fee", "commission", "pool"),
    [
        ("1000.00", "100.00", "30.00", "870.00"),
        ("0.01", "0.00", "0.00", "0.01"),
        ("0.05", "0.01", "0.00", "0.04"),  # 0.005 rounds half up to 0.01
        ("16.50", "1.65", "0.50", "14.35"),  # 0.495 rounds half up to 0.50
        ("99.99", "10.00", "3.00", "86.99"),
        ("1000000.00", "100000.00", "30000.00", "870000.00"),
    ],
)
def test_breakdown_rounds_half_up_to_the_cent(price, fee, commission, pool):
    breakdown = fee_breakdown(Money(price, "USD"), STANDARD)
    assert breakdown.platform_fee == Money(fee, "USD")
    assert breakdown.leader_commission == Money(commission, "USD")
    assert breakdown.member_pool == Money(pool, "USD")


def test_leftover_cents_go_one_each_to_the_first_participants():
    shares = split_pool(Money("100.01", "USD"), 3)
    assert shares == [Money("33.34", "USD"), Money("33.34", "USD"), Money("33.33", "USD")]


@pytest.mark.parametrize(
    "raw",
    ["10.001", "0", "0.00", "-5", "abc", "", "NaN", "Infinity", 12.5, None, True, "1000000.01"],
)
def test_parse_amount_refuses_bad_input_with_a_code(raw):
    with pytest.raises(InvalidInput) as refusal:
        parse_amount(raw)
    assert refusal.value.code == "invalid_amount"


def test_parse_amount_accepts_decimal_strings_and_integers():
    assert parse_amount("12.5") == Money("12.50", "USD")
    assert parse_amount(7, "EUR") == Money("7.00", "EUR")
    assert parse_amount("1000000.00") == Money("1000000.00", "USD")


def test_parse_amount_refuses_unknown_currency():
    with pytest.raises(InvalidInput) as refusal:
        parse_amount("1.00", "XYZ")
    assert refusal.value.code == "invalid_currency"
