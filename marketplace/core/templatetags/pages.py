"""Template helpers of the server-rendered pages: money, rates, the bell."""

from decimal import Decimal

from django import template
from djmoney.money import Money

from marketplace.core import selectors
from marketplace.core.formats import amount_text, money_text

register = template.Library()


@register.filter
def money(value) -> str:
    """`Money` as the API writes it: two places and the currency, "1234.50 USD"."""
    if value is None or value == "":
        return ""
    if isinstance(value, Money):
        return money_text(value)
    return amount_text(value)


@register.simple_tag
def unread_notification_count(user) -> int:
    """The bell's number: the user's unread notifications."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return selectors.unread_count(user=user)


@register.filter
def percent(rate) -> str:
    """A rate such as Decimal("0.1000") as "10%"."""
    value = (Decimal(rate) * 100).normalize()
    return f"{value:f}%"


@register.filter
def code_label(value) -> str:
    """A machine code as words: "in_progress" → "In progress"."""
    return str(value or "").replace("_", " ").capitalize()
