"""The wallet history's pages (`escrow.history`): a page holds `PER_PAGE` lines, and a
release out of the buyer's escrow, one line that unfolds into its legs, is never split
between two pages, wherever the page break falls."""

from decimal import Decimal

import pytest

from escrow.history import PER_PAGE, history_page
from escrow.models import EscrowTransaction, Wallet
from proposals.models import Proposal
from tests.proposals.factories import bring_to, fund, make_team

pytestmark = pytest.mark.django_db
Kind = EscrowTransaction.Kind
LEGS = [
    Kind.PLATFORM_FEE,
    Kind.LEADER_COMMISSION,
    Kind.MEMBER_SHARE,
    Kind.MEMBER_SHARE,
    Kind.MEMBER_SHARE,
]


def every_page(wallet: Wallet) -> list[list]:
    """The lines of each page, first page first."""
    page, lines = history_page(wallet=wallet, number=1)
    pages = [lines]
    while page.has_next():
        page, lines = history_page(wallet=wallet, number=page.next_page_number())
        pages.append(lines)
    return pages


def test_a_release_is_never_split_between_pages(ledger_clean):
    team = make_team(members=2, deposit="1500.00")
    bring_to(team, Proposal.Status.COMPLETED, price="350.00")
    # Its five legs are the newest entries; each deposit after it pushes them down by one,
    # so one of these counts puts the page break between two of them.
    for deposits in range(1, PER_PAGE + 1):
        fund(team.buyer, "1.00")
        if deposits < PER_PAGE - len(LEGS):
            continue
        wallet = Wallet.objects.get(user=team.buyer)
        pages = every_page(wallet)
        lines = [line for page in pages for line in page]

        releases = [line for line in lines if line.legs]
        assert len(releases) == 1, deposits
        assert [leg.kind for leg in releases[0].legs] == LEGS
        assert releases[0].released == Decimal("350.00")
        assert sum(leg.amount.amount for leg in releases[0].legs) == Decimal("350.00")
        # The deposits, the release, the lock and the first deposit: one line each.
        assert len(lines) == deposits + 3
        assert [len(page) for page in pages[:-1]] == [PER_PAGE] * (len(pages) - 1)
        assert sum(line.available_change for line in lines) == wallet.available_balance.amount
        assert sum(line.escrow_change for line in lines) == Decimal("0.00")
    ledger_clean()
