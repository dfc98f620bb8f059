"""The bell in the header (unread count, live through /ws/notifications/) and the list."""

import pytest

from marketplace.core.models import Notification
from marketplace.core.notifications import notify
from tests.factories import UserFactory

from .conftest import csrf_post, flashes, text

pytestmark = pytest.mark.django_db


def test_the_bell_counts_unread_notifications_and_listens_live(as_user):
    user = UserFactory()
    client = as_user(user)
    html = client.get("/groups/").content.decode()
    assert 'aria-label="Notifications: 0 unread"' in html
    assert 'data-notifications-socket="/ws/notifications/"' in html
    assert 'hx-trigger="mp-notification from:body"' in html
    notify(user=user, kind="proposal_received", title="New proposal", body="For 10.00 USD")
    notify(user=user, kind="task_assigned", title="A task for you", body="", link="/wallet/")
    notify(user=UserFactory(), kind="task_assigned", title="Someone else's", body="")
    bell = client.get("/notifications/bell/")
    assert bell.content.decode().startswith('<a id="bell" class="bell bell-unread"')
    assert 'aria-label="Notifications: 2 unread"' in bell.content.decode()


def test_the_list_and_mark_all_read(as_user):
    user = UserFactory()
    notify(user=user, kind="proposal_received", title="New proposal", body="Shop, 10.00 USD")
    notify(user=user, kind="task_assigned", title="A task for you", body="", link="/wallet/")
    client = as_user(user)
    page = client.get("/notifications/")
    body = text(page)
    assert body.index("A task for you new") < body.index("New proposal new Shop, 10.00 USD")
    assert '<a href="/wallet/">A task for you</a>' in page.content.decode()
    assert "Someone" not in body
    response = csrf_post(client, "/notifications/read/")
    assert flashes(response) == ["2 notifications marked as read."]
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    assert 'aria-label="Notifications: 0 unread"' in client.get("/groups/").content.decode()
