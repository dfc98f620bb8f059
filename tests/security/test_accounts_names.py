"""Usernames and group names: NFKC-normalised, refused when they mix scripts, and
refused when they look like an existing one (same skeleton) or are one in another case.
On the API, the signup page, the admin's user form and group creation (API and page)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from marketplace.core.models import Group
from marketplace.core.names import mixes_scripts, skeleton
from tests.conftest import token_client
from tests.factories import GroupFactory, UserFactory, staff_user

User = get_user_model()
STRONG = "correct-horse-battery"

FULLWIDTH_ALICE = "\uff21LICE"  # fullwidth A, then LICE
CYRILLIC_A_LICE = "\u0430lice"  # Cyrillic a, then Latin lice: mixed scripts
CAPITAL_I_ALICE = "aIice"  # a capital I where the l was
ALL_CYRILLIC_ACE = "\u0430\u0441\u0435"  # Cyrillic a, c, e: one script, looks like "ace"


# --- the rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("alice", CYRILLIC_A_LICE),
        ("alice", CAPITAL_I_ALICE),
        ("alice", "a1ice"),
        ("ace", ALL_CYRILLIC_ACE),
        ("Pixel Crew", "PixeI Crew"),
    ],
)
def test_look_alikes_share_a_skeleton(one, other):
    assert skeleton(one) == skeleton(other)


@pytest.mark.parametrize(("one", "other"), [("alice", "alicia"), ("bob", "rob"), ("ann", "anna")])
def test_different_names_keep_different_skeletons(one, other):
    assert skeleton(one) != skeleton(other)


@pytest.mark.parametrize(
    ("name", "mixed"),
    [
        (CYRILLIC_A_LICE, True),
        ("Team \u03b1lpha", True),  # Greek alpha inside Latin
        (ALL_CYRILLIC_ACE, False),
        ("Jos\u00e9 & co. 2", False),  # accents, digits and punctuation are fine
        ("\u6771\u4eac", False),  # one script, not Latin
    ],
)
def test_mixed_scripts(name, mixed):
    assert mixes_scripts(name) is mixed


# --- usernames -----------------------------------------------------------------------


def register(username: str):
    body = {"username": username, "password": STRONG, "email": "x@example.com"}
    return APIClient().post("/api/auth/register", body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("ALICE", "This username is taken."),
        (FULLWIDTH_ALICE, "This username is taken."),
        (CAPITAL_I_ALICE, "This username looks too much like one that is taken."),
        ("a1ice", "This username looks too much like one that is taken."),
        (CYRILLIC_A_LICE, "Use the letters of one alphabet only: this username mixes scripts."),
    ],
)
def test_the_api_refuses_a_username_like_an_existing_one(username, message):
    UserFactory(username="alice")

    response = register(username)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"]["username"] == [message]
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_a_whole_script_look_alike_is_refused_too():
    UserFactory(username="ace")

    response = register(ALL_CYRILLIC_ACE)

    assert response.status_code == 400
    assert "looks too much like" in response.json()["error"]["fields"]["username"][0]


@pytest.mark.django_db
def test_usernames_are_stored_nfkc_normalised_with_their_skeleton():
    response = register("\uff42\uff4f\uff42")  # fullwidth "bob"

    assert response.status_code == 201
    user = User.objects.get(pk=response.json()["id"])
    assert user.username == "bob"
    assert user.username_skeleton == skeleton("bob")
    # ...and the stored name then blocks its variants.
    assert register("BOB").status_code == 400


@pytest.mark.django_db
def test_renaming_keeps_the_skeleton_in_step():
    user = UserFactory(username="first")
    user.username = "second"
    user.save(update_fields=["username"])

    user.refresh_from_db()
    assert user.username_skeleton == skeleton("second")


@pytest.mark.django_db
def test_the_signup_page_refuses_a_look_alike():
    UserFactory(username="alice")

    response = Client().post(
        "/accounts/signup/",
        {
            "username": CAPITAL_I_ALICE,
            "email": "x@example.com",
            "password1": STRONG,
            "password2": STRONG,
        },
    )

    assert response.status_code == 200
    assert "This username looks too much like one that is taken." in response.content.decode()
    assert not User.objects.filter(username=CAPITAL_I_ALICE).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("username", [CYRILLIC_A_LICE, FULLWIDTH_ALICE, CAPITAL_I_ALICE])
def test_the_admin_user_form_refuses_a_look_alike(username):
    UserFactory(username="alice")
    admin = Client()
    admin.force_login(staff_user("root", is_superuser=True))

    response = admin.post(
        "/admin/marketplace/user/add/",
        {"username": username, "password1": STRONG, "password2": STRONG, "usable_password": "true"},
    )

    assert response.status_code == 200  # the form again, with the error
    assert "errorlist" in response.content.decode()
    assert User.objects.filter(username__iexact="alice").count() == 1
    assert not User.objects.filter(username=username).exists()


@pytest.mark.django_db
def test_the_admin_can_still_edit_a_user_keeping_their_name():
    user = UserFactory(username="alice")
    admin = Client()
    admin.force_login(staff_user("root", is_superuser=True))
    page = admin.get(f"/admin/marketplace/user/{user.pk}/change/")
    assert page.status_code == 200

    response = admin.post(
        f"/admin/marketplace/user/{user.pk}/change/",
        {
            "username": "alice",
            "first_name": "Alice",
            "last_name": "",
            "email": "alice@example.com",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "10:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    user.refresh_from_db()
    assert user.first_name == "Alice"


# --- group names ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["Pixel Crew", "PIXEL CREW", "Pixe\u04cf Crew", "\uff30ixel Crew", "PixeI Crew"]
)
def test_the_api_refuses_a_group_name_like_an_existing_one(name):
    GroupFactory(name="Pixel Crew")
    leader = UserFactory()

    response = token_client(leader).post("/api/groups", {"name": name}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "group_name_taken"
    assert "name" in response.json()["error"]["fields"]
    assert Group.objects.count() == 1


@pytest.mark.django_db
def test_a_new_group_name_is_accepted_and_stored_normalised():
    response = token_client(UserFactory()).post(
        "/api/groups", {"name": "\uff30ixel Crew"}, format="json"
    )

    assert response.status_code == 201
    group = Group.objects.get()
    assert group.name == "Pixel Crew"
    assert group.name_skeleton == skeleton("Pixel Crew")


@pytest.mark.django_db
def test_the_group_page_shows_the_refusal_on_the_form():
    GroupFactory(name="Pixel Crew")
    client = Client()
    client.force_login(UserFactory())

    response = client.post("/groups/mine/", {"name": "pixel crew", "description": ""})

    assert response.status_code == 200
    assert "This group name is taken." in response.content.decode()
    assert Group.objects.count() == 1
