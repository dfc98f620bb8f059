"""`POST /api/legacy/projects/{id}/continue` (CONTRACT.md, "Additions"): the owner moves an
old project into a conversation with a group; its terms, to the cent, open the chat."""

import pytest
from djmoney.money import Money

from legacy.models import Project
from legacy.services import project_create
from marketplace.core.events import conversation_stream, user_stream
from marketplace.core.models import Conversation, Message, Notification
from tests.factories import ConversationFactory, GroupFactory, UserFactory
from tests.streams import listen

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(username="olga")


@pytest.fixture
def group():
    return GroupFactory(name="Data Wranglers", leader=UserFactory(username="omar"))


@pytest.fixture
def project(owner):
    return project_create(
        owner=owner,
        title="Recipe archive",
        description="Type up 200 recipes.",
        budget=Money("480.05", "USD"),
    )


def continue_url(project) -> str:
    return f"/api/legacy/projects/{project.pk}/continue"


def test_the_owner_continues_a_project_with_a_group(
    client_for, owner, group, project, ledger_clean
):
    response = client_for(owner).post(continue_url(project), {"group_id": group.pk}, format="json")

    assert response.status_code == 201, response.json()
    conversation = Conversation.objects.get(pk=response.json()["conversation_id"])
    assert (conversation.product_owner, conversation.group) == (owner, group)
    message = Message.objects.get(conversation=conversation)
    assert message.sender is None
    assert message.metadata == {
        "type": "legacy_project",
        "legacy_project_id": project.pk,
        "title": "Recipe archive",
        "description": "Type up 200 recipes.",
        "budget": "480.05",
        "currency": "USD",
    }
    assert message.body == (
        "Continued from the legacy project “Recipe archive”, budget 480.05 USD.\n"
        "Type up 200 recipes."
    )
    project.refresh_from_db()
    assert project.status == "continued"
    assert project.continued_conversation == conversation
    assert project.continued_at is not None
    notification = Notification.objects.get(user=group.leader)
    assert notification.kind == "legacy_project_continued"
    assert notification.link == f"/conversations/{conversation.pk}/"
    assert notification.data == {
        "conversation_id": conversation.pk,
        "legacy_project_id": project.pk,
    }
    assert "480.05 USD" in notification.body
    ledger_clean()  # continuing moves no money


def test_an_existing_conversation_is_reused(client_for, owner, group, project):
    existing = ConversationFactory(product_owner=owner, group=group)

    response = client_for(owner).post(continue_url(project), {"group_id": group.pk}, format="json")

    assert response.status_code == 201
    assert response.json() == {"conversation_id": existing.pk}
    assert Conversation.objects.count() == 1


def test_a_second_call_is_already_continued(client_for, owner, group, project):
    client = client_for(owner)
    first = client.post(continue_url(project), {"group_id": group.pk}, format="json")
    other_group = GroupFactory()

    second = client.post(continue_url(project), {"group_id": other_group.pk}, format="json")

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_continued"
    assert Message.objects.count() == 1
    assert Notification.objects.count() == 1
    assert not Conversation.objects.filter(group=other_group).exists()


@pytest.mark.parametrize("who", ["stranger", "leader"])
def test_anyone_but_the_owner_gets_404(client_for, group, project, who):
    caller = group.leader if who == "leader" else UserFactory()

    response = client_for(caller).post(continue_url(project), {"group_id": group.pk}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    project.refresh_from_db()
    assert project.status == "open"
    assert not Conversation.objects.exists()


def test_an_unknown_group_is_404(client_for, owner, project):
    response = client_for(owner).post(continue_url(project), {"group_id": 999999}, format="json")

    assert response.status_code == 404
    assert Project.objects.get(pk=project.pk).status == "open"


def test_an_own_group_is_refused(client_for, owner, project):
    own = GroupFactory(leader=owner)

    response = client_for(owner).post(continue_url(project), {"group_id": own.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "own_group"
    assert Project.objects.get(pk=project.pk).status == "open"
    assert not Notification.objects.exists()


def test_a_missing_group_id_is_invalid(client_for, owner, project):
    response = client_for(owner).post(continue_url(project), {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "group_id" in response.json()["error"]["fields"]


def test_anonymous_is_401(anon, group, project):
    response = anon.post(continue_url(project), {"group_id": group.pk}, format="json")
    assert response.status_code == 401


def test_the_endpoint_is_not_deprecated(client_for, owner, group, project):
    response = client_for(owner).post(continue_url(project), {"group_id": group.pk}, format="json")
    assert "Deprecation" not in response
    assert "Sunset" not in response


def test_the_project_list_says_where_it_went(client_for, owner, group, project):
    client = client_for(owner)
    conversation_id = client.post(
        continue_url(project), {"group_id": group.pk}, format="json"
    ).json()["conversation_id"]

    listed = client.get("/api/projects").json()["results"]

    assert [(p["id"], p["status"], p["continued_conversation_id"]) for p in listed] == [
        (project.pk, "continued", conversation_id)
    ]


def test_the_chat_and_the_leader_hear_it_live(
    client_for, owner, group, project, django_capture_on_commit_callbacks
):
    conversation = ConversationFactory(product_owner=owner, group=group)
    drain = listen(conversation_stream(conversation.pk), user_stream(group.leader_id))

    with django_capture_on_commit_callbacks(execute=True):
        client_for(owner).post(continue_url(project), {"group_id": group.pk}, format="json")

    frames = drain()
    types = sorted(frame["type"] for frame in frames)
    assert types == ["message.created", "notification.created"], frames
    message = next(f for f in frames if f["type"] == "message.created")["message"]
    assert message["metadata"]["legacy_project_id"] == project.pk


def test_query_budget(client_for, owner, group, project, django_assert_max_num_queries):
    client = client_for(owner)
    with django_assert_max_num_queries(19):
        response = client.post(continue_url(project), {"group_id": group.pk}, format="json")
    assert response.status_code == 201
