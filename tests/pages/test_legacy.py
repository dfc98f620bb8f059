"""Legacy projects and orders: listed and creatable as before, marked legacy."""

import pytest

from legacy.models import Order, Project
from tests.factories import UserFactory

from .conftest import csrf_post, flashes, text

pytestmark = pytest.mark.django_db


def test_create_a_project_and_an_order(as_user):
    owner = UserFactory()
    client = as_user(owner)
    page = text(client.get("/legacy/projects/"))
    assert "Legacy projects legacy" in page
    assert "Projects and orders are the old way of working" in page
    assert "You have no legacy projects." in page
    response = csrf_post(
        client,
        "/legacy/projects/",
        {"title": "Old site", "description": "", "budget": "500.00", "currency": "USD"},
    )
    project = Project.objects.get()
    assert response["Location"] == f"/legacy/projects/{project.pk}/"
    assert flashes(response) == ["Legacy project “Old site” created."]
    assert (project.owner, project.budget.amount, project.is_legacy) == (owner, 500, True)
    response = csrf_post(client, f"/legacy/projects/{project.pk}/orders/", {"amount": "120.00"})
    order = Order.objects.get()
    assert flashes(response) == [f"Legacy order #{order.pk} placed for 120.00 USD."]
    page = text(client.get(f"/legacy/projects/{project.pk}/"))
    assert f"Order #{order.pk}: 120.00 USD · placed" in page
    assert "find a group" in page
    assert "Old site Budget 500.00 USD · open · 1 order" in text(client.get("/legacy/projects/"))


def test_refusals_and_someone_elses_project(as_user):
    owner = UserFactory()
    client = as_user(owner)
    response = csrf_post(
        client, "/legacy/projects/", {"title": "X", "budget": "1.234", "currency": "USD"}
    )
    assert flashes(response) == ["Amounts have at most two decimal places."]
    assert not Project.objects.exists()
    response = csrf_post(
        client, "/legacy/projects/", {"title": "X", "budget": "10.00", "currency": "USD"}
    )
    assert flashes(response) == ["Legacy project “X” created."]
    project = Project.objects.get()
    Project.objects.filter(pk=project.pk).update(status="closed")
    response = csrf_post(client, f"/legacy/projects/{project.pk}/orders/", {"amount": "1.00"})
    assert flashes(response) == ["The project is closed: it takes no orders."]
    stranger = as_user(UserFactory())
    assert stranger.get(f"/legacy/projects/{project.pk}/").status_code == 404
    assert (
        csrf_post(stranger, f"/legacy/projects/{project.pk}/orders/", {"amount": "1"}).status_code
        == 404
    )
