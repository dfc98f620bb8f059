"""The deprecated project/order endpoints keep working, and say they are deprecated."""

import pytest

from legacy.models import Order, Project
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(username="olga")


def assert_deprecated(response):
    assert response["Deprecation"] == "@1795651200"  # 2026-11-26T00:00:00Z
    assert response["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert response["Link"] == '</api/proposals>; rel="successor-version"'


def test_create_a_project_and_list_it(client_for, owner):
    client = client_for(owner)
    response = client.post(
        "/api/projects/create", {"title": "Logo", "description": "A new logo", "budget": "300.50"}
    )
    assert response.status_code == 201, response.json()
    assert_deprecated(response)
    body = response.json()
    assert body["budget"] == "300.50"
    assert body["currency"] == "USD"
    assert body["is_legacy"] is True
    assert body["status"] == "open"

    listed = client.get("/api/projects/")
    assert listed.status_code == 200
    assert_deprecated(listed)
    assert [project["id"] for project in listed.json()["results"]] == [body["id"]]


def test_projects_are_listed_for_their_owner_only(client_for, owner):
    client_for(owner).post("/api/projects/create", {"title": "Mine", "budget": "10.00"})
    stranger = client_for(UserFactory())
    assert stranger.get("/api/projects").json()["count"] == 0


def test_an_order_on_an_own_project(client_for, owner):
    client = client_for(owner)
    project_id = client.post("/api/projects/create", {"title": "Site", "budget": "900.00"}).json()[
        "id"
    ]

    response = client.post("/api/orders/create", {"project_id": project_id, "amount": "450.25"})

    assert response.status_code == 201, response.json()
    assert_deprecated(response)
    order = Order.objects.get(pk=response.json()["id"])
    assert (order.project_id, order.buyer, str(order.amount.amount), order.is_legacy) == (
        project_id,
        owner,
        "450.25",
        True,
    )


def test_an_order_on_someone_elses_project_is_not_found(client_for, owner):
    project_id = (
        client_for(owner)
        .post("/api/projects/create", {"title": "X", "budget": "5.00"})
        .json()["id"]
    )
    response = client_for(UserFactory()).post(
        "/api/orders/create", {"project_id": project_id, "amount": "1.00"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert_deprecated(response)
    assert Order.objects.count() == 0


def test_an_order_on_a_closed_project_is_refused(client_for, owner):
    client = client_for(owner)
    project_id = client.post("/api/projects/create", {"title": "X", "budget": "5.00"}).json()["id"]
    Project.objects.filter(pk=project_id).update(status="closed")
    response = client.post("/api/orders/create", {"project_id": project_id, "amount": "1.00"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "project_closed"
    assert Order.objects.count() == 0


@pytest.mark.parametrize("budget", ["0", "-1", "1.001", "abc", "1000000.01"])
def test_bad_budgets_are_refused_with_the_field_named(client_for, owner, budget):
    response = client_for(owner).post(
        "/api/projects/create", {"title": "X", "budget": budget}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_amount"
    assert "budget" in error["fields"]
    assert Project.objects.count() == 0


def test_a_float_budget_is_refused(client_for, owner):
    response = client_for(owner).post(
        "/api/projects/create", {"title": "X", "budget": 12.5}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_amount"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/projects"), ("post", "/api/projects/create"), ("post", "/api/orders/create")],
)
def test_anonymous_callers_get_401(anon, method, path):
    response = getattr(anon, method)(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
