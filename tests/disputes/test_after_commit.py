"""A dispute that committed is reported as opened even when its after-commit frame
cannot be read. Found by the bank test: a backend terminated right after COMMIT made
`dispute_open` raise OperationalError (the API's 503, "nothing was written") for a
dispute that existed. The fault is real: the connection's backend is terminated between
the commit and the frame's read."""

import pytest
from django.db import connection, transaction

from disputes.models import Dispute
from disputes.services import dispute_open
from proposals.models import Proposal
from tests.marketplace.test_database_unavailable import kill_this_connection
from tests.proposals.factories import bring_to, make_team

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_committed_dispute_is_not_reported_as_failed_when_its_frame_cannot_be_read():
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, Proposal.Status.DELIVERED)

    try:
        with transaction.atomic():
            # Runs first after the commit, before the dispute's frame is read.
            transaction.on_commit(kill_this_connection)
            dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="Broken.")
    finally:
        connection.close()

    assert Dispute.objects.get(pk=dispute.pk).proposal_id == proposal.pk
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.DISPUTED
