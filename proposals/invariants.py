"""Invariants of the proposal workflow that `manage.py reconcile` checks with the ledger's.

Registered with `escrow.reconcile.register_check` in `ProposalsConfig.ready()`.
"""

from decimal import Decimal

from .models import Proposal

ZERO = Decimal("0.00")


def proposal_escrow_problems() -> list[str]:
    """Every proposal of the new flow holds its price in escrow while accepted, in
    progress, delivered or disputed, and nothing otherwise: both the proposal's
    `escrow_amount` and its hold (when it has one) say so."""
    problems: list[str] = []
    proposals = Proposal.objects.filter(is_legacy=False).select_related("escrow_hold")
    for proposal in proposals.order_by("pk").iterator(chunk_size=2000):
        held = proposal.status in Proposal.ESCROW_HELD
        expected = proposal.price.amount if held else ZERO
        label = f"proposal #{proposal.pk} ({proposal.status})"
        if proposal.escrow_amount.amount != expected:
            problems.append(
                f"{label}: escrow_amount is {proposal.escrow_amount.amount}, expected {expected}"
            )
        hold = proposal.escrow_hold
        if hold is None:
            if held:
                problems.append(f"{label}: no escrow hold, expected {expected} held")
            continue
        if hold.amount.amount != expected:
            problems.append(
                f"{label}: escrow hold #{hold.pk} holds {hold.amount.amount}, expected {expected}"
            )
        if str(hold.amount.currency) != str(proposal.price.currency):
            problems.append(
                f"{label}: escrow hold #{hold.pk} is in {hold.amount.currency}, "
                f"the price in {proposal.price.currency}"
            )
    return problems
