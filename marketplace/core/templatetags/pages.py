"""Template helpers of the server-rendered pages: money, rates, dates, the bell."""

from decimal import Decimal

from django import template
from django.utils.html import json_script
from djmoney.money import Money

from marketplace.core import selectors
from marketplace.core.formats import amount_text, moment_text, money_text

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


@register.filter(expects_localtime=True)
def when(value, precision: str = "") -> str:
    """The site's one way of writing a moment (`core.formats.moment_text`): "15 Dec 2026,
    23:32"; a date, or `|when:"day"`, as "15 Dec 2026"."""
    if value in (None, ""):
        return ""
    return moment_text(value, precision)


# Statuses whose name alone does not say what happened to the money.
STATUS_HELP = {
    "disputed": "A dispute is open: the price stays in escrow until staff decide where it goes.",
    "settled": "A dispute ended in a split: staff refunded part of the price to the buyer "
    "and released the rest to the group.",
    "refunded": "Staff refunded the whole price to the buyer.",
    "cancelled": "The leader cancelled after the buyer accepted: the whole price went back "
    "to the buyer.",
}


@register.filter
def status_help(status) -> str:
    """What a status means, for the ones that need saying ("" for the others)."""
    return STATUS_HELP.get(str(status or ""), "")


@register.simple_tag
def status_help_data() -> str:
    """`STATUS_HELP` as a JSON data block, for chat.js to explain the badges of messages
    that arrive live as the server explains the others."""
    return json_script(STATUS_HELP, "status-help")
