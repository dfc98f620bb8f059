"""Adding a member by username tells nobody who has an account: a non-leader is refused
(403, or the page's refusal) before the name is looked up, and the leader gets one
answer for a name nobody has and for a user who cannot be added."""

import pytest
from django.test import Client

from marketplace.core.models import GroupMembership
from marketplace.core.services import NOT_ADDABLE
from tests.conftest import token_client
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def add(client, group, username: str):
    return client.post(f"/api/groups/{group.pk}/members", {"username": username}, format="json")


@pytest.fixture
def group():
    return GroupFactory(members=[UserFactory(username="member")])


@pytest.mark.parametrize("caller", ["member", "outsider"])
def test_a_non_leader_gets_the_same_403_for_real_and_unknown_names(group, caller):
    UserFactory(username="real")
    user = UserFactory(username=caller) if caller == "outsider" else group.memberships.last().user
    client = token_client(user)

    real, unknown = add(client, group, "real"), add(client, group, "nobody-has-this-name")

    assert real.status_code == unknown.status_code == 403
    assert real.json() == unknown.json()
    assert real.json()["error"]["code"] == "permission_denied"


def test_the_leader_gets_one_answer_for_unknown_and_deactivated_users(group):
    UserFactory(username="gone", is_active=False)
    client = token_client(group.leader)

    unknown, deactivated = add(client, group, "nobody-has-this-name"), add(client, group, "gone")

    assert unknown.status_code == deactivated.status_code == 400
    assert unknown.json() == deactivated.json()
    assert unknown.json()["error"]["fields"] == {"username": [NOT_ADDABLE]}
    assert GroupMembership.objects.filter(group=group).count() == 2


def test_the_leader_adds_a_real_user_in_any_case(group):
    newcomer = UserFactory(username="Newcomer")

    response = add(token_client(group.leader), group, "NEWCOMER")

    assert response.status_code == 201
    assert response.json()["username"] == "Newcomer"
    assert GroupMembership.objects.filter(group=group, user=newcomer).exists()


def page_add(user, group, username: str) -> list[str]:
    client = Client()
    client.force_login(user)
    response = client.post(f"/groups/{group.pk}/members/", {"username": username}, follow=True)
    return [str(message) for message in response.context["messages"]]


def test_the_page_answers_a_member_the_same_for_real_and_unknown_names(group):
    UserFactory(username="real")
    member = group.memberships.last().user

    assert page_add(member, group, "real") == page_add(member, group, "nobody-has-this-name")


def test_the_page_answers_the_leader_the_same_for_unknown_and_deactivated_users(group):
    UserFactory(username="gone", is_active=False)

    unknown = page_add(group.leader, group, "nobody-has-this-name")

    assert unknown == page_add(group.leader, group, "gone") == [NOT_ADDABLE]
