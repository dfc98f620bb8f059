import importlib

import factory
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup
from django.db import connection

from marketplace.core.models import Conversation, Group, GroupMembership


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class GroupFactory(factory.django.DjangoModelFactory):
    """A group whose leader is its first member. Pass `members=[...]` to add more, in
    order of joining."""

    class Meta:
        model = Group
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Group {n}")
    description = "We build things."
    skills = factory.LazyFunction(lambda: ["django", "design"])
    leader = factory.SubFactory(UserFactory)

    @factory.post_generation
    def members(group, create, extracted, **kwargs):
        if not create:
            return
        GroupMembership.objects.create(group=group, user=group.leader)
        for member in extracted or ():
            GroupMembership.objects.create(group=group, user=member)


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    product_owner = factory.SubFactory(UserFactory)
    group = factory.SubFactory(GroupFactory)


# The migrations that make the staff roles, each with the function that grants them.
_ROLE_GRANTS = [
    importlib.import_module("disputes.migrations.0003_staff_roles").create_roles,
    importlib.import_module("disputes.migrations.0004_support_views_users").grant,
]


def role(name: str) -> AuthGroup:
    """A staff role's auth group ("support", "finance") as the data migrations made it
    (made again after a transactional test flushed the tables)."""
    if not AuthGroup.objects.filter(name=name).exists():

        class Editor:
            pass

        editor = Editor()
        editor.connection = connection
        for grant in _ROLE_GRANTS:
            grant(django_apps, editor)
    return AuthGroup.objects.get(name=name)


def staff_user(username: str | None = None, *roles: str, **fields):
    """A staff user holding `roles`; with none, staff who see the admin and nothing more."""
    if username is not None:
        fields["username"] = username
    user = UserFactory(is_staff=True, **fields)
    for name in roles:
        user.groups.add(role(name))
    return user
