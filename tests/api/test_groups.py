"""Groups and discovery: /api/groups, members, leave, leadership, delete, group wallet."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escrow import services as escrow_services
from escrow.models import GroupWallet
from marketplace.core.models import Conversation, Group, GroupMembership, Message
from marketplace.core.signals import member_left
from tests.factories import ConversationFactory, GroupFactory, UserFactory

from .conftest import fund, usd

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader():
    return UserFactory(username="lead")


@pytest.fixture
def member():
    return UserFactory(username="mem")


@pytest.fixture
def group(leader, member):
    group = GroupFactory(leader=leader, members=[member], name="Pixel Crew")
    escrow_services.group_wallet_get_or_open(group=group)
    return group


def member_rows(response):
    return [(m["username"], m["role"]) for m in response.json()["members"]]


# --- create -------------------------------------------------------------------------


def test_create_makes_the_caller_leader_and_first_member_with_a_group_wallet(alice, user):
    response = alice.post(
        "/api/groups",
        {
            "name": " Web Team ",
            "description": "Sites.",
            "skills": ["Django", " css ", "django", ""],
        },
        format="json",
    )

    assert response.status_code == 201
    group = Group.objects.get()
    body = response.json()
    membership = GroupMembership.objects.get(group=group)
    assert body == {
        "id": group.pk,
        "name": "Web Team",
        "description": "Sites.",
        "skills": ["Django", "css"],
        "leader": {"id": user.pk, "username": "alice"},
        "members": [
            {
                "id": user.pk,
                "username": "alice",
                "role": "leader",
                "joined_at": membership.joined_at.isoformat().replace("+00:00", "Z"),
            }
        ],
        "created_at": group.created_at.isoformat().replace("+00:00", "Z"),
    }
    wallet = GroupWallet.objects.get(group=group)
    assert (wallet.currency, str(wallet.available_balance.amount)) == ("USD", "0.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "x"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "ok", "skills": "django"}, "skills"),
        ({"name": "ok", "skills": ["x" * 51]}, "skills"),
    ],
)
def test_create_names_the_invalid_field(alice, body, field):
    response = alice.post("/api/groups/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not Group.objects.exists()


def test_create_and_list_need_credentials(anon):
    assert anon.post("/api/groups", {"name": "x"}, format="json").status_code == 401
    assert anon.get("/api/groups").status_code == 401


# --- discovery ----------------------------------------------------------------------


def test_discovery_lists_groups_newest_first_with_leader_and_member_count(alice):
    older = GroupFactory(name="Older", members=[UserFactory(), UserFactory()])
    newer = GroupFactory(name="Newer")

    response = alice.get("/api/groups")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [(g["id"], g["member_count"]) for g in body["results"]] == [
        (newer.pk, 1),
        (older.pk, 3),
    ]
    assert body["results"][1]["leader"] == {
        "id": older.leader.pk,
        "username": older.leader.username,
    }
    assert set(body["results"][0]) == {
        "id",
        "name",
        "description",
        "skills",
        "leader",
        "member_count",
        "created_at",
    }


def test_discovery_searches_name_and_description_and_filters_by_skill(alice):
    GroupFactory(name="Pixel Crew", description="Illustration", skills=["Design"])
    GroupFactory(name="Backenders", description="APIs and pixel-perfect docs", skills=["python"])
    GroupFactory(name="Others", description="Nothing", skills=["designer"])

    def names(query):
        return sorted(g["name"] for g in alice.get(f"/api/groups?{query}").json()["results"])

    assert names("search=PIXEL") == ["Backenders", "Pixel Crew"]
    assert names("skill=design") == ["Pixel Crew"]
    assert names("skill=Python&search=pixel") == ["Backenders"]
    assert names("skill=go") == []
    assert names("search=&skill=") == ["Backenders", "Others", "Pixel Crew"]


def test_discovery_is_paginated(alice, settings):
    for number in range(25):
        GroupFactory(name=f"G{number}")

    first = alice.get("/api/groups").json()
    second = alice.get(first["next"]).json()

    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert len(second["results"]) == 5
    assert second["next"] is None


def test_discovery_costs_the_same_queries_for_2_and_10_groups(alice):
    def queries(total):
        while Group.objects.count() < total:
            GroupFactory(members=[UserFactory()])
        with CaptureQueriesContext(connection) as context:
            assert len(alice.get("/api/groups").json()["results"]) == total
        return len(context)

    assert queries(2) == queries(10)


# --- detail -------------------------------------------------------------------------


def test_any_signed_in_user_sees_a_group_with_its_members_and_roles(client_for, group):
    stranger = client_for(UserFactory())

    response = stranger.get(f"/api/groups/{group.pk}")

    assert response.status_code == 200
    assert response.json()["leader"]["username"] == "lead"
    assert member_rows(response) == [("lead", "leader"), ("mem", "member")]


def test_group_detail_404_and_401(alice, anon, group):
    assert alice.get("/api/groups/999999").status_code == 404
    assert alice.get("/api/groups/999999").json()["error"]["code"] == "not_found"
    assert anon.get(f"/api/groups/{group.pk}").status_code == 401


def test_group_detail_queries_do_not_grow_with_members(alice):
    small = GroupFactory(members=[UserFactory()])
    large = GroupFactory(members=[UserFactory() for _ in range(9)])

    def queries(group):
        with CaptureQueriesContext(connection) as context:
            alice.get(f"/api/groups/{group.pk}")
        return len(context)

    assert queries(small) == queries(large)


# --- members ------------------------------------------------------------------------


def test_leader_adds_a_member(client_for, leader, group):
    newcomer = UserFactory(username="newbie")

    response = client_for(leader).post(
        f"/api/groups/{group.pk}/members", {"username": "newbie"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["id"], body["username"], body["role"]) == (newcomer.pk, "newbie", "member")
    assert list(
        GroupMembership.objects.filter(group=group).order_by("id").values_list("user__username")
    ) == [("lead",), ("mem",), ("newbie",)]


def test_only_the_leader_adds_members(client_for, member, group):
    UserFactory(username="newbie")
    for caller in (member, UserFactory()):
        response = client_for(caller).post(
            f"/api/groups/{group.pk}/members", {"username": "newbie"}, format="json"
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert GroupMembership.objects.filter(group=group).count() == 2


def test_adding_members_refusals(client_for, anon, leader, group):
    client = client_for(leader)
    url = f"/api/groups/{group.pk}/members/"

    unknown = client.post(url, {"username": "ghost"}, format="json")
    assert unknown.status_code == 400
    assert list(unknown.json()["error"]["fields"]) == ["username"]

    again = client.post(url, {"username": "mem"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_member"

    assert client.post("/api/groups/999999/members", {"username": "mem"}).status_code == 404
    assert anon.post(url, {"username": "mem"}, format="json").status_code == 401


# --- leave --------------------------------------------------------------------------


def test_a_member_leaves_and_member_left_is_sent_inside_the_transaction(client_for, member, group):
    received = []

    def receiver(sender, group, user, **kwargs):
        still_member = GroupMembership.objects.filter(group=group, user=user).exists()
        received.append((group.pk, user.pk, still_member, connection.in_atomic_block))

    member_left.connect(receiver)
    try:
        response = client_for(member).post(f"/api/groups/{group.pk}/leave")
    finally:
        member_left.disconnect(receiver)

    assert response.status_code == 200
    assert member_rows(response) == [("lead", "leader")]
    assert received == [(group.pk, member.pk, False, True)]


def test_a_failing_member_left_receiver_rolls_the_leave_back(client_for, member, group):
    def receiver(**kwargs):
        raise RuntimeError("receiver failed")

    member_left.connect(receiver)
    try:
        with pytest.raises(RuntimeError):
            client_for(member).post(f"/api/groups/{group.pk}/leave")
    finally:
        member_left.disconnect(receiver)

    assert GroupMembership.objects.filter(group=group, user=member).exists()


def test_leave_refusals(client_for, anon, leader, group):
    leader_leaves = client_for(leader).post(f"/api/groups/{group.pk}/leave/")
    assert leader_leaves.status_code == 409
    assert leader_leaves.json()["error"]["code"] == "leader_cannot_leave"

    stranger_leaves = client_for(UserFactory()).post(f"/api/groups/{group.pk}/leave")
    assert stranger_leaves.status_code == 409
    assert stranger_leaves.json()["error"]["code"] == "not_a_member"

    assert anon.post(f"/api/groups/{group.pk}/leave").status_code == 401
    assert client_for(leader).post("/api/groups/999999/leave").status_code == 404
    assert GroupMembership.objects.filter(group=group).count() == 2


# --- leadership ---------------------------------------------------------------------


def test_leader_transfers_leadership_to_a_member_and_can_then_leave(
    client_for, leader, member, group
):
    response = client_for(leader).post(
        f"/api/groups/{group.pk}/transfer-leadership", {"user_id": member.pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["leader"] == {"id": member.pk, "username": "mem"}
    assert member_rows(response) == [("lead", "member"), ("mem", "leader")]
    group.refresh_from_db()
    assert group.leader == member

    assert client_for(leader).post(f"/api/groups/{group.pk}/leave").status_code == 200
    assert client_for(member).post(f"/api/groups/{group.pk}/leave").status_code == 409


def test_transfer_leadership_refusals(client_for, anon, leader, member, group):
    url = f"/api/groups/{group.pk}/transfer-leadership/"
    outsider = UserFactory()

    not_member = client_for(leader).post(url, {"user_id": outsider.pk}, format="json")
    assert not_member.status_code == 400
    assert not_member.json()["error"]["code"] == "new_leader_not_member"

    missing = client_for(leader).post(url, {}, format="json")
    assert missing.status_code == 400
    assert list(missing.json()["error"]["fields"]) == ["user_id"]

    by_member = client_for(member).post(url, {"user_id": member.pk}, format="json")
    assert by_member.status_code == 403
    assert by_member.json()["error"]["code"] == "permission_denied"

    assert anon.post(url, {"user_id": member.pk}, format="json").status_code == 401
    group.refresh_from_db()
    assert group.leader == leader


def test_transfer_to_oneself_changes_nothing(client_for, leader, group):
    response = client_for(leader).post(
        f"/api/groups/{group.pk}/transfer-leadership", {"user_id": leader.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["leader"]["id"] == leader.pk


# --- delete -------------------------------------------------------------------------


def test_leader_deletes_the_group_with_its_conversations(client_for, leader, group):
    conversation = ConversationFactory(group=group)
    Message.objects.create(conversation=conversation, sender=leader, body="hi")

    response = client_for(leader).delete(f"/api/groups/{group.pk}")

    assert response.status_code == 204
    assert not Group.objects.filter(pk=group.pk).exists()
    assert not GroupWallet.objects.filter(group_id=group.pk).exists()
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


def test_only_the_leader_deletes(client_for, anon, member, group):
    for caller in (member, UserFactory()):
        response = client_for(caller).delete(f"/api/groups/{group.pk}/")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert anon.delete(f"/api/groups/{group.pk}").status_code == 401
    assert client_for(member).delete("/api/groups/999999").status_code == 404
    assert Group.objects.filter(pk=group.pk).exists()


def test_delete_is_refused_while_escrow_is_held_then_because_of_ledger_history(
    client_for, leader, group, ledger_clean
):
    buyer = UserFactory()
    fund(buyer, "100.00")
    hold = escrow_services.escrow_lock(
        buyer=buyer, group=group, amount=usd("60.00"), idempotency_key="lock"
    )

    held = client_for(leader).delete(f"/api/groups/{group.pk}")
    assert held.status_code == 409
    assert held.json()["error"]["code"] == "escrow_active"

    escrow_services.escrow_refund(hold=hold, idempotency_key="refund")
    history = client_for(leader).delete(f"/api/groups/{group.pk}")
    assert history.status_code == 409
    assert history.json()["error"]["code"] == "group_has_history"

    assert Group.objects.filter(pk=group.pk).exists()
    ledger_clean()


# --- group wallet -------------------------------------------------------------------


def test_members_read_the_group_wallet(client_for, leader, member, group, ledger_clean):
    buyer = UserFactory()
    fund(buyer, "100.00")
    escrow_services.escrow_lock(
        buyer=buyer, group=group, amount=usd("60.00"), idempotency_key="lock"
    )

    for caller in (leader, member):
        response = client_for(caller).get(f"/api/groups/{group.pk}/wallet")
        assert response.status_code == 200
        assert response.json() == {
            "currency": "USD",
            "available_balance": "0.00",
            "escrow_balance": "60.00",
            "total_escrow_received": "0.00",
        }
    ledger_clean()


def test_group_wallet_is_hidden_from_strangers(client_for, anon, group):
    stranger = client_for(UserFactory())

    assert stranger.get(f"/api/groups/{group.pk}/wallet").status_code == 404
    assert stranger.get(f"/api/groups/{group.pk}/wallet").json()["error"]["code"] == "not_found"
    assert stranger.get("/api/groups/999999/wallet/").status_code == 404
    assert anon.get(f"/api/groups/{group.pk}/wallet").status_code == 401


def test_group_without_a_wallet_yet_reads_as_empty(client_for, leader):
    group = GroupFactory(leader=leader)

    response = client_for(leader).get(f"/api/groups/{group.pk}/wallet")

    assert response.json()["escrow_balance"] == "0.00"
    assert not GroupWallet.objects.filter(group=group).exists()
