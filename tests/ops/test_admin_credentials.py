"""No staff user reaches a credential through the admin (issue 10, item 15).

A staff user without a role could read the admin's API token out of the user changelist
with `?auth_token__key__startswith=…` (one character at a time, watching the row count).
Now the users are shown only to the roles that need them (superusers and support), no
admin answers a filter, search or ordering through a password or a token, and the
tokens are stored as digests that are no credential."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.admin.sites import site
from django.contrib.auth import get_user_model
from django.core import checks
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from knox.models import get_token_model

from marketplace.core.admin import CredentialGuardMixin, reaches_credentials
from tests.conftest import issue_token, token_client
from tests.factories import UserFactory, role, staff_user

pytestmark = pytest.mark.django_db
User = get_user_model()
AuthToken = get_token_model()
GRANTS = importlib.import_module("disputes.migrations.0004_support_views_users")
USERS = "/admin/marketplace/user/"
TOKENS = "/admin/knox/authtoken/"


def role_user(username: str, *roles: str):
    """A staff user in the roles, as the migrations (0003 and 0004) made them."""
    for name in roles:
        role(name)

    class Editor:
        connection = connection

    GRANTS.grant(django_apps, Editor())
    return staff_user(username, *roles)


@pytest.fixture
def victim():
    """The superuser whose API token the attacker is after."""
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    return user, issue_token(user)


@pytest.fixture
def support_viewer():
    return role_user("sam-support", "support")


@pytest.fixture
def finance_user():
    return role_user("fiona-finance", "finance")


@pytest.fixture
def no_role():
    return role_user("pat-staff")


def signed_in(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def credential_lookups(key: str, digest: str) -> list[str]:
    """Every way of asking the user changelist about a credential, first character known."""
    return [
        f"auth_token__key__startswith={key[0]}",  # DRF's old token (the reported attack)
        "password__startswith=md5",
        "password__startswith=pbkdf2",
        f"auth_token_set__token_key__startswith={key[0]}",
        f"auth_token_set__digest__startswith={digest[0]}",
        f"auth_token_set__pk__startswith={digest[0]}",
        f"auth_token_set={digest}",
        "auth_token_set__expiry__isnull=False",
        "groups__user__password__startswith=md5",
    ]


# --- (a) a staff user without a role gets nothing ----------------------------------------


def test_a_staff_user_without_a_role_gets_no_credential_from_the_user_changelist(victim, no_role):
    user, key = victim
    digest = AuthToken.objects.get(user=user).digest
    client = signed_in(no_role)

    for lookup in ["", *credential_lookups(key, digest)]:
        response = client.get(f"{USERS}?{lookup}")
        assert response.status_code == 403, lookup
        body = response.content.decode()
        assert "root" not in body
        assert key[:15] not in body and digest not in body


def test_a_staff_user_without_a_role_sees_no_tokens(victim, no_role):
    user, key = victim
    digest = AuthToken.objects.get(user=user).digest
    client = signed_in(no_role)

    for path in (
        TOKENS,
        f"{TOKENS}?token_key__startswith={key[0]}",
        f"{TOKENS}?digest__startswith={digest[0]}",
        f"{TOKENS}{digest}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert digest not in response.content.decode()
    index = client.get("/admin/").content.decode()
    assert TOKENS not in index and USERS not in index


@pytest.mark.parametrize("who", ["support", "superuser"])
def test_whoever_sees_the_users_gets_400_for_a_credential_lookup(victim, who):
    user, key = victim
    digest = AuthToken.objects.get(user=user).digest
    viewer = (
        role_user("sam-support", "support")
        if who == "support"
        else UserFactory(username="boss", is_staff=True, is_superuser=True)
    )
    client = signed_in(viewer)
    assert client.get(USERS).status_code == 200

    for lookup in credential_lookups(key, digest):
        response = client.get(f"{USERS}?{lookup}")
        assert response.status_code == 400, lookup  # DisallowedModelAdminLookup
        assert key[:15] not in response.content.decode()


def _paths_to_users(model, depth: int = 2, prefix: str = "") -> list[str]:
    """The relation paths from `model` to the user model, up to `depth` steps."""
    paths = []
    for field in model._meta.get_fields():
        related = field.related_model if field.is_relation else None
        if related is None:
            continue
        path = f"{prefix}{field.name}"
        if related is User:
            paths.append(path)
        elif depth > 1:
            paths += _paths_to_users(related, depth - 1, f"{path}__")
    return paths


def test_no_admin_answers_a_lookup_through_a_users_credentials(victim, no_role):
    """Generic: every registered admin, through every path to a user, refuses; the ones
    a staff user without a role may open answer 400, the others 403."""
    _, key = victim
    client = signed_in(no_role)
    request = RequestFactory().get("/admin/")
    request.user = no_role
    tried = 0
    for model, model_admin in site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        expected = 400 if model_admin.has_view_permission(request) else 403
        for path in _paths_to_users(model):
            for lookup in (
                f"{path}__password__startswith=md5",
                f"{path}__auth_token_set__token_key__startswith={key[0]}",
                f"{path}__auth_token__key__startswith={key[0]}",
            ):
                response = client.get(f"{url}?{lookup}")
                assert response.status_code == expected, (url, lookup)
                tried += 1
    assert tried > 30  # wallets, messages, groups, proposals, disputes, legacy orders...


def test_every_registered_admin_has_the_credential_guard():
    unguarded = [
        model._meta.label
        for model, model_admin in site._registry.items()
        if not isinstance(model_admin, CredentialGuardMixin)
    ]
    assert unguarded == []


@pytest.mark.parametrize(
    ("model", "path", "reaches"),
    [
        (User, "password", True),
        (User, "-password", True),
        (User, "^password", True),
        (User, "auth_token__key__startswith", True),
        (User, "auth_token_set", True),
        (User, "auth_token_set__created", True),
        (User, "pk__startswith", False),
        (User, "username__startswith", False),
        (User, "groups__name", False),
        (AuthToken, "digest", True),
        (AuthToken, "pk", True),
        (AuthToken, "token_key__startswith", True),
        (AuthToken, "user__password", True),
        (AuthToken, "user__username", False),
        (AuthToken, "expiry__lt", False),
    ],
)
def test_what_reaches_a_credential(model, path, reaches):
    assert reaches_credentials(model, path) is reaches


def test_an_admin_naming_a_credential_fails_the_check_and_drops_it():
    class Careless(CredentialGuardMixin, admin.ModelAdmin):
        search_fields = ("username", "=password")
        list_filter = ("auth_token_set__expiry",)
        ordering = ("-password", "username")

    careless = Careless(User, admin.AdminSite())
    errors = careless.check()

    assert {error.id for error in errors if error.level >= checks.ERROR} == {"marketplace.E001"}
    assert {error.msg for error in errors} >= {
        "search_fields reaches a credential through '=password'.",
        "list_filter reaches a credential through 'auth_token_set__expiry'.",
        "ordering reaches a credential through '-password'.",
    }
    request = RequestFactory().get("/")
    assert careless.get_search_fields(request) == ["username"]
    assert careless.get_ordering(request) == ["username"]


# --- (b) the users are for the roles that need them ----------------------------------------


def test_the_roles_that_see_the_users(victim, support_viewer, finance_user, no_role):
    assert support_viewer.has_perm("marketplace.view_user")
    assert not support_viewer.has_perm("marketplace.change_user")
    assert not finance_user.has_perm("marketplace.view_user")
    target, _ = victim
    change = f"{USERS}{target.pk}/change/"

    assert signed_in(support_viewer).get(USERS).status_code == 200
    assert signed_in(support_viewer).get(change).status_code == 200
    for staff in (finance_user, no_role):
        assert signed_in(staff).get(USERS).status_code == 403
        assert signed_in(staff).get(change).status_code == 403
        assert USERS not in signed_in(staff).get("/admin/").content.decode()
    # The rest of the marketplace stays open to every staff user (read-only).
    assert signed_in(no_role).get("/admin/marketplace/notification/").status_code == 200


def test_support_sees_a_user_without_the_password(victim, support_viewer):
    target, _ = victim

    body = signed_in(support_viewer).get(f"{USERS}{target.pk}/change/").content.decode()

    assert "root" in body
    assert "algorithm" not in body and "md5" not in body
    assert "../password/" not in body
    assert signed_in(support_viewer).get(f"{USERS}{target.pk}/password/").status_code == 403


def test_a_superuser_still_manages_users_and_their_passwords(victim):
    target, _ = victim
    boss = signed_in(UserFactory(username="boss", is_staff=True, is_superuser=True))

    body = boss.get(f"{USERS}{target.pk}/change/").content.decode()

    assert "algorithm" in body  # Django's masked summary, and the reset button
    assert boss.get(f"{USERS}{target.pk}/password/").status_code == 200


# --- tokens in the admin are digests, no credential ---------------------------------------


def test_the_token_admin_shows_no_key_and_makes_no_token(victim):
    target, key = victim
    token = AuthToken.objects.get(user=target)
    boss = signed_in(UserFactory(username="boss", is_staff=True, is_superuser=True))

    listing = boss.get(TOKENS)
    detail = boss.get(f"{TOKENS}{token.digest}/change/")

    assert listing.status_code == detail.status_code == 200
    for response in (listing, detail):
        assert key[:15] not in response.content.decode()
    assert boss.get(f"{TOKENS}add/").status_code == 403
    assert boss.get(f"{TOKENS}?token_key__startswith={key[0]}").status_code == 400
    assert boss.get(f"{TOKENS}?digest__startswith={token.digest[0]}").status_code == 400
    # The digest, in the admin's links, is not a credential.
    client = token_client(target)
    assert client.get("/api/me").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.digest}")
    assert client.get("/api/me").status_code == 401


def test_a_superuser_revokes_a_token_by_deleting_it(victim):
    target, key = victim
    token = AuthToken.objects.get(user=target)
    boss = signed_in(UserFactory(username="boss", is_staff=True, is_superuser=True))

    response = boss.post(f"{TOKENS}{token.digest}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not AuthToken.objects.filter(user=target).exists()
    client = token_client(UserFactory())
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/me").status_code == 401
