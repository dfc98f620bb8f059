"""The automatic release job: one pass releases every delivered proposal whose buyer let
the release time pass (`Proposal.auto_release_at`), and reminds buyers 3 days and 1 day
before it. `manage.py auto_release` runs a pass, or one a minute with `--loop`.

Several hosts may run it at once. Each proposal is claimed with
`SELECT ... FOR UPDATE SKIP LOCKED` inside its own transaction: a worker that finds the
row locked moves on, and one that comes after the release finds it no longer delivered.
`proposal_auto_release` then locks, re-checks and releases under the idempotency key
`proposal:{id}`, so even a stray second call cannot pay twice. Reminders are
claimed the same way and recorded on the proposal in the same transaction as the
notification, so each goes out once.

A disputed proposal is not delivered, so it is never released or reminded about: the
dispute freezes the clock, and its resolution ends the deal.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from marketplace.core.errors import DomainError
from marketplace.core.formats import moment_text, money_text
from marketplace.core.notifications import Kind, notify

from .models import Proposal
from .notifications import proposal_data, proposal_link
from .selectors import proposals_due_for_auto_release
from .services import AUTO_RELEASE_MAX_EXTENSION_DAYS, proposal_auto_release
from .transitions import proposal_hold_group

logger = logging.getLogger("proposals.auto_release")

# Days before the release time at which the buyer is reminded, most distant first.
REMINDERS = (3, 1)
# A pass handles at most this many releases; the next pass takes the rest.
BATCH = 500


@dataclass
class PassResult:
    released: list[int] = field(default_factory=list)
    reminded: list[tuple[int, int]] = field(default_factory=list)  # (proposal id, days)
    skipped: int = 0  # claimed by another worker, or no longer delivered
    not_due: int = 0  # the buyer extended the release time


def _claim(pk: int) -> Proposal | None:
    """Lock the proposal if it is still delivered and no other worker holds it, in the
    global lock order: its group first, then its row."""
    if not proposal_hold_group(pk):
        return None
    return (
        Proposal.objects.select_for_update(skip_locked=True)
        .filter(pk=pk, status=Proposal.Status.DELIVERED, is_legacy=False)
        .first()
    )


def release_due(*, now: datetime, result: PassResult) -> None:
    candidates = list(proposals_due_for_auto_release(now=now).values_list("pk", flat=True)[:BATCH])
    for pk in candidates:
        with transaction.atomic():
            proposal = _claim(pk)
            if proposal is None:
                result.skipped += 1
                continue
            try:
                proposal_auto_release(proposal=proposal, now=now)
            except DomainError as error:
                logger.info(
                    "auto_release.skipped",
                    extra={"proposal_id": pk, "code": error.code, "reason": error.message},
                )
                result.not_due += 1
                continue
        result.released.append(pk)


def _reminder(proposal: Proposal, days: int, due: datetime) -> None:
    buyer = proposal.conversation.product_owner
    price = money_text(proposal.price)
    when = "tomorrow" if days == 1 else f"in {days} days"
    title = f"“{proposal.title}” will be confirmed automatically {when}"
    body = (
        f"Unless you confirm the work, request changes or open a dispute, the escrow of "
        f"{price} is released to the group on {moment_text(due)} UTC. You can extend "
        f"this once by up to {AUTO_RELEASE_MAX_EXTENSION_DAYS} days."
    )
    notify(
        user=buyer,
        kind=Kind.AUTO_RELEASE_REMINDER,
        title=title,
        body=body,
        link=proposal_link(proposal),
        data=proposal_data(proposal, auto_release_at=due, reminder_days_before=days),
    )


def send_reminders(*, now: datetime, result: PassResult) -> None:
    """Remind the buyer of every delivered proposal whose release time is at most 3 (then
    1) days away. A reminder already sent for the same release time is not sent again;
    when both are due at once (the job was down) only the nearer one goes out."""
    horizon = now + timedelta(days=max(REMINDERS))
    candidates = Proposal.objects.filter(Proposal.auto_release_by(horizon)).values_list(
        "pk", flat=True
    )
    for pk in list(candidates):
        with transaction.atomic():
            proposal = _claim(pk)
            if proposal is None:
                continue
            due = proposal.auto_release_at
            if due <= now:
                continue  # the release itself is due
            owed = [days for days in REMINDERS if due - now <= timedelta(days=days)]
            sent = (
                proposal.auto_release_reminders_sent
                if proposal.auto_release_reminded_for == due
                else []
            )
            if not owed or set(owed) <= set(sent):
                continue
            days = min(owed)
            proposal.auto_release_reminders_sent = sorted(set(sent) | set(owed), reverse=True)
            proposal.auto_release_reminded_for = due
            proposal.save(
                update_fields=["auto_release_reminders_sent", "auto_release_reminded_for"]
            )
            _reminder(proposal, days, due)
        result.reminded.append((pk, days))


def auto_release_pass(*, now: datetime | None = None) -> PassResult:
    """One pass of the job: release what is due, then send the reminders owed."""
    now = now or timezone.now()
    result = PassResult()
    release_due(now=now, result=result)
    send_reminders(now=now, result=result)
    return result
