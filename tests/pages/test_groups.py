"""Discovery, the group profile, and managing one's groups."""

import pytest

from marketplace.core.models import Conversation, Group, GroupMembership
from proposals.models import Proposal
from tests.factories import GroupFactory, UserFactory
from tests.proposals.factories import bring_to

from .conftest import csrf_post, flashes, text

pytestmark = pytest.mark.django_db


def test_discovery_searches_by_text_and_skill_with_cards(as_user):
    leader, member = UserFactory(username="lead"), UserFactory(username="mem")
    shop = GroupFactory(
        name="Shop builders",
        description="Online shops",
        skills=["Django", "CSS"],
        leader=leader,
        members=[member],
    )
    GroupFactory(name="Data folk", description="Pipelines", skills=["python"])
    Conversation.objects.create(product_owner=UserFactory(), group=shop, total_completed_projects=2)
    Conversation.objects.create(product_owner=UserFactory(), group=shop, total_completed_projects=1)
    client = as_user(UserFactory())

    page = client.get("/groups/")
    assert page.status_code == 200
    assert "2 groups." in text(page)

    page = client.get("/groups/", {"q": "shop"})
    body = text(page)
    assert "1 group found." in body
    assert "Shop builders" in body and "Data folk" not in body
    assert "Members 2: lead (leader), mem" in body
    assert "Completed projects 3" in body
    assert 'href="?skill=Django"' in page.content.decode()

    page = client.get("/groups/", {"skill": "PYTHON"})
    assert "Data folk" in text(page) and "Shop builders" not in text(page)


def test_discovery_paginates_twelve_a_page(as_user):
    for index in range(14):
        GroupFactory(name=f"Team {index:02d}", skills=["go"])
    client = as_user(UserFactory())
    first = client.get("/groups/", {"skill": "go"})
    assert "Page 1 of 2" in text(first)
    assert first.content.decode().count('class="card group-card"') == 12
    assert 'href="?skill=go&amp;page=2"' in first.content.decode()
    second = client.get("/groups/", {"skill": "go", "page": 2})
    assert second.content.decode().count('class="card group-card"') == 2
    assert "Team 00" in text(second)  # newest first: the first created come last


def test_group_profile_and_start_a_conversation(as_user):
    group = GroupFactory(name="Makers")
    buyer = UserFactory()
    client = as_user(buyer)
    page = client.get(f"/groups/{group.pk}/")
    assert page.status_code == 200
    assert "Start a conversation" in text(page)
    response = csrf_post(client, f"/groups/{group.pk}/conversation/")
    conversation = Conversation.objects.get(product_owner=buyer, group=group)
    assert response["Location"] == f"/conversations/{conversation.pk}/"
    assert flashes(response) == ["You opened a conversation with Makers."]
    # Afterwards the profile leads to the existing conversation; starting again reuses it.
    assert "Open your conversation" in text(client.get(f"/groups/{group.pk}/"))
    again = csrf_post(client, f"/groups/{group.pk}/conversation/")
    assert again["Location"] == f"/conversations/{conversation.pk}/"
    assert Conversation.objects.count() == 1


def test_a_member_cannot_hire_their_own_group(as_user):
    group = GroupFactory()
    client = as_user(group.leader)
    page = client.get(f"/groups/{group.pk}/")
    assert "Start a conversation" not in text(page)
    assert "Manage this group" in text(page)
    response = csrf_post(client, f"/groups/{group.pk}/conversation/")
    assert flashes(response) == [
        "You belong to this group, so you cannot hire it: open a conversation with another group."
    ]
    assert not Conversation.objects.exists()


def test_an_unknown_group_is_404(as_user):
    assert as_user(UserFactory()).get("/groups/999999/").status_code == 404


def test_create_a_group_and_add_members(as_user):
    leader = UserFactory(username="boss")
    UserFactory(username="helper")
    client = as_user(leader)
    assert client.get("/groups/mine/").status_code == 200
    response = csrf_post(
        client,
        "/groups/mine/",
        {"name": "Crew", "description": "We ship.", "skills": "django, design, Django"},
    )
    group = Group.objects.get(name="Crew")
    assert response["Location"] == f"/groups/{group.pk}/manage/"
    assert flashes(response) == ["Your group Crew is ready. Add its members below."]
    assert group.skills == ["django", "design"]
    assert group.leader == leader

    response = csrf_post(client, f"/groups/{group.pk}/members/", {"username": "helper"})
    assert flashes(response) == ["helper joined Crew."]
    response = csrf_post(client, f"/groups/{group.pk}/members/", {"username": "helper"})
    assert flashes(response) == ["helper is already a member."]
    response = csrf_post(client, f"/groups/{group.pk}/members/", {"username": "ghost"})
    assert flashes(response) == ["There is no such user, or they cannot be added to a group."]
    members = GroupMembership.objects.filter(group=group).order_by("joined_at", "id")
    assert list(members.values_list("user__username", flat=True)) == ["boss", "helper"]
    assert "Crew" in text(client.get("/groups/mine/"))


def test_members_cannot_add_members_and_do_not_see_the_leader_forms(as_user):
    member = UserFactory()
    group = GroupFactory(members=[member])
    client = as_user(member)
    page = text(client.get(f"/groups/{group.pk}/manage/"))
    assert "Add a member" not in page and "Delete the group" not in page
    response = csrf_post(client, f"/groups/{group.pk}/members/", {"username": "nobody"})
    # Refused before the name is looked up: the answer says nothing of who exists.
    assert flashes(response) == [
        "You are not allowed to do that. Only the group's leader can do this."
    ]
    other = UserFactory(username="other")
    response = csrf_post(client, f"/groups/{group.pk}/members/", {"username": other.username})
    assert flashes(response) == [
        "You are not allowed to do that. Only the group's leader can do this."
    ]


def test_strangers_get_404_on_managing_a_group(as_user):
    group = GroupFactory()
    client = as_user(UserFactory())
    assert client.get(f"/groups/{group.pk}/manage/").status_code == 404
    assert csrf_post(client, f"/groups/{group.pk}/delete/").status_code == 404
    assert csrf_post(client, f"/groups/{group.pk}/leave/").status_code == 404


def test_leave_transfer_and_the_leader_refusal(as_user):
    member = UserFactory(username="second")
    group = GroupFactory(name="Duo", members=[member])
    leader_client = as_user(group.leader)
    response = csrf_post(leader_client, f"/groups/{group.pk}/leave/")
    assert flashes(response) == [
        "You lead this group, so you cannot leave it yet. Hand the leadership to another "
        "member first, then leave."
    ]
    response = csrf_post(leader_client, f"/groups/{group.pk}/transfer/", {"new_leader": member.pk})
    assert flashes(response) == ["second now leads Duo."]
    group.refresh_from_db()
    assert group.leader == member
    response = csrf_post(leader_client, f"/groups/{group.pk}/leave/")
    assert response["Location"] == "/groups/mine/"
    assert flashes(response) == ["You left Duo."]
    assert list(GroupMembership.objects.filter(group=group).values_list("user", flat=True)) == [
        member.pk
    ]


def test_delete_a_group_and_the_escrow_refusal_in_words(as_user, team):
    empty = GroupFactory(name="Gone")
    client = as_user(empty.leader)
    response = csrf_post(client, f"/groups/{empty.pk}/delete/")
    assert response["Location"] == "/groups/mine/"
    assert flashes(response) == ["The group Gone was deleted."]
    assert not Group.objects.filter(pk=empty.pk).exists()

    bring_to(team, Proposal.Status.ACCEPTED)
    client = as_user(team.leader)
    page = text(client.get(f"/groups/{team.group.pk}/manage/"))
    assert "cannot be deleted while one of its deals holds a buyer's money in escrow" in page
    response = csrf_post(client, f"/groups/{team.group.pk}/delete/")
    assert flashes(response) == [
        "This group cannot be deleted while one of its deals holds the buyer's money in "
        "escrow. Finish that deal first: the buyer confirms it, you cancel it, or staff "
        "resolve its dispute."
    ]
    assert Group.objects.filter(pk=team.group.pk).exists()
