"""Shared pieces of the operations tests: the routes, staff users in each role, and an
admin client per user."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.db import connection

from tests.factories import UserFactory

ROLES = importlib.import_module("disputes.migrations.0003_staff_roles")


def role(name: str) -> Group:
    """The role's auth group as the data migration made it (made again after a
    transactional test flushed the tables)."""
    if not Group.objects.filter(name=name).exists():

        class Editor:
            pass

        editor = Editor()
        editor.connection = connection
        ROLES.create_roles(django_apps, editor)
    return Group.objects.get(name=name)


def staff_user(username: str, *roles: str):
    user = UserFactory(username=username, is_staff=True)
    for name in roles:
        user.groups.add(role(name))
    return user


@pytest.fixture
def finance(db):
    return staff_user("fiona-finance", "finance")


@pytest.fixture
def support(db):
    return staff_user("sam-support", "support")


@pytest.fixture
def plain_staff(db):
    return staff_user("pat-staff")


@pytest.fixture
def admin_client_for():
    """`admin_client_for(user)`: a Django test client signed in as the user."""
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
