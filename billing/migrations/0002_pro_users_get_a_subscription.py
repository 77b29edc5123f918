"""Users made Pro before subscriptions existed (staff "Make Pro", `issue_token --pro`) get
the row the state machine needs: an active staff-granted subscription from now on, which
rolls on until revoked (what their Pro meant before)."""

import datetime as dt

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def forwards(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Subscription = apps.get_model("billing", "Subscription")
    now = timezone.now()
    end = now + dt.timedelta(days=settings.SUBSCRIPTION_PERIOD_DAYS)
    rows = [
        Subscription(user_id=user_id, status="active", comped=True, current_period_start=now, current_period_end=end)
        for user_id in User.objects.filter(tier="pro", subscription__isnull=True).values_list("pk", flat=True)
    ]
    Subscription.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("accounts", "0002_refreshtoken"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
