"""Money in words, one way everywhere: the API's two places ("1234.50") and, with the
currency, "1234.50 USD" in pages, chat messages, notifications and errors."""

from decimal import Decimal

from djmoney.money import Money


def amount_text(amount: Decimal | Money) -> str:
    """The amount with exactly two places: "1234.50"."""
    return f"{getattr(amount, 'amount', amount):.2f}"


def money_text(value: Money) -> str:
    """The amount and its currency: "1234.50 USD"."""
    return f"{amount_text(value)} {value.currency}"
