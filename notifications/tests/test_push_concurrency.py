"""Concurrent registrations of one endpoint settle on one row (the unique endpoint decides)."""

import threading

import pytest
from django.db import connection

from notifications.models import PushSubscription
from notifications.push import push_subscription_register

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_registrations_of_one_endpoint_make_one_row(make_user, push_service):
    users = [make_user(), make_user()]
    keys = push_service.browser().subscription_json()["keys"]
    endpoint = push_service.browser().endpoint
    barrier = threading.Barrier(8)
    results: list = [None] * 8

    def register(i: int) -> None:
        try:
            barrier.wait()
            results[i] = push_subscription_register(user=users[i % 2], endpoint=endpoint, **keys)
        except Exception as exc:  # surfaced below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not [r for r in results if isinstance(r, Exception)], results
    row = PushSubscription.objects.get()
    assert row.endpoint == endpoint and row.user_id in {u.pk for u in users}
    assert len({subscription.pk for subscription, _ in results}) == 1
