"""Staff views of notifications and push subscriptions (CONTRACT §15)."""

import pytest

from notifications.models import PushSubscription
from notifications.services import notification_create

pytestmark = pytest.mark.django_db


def test_admin_lists_notifications_and_push_subscriptions(admin_client, user):
    notification_create(user=user, type="system", title="Hello")
    subscription = PushSubscription.objects.create(
        user=user, endpoint="https://push.example.com/wpush/v2/secret-path", p256dh="p", auth="a"
    )
    for url in ("/admin/notifications/notification/", "/admin/notifications/pushsubscription/"):
        assert admin_client.get(url).status_code == 200
        assert admin_client.get(url, {"q": user.email}).status_code == 200
    listing = admin_client.get("/admin/notifications/pushsubscription/").content.decode()
    assert "https://push.example.com" in listing and "secret-path" not in listing
    detail = admin_client.get(f"/admin/notifications/pushsubscription/{subscription.pk}/change/")
    assert detail.status_code == 200 and b"id_p256dh" not in detail.content
    assert admin_client.get("/admin/notifications/pushsubscription/add/").status_code == 403
