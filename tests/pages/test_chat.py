"""The conversation list and the chat page: history, the socket's address, the plain-POST
fallback, and who may see it."""

import pytest

from marketplace.core.models import Message
from marketplace.core.services import message_send
from tests.factories import UserFactory

from .conftest import csrf_post, flashes, text

pytestmark = pytest.mark.django_db


def test_the_conversation_list_shows_unread_badges_for_both_sides(as_user, team):
    message_send(conversation=team.conversation, sender=team.buyer, body="Hello")
    message_send(conversation=team.conversation, sender=team.leader, body="Hi!")
    message_send(conversation=team.conversation, sender=team.leader, body="Anyone?")
    buyer = as_user(team.buyer)
    buyer_page = text(buyer.get("/conversations/"))
    assert f"{team.group.name} 2 unread" in buyer_page
    assert "you are the buyer" in buyer_page
    member_page = text(as_user(team.members[0]).get("/conversations/"))
    assert f"{team.buyer.username} · {team.group.name} 3 unread" in member_page
    assert "your group" in member_page

    buyer.get(f"/conversations/{team.conversation.pk}/")  # opening the chat reads it
    assert f"{team.group.name} All read" in text(buyer.get("/conversations/"))
    assert "No conversations yet" in text(as_user(UserFactory()).get("/conversations/"))


def test_the_chat_page_shows_the_history_and_the_live_socket(as_user, team):
    hello = message_send(conversation=team.conversation, sender=team.buyer, body="Hello <b>")
    reply = message_send(conversation=team.conversation, sender=team.leader, body="Hi!")
    page = as_user(team.members[1]).get(f"/conversations/{team.conversation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-conversation-socket="/ws/conversations/{team.conversation.pk}/"' in html
    assert f'data-last-message-id="{reply.pk}"' in html
    assert f'id="message-{hello.pk}"' in html
    assert "Hello &lt;b&gt;" in html  # escaped
    assert html.index(f'id="message-{hello.pk}"') < html.index(f'id="message-{reply.pk}"')
    assert '<form id="composer" method="post"' in html
    assert "/static/js/chat.js" in html


@pytest.mark.parametrize("who", ["stranger", "other_buyer"])
def test_strangers_get_404_on_someone_elses_chat(as_user, team, who):
    client = as_user(UserFactory())
    assert client.get(f"/conversations/{team.conversation.pk}/").status_code == 404
    response = csrf_post(client, f"/conversations/{team.conversation.pk}/messages/", {"body": "x"})
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_sending_by_form_post_when_the_socket_is_not_open(as_user, team):
    client = as_user(team.members[0])
    response = csrf_post(
        client, f"/conversations/{team.conversation.pk}/messages/", {"body": "  On it.  "}
    )
    assert response["Location"] == f"/conversations/{team.conversation.pk}/#composer"
    message = Message.objects.get()
    assert (message.sender, message.body) == (team.members[0], "On it.")
    response = csrf_post(
        client, f"/conversations/{team.conversation.pk}/messages/", {"body": "   "}
    )
    assert flashes(response) == ["Write something before sending."]
    assert Message.objects.count() == 1


def test_a_member_who_left_loses_the_chat(as_user, team):
    from marketplace.core.services import group_leave

    group_leave(group=team.group, user=team.members[1])
    assert (
        as_user(team.members[1]).get(f"/conversations/{team.conversation.pk}/").status_code == 404
    )


def test_proposal_events_in_the_chat_link_to_their_card(as_user, team):
    from tests.proposals.factories import propose

    proposal = propose(team, "250.00")
    html = as_user(team.buyer).get(f"/conversations/{team.conversation.pk}/").content.decode()
    event = html[html.index("New proposal") :]
    assert f'<a href="#proposal-{proposal.pk}">See the proposal card</a>' in event
    assert '<span class="status-badge status-pending">Pending</span>' in event
    assert f'id="proposal-{proposal.pk}"' in html  # the card it points to
