"""Template helpers of the server-rendered pages: money, the rollout flag, the bell."""

from decimal import Decimal

from django import template
from djmoney.money import Money

from marketplace.core import selectors
from marketplace.core.rollout import flag_active_for

register = template.Library()


@register.filter
def money(value) -> str:
    """`Money` as the API writes it: two places and the currency, "1234.50 USD"."""
    if value is None or value == "":
        return ""
    if isinstance(value, Money):
        return f"{value.amount:.2f} {value.currency}"
    return f"{value:.2f}"


@register.filter
def has_new_workflow(user) -> bool:
    """Whether proposals, tasks and disputes are on for this user (`marketplace.core.rollout`)."""
    return bool(getattr(user, "is_authenticated", False)) and flag_active_for(user)


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
