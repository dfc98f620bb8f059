"""Money and moments in words, one way everywhere: the API's two places ("1234.50") and,
with the currency, "1234.50 USD"; a moment as "15 Dec 2026, 23:32" and a day as
"15 Dec 2026" (UTC, the site's time zone), in pages, chat messages, notifications and
errors."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.dateformat import format as date_format
from djmoney.money import Money

MOMENT_FORMAT = "j M Y, H:i"
DAY_FORMAT = "j M Y"


def amount_text(amount: Decimal | Money) -> str:
    """The amount with exactly two places: "1234.50"."""
    return f"{getattr(amount, 'amount', amount):.2f}"


def money_text(value: Money) -> str:
    """The amount and its currency: "1234.50 USD"."""
    return f"{amount_text(value)} {value.currency}"


def moment_text(value: date | datetime, precision: str = "") -> str:
    """A date and time as "15 Dec 2026, 23:32"; a date, or precision "day", as
    "15 Dec 2026"."""
    with_time = isinstance(value, datetime) and precision != "day"
    if with_time and timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, MOMENT_FORMAT if with_time else DAY_FORMAT)
