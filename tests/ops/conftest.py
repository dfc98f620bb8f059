"""Shared pieces of the operations tests: the routes, staff users in each role, and an
admin client per user."""

import pytest

from tests.factories import role, staff_user

__all__ = ["role", "staff_user"]


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
