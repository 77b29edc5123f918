"""Notifications carry the reminder's `task_id` (CONTRACT §13).

Reminder notifications written before this field existed link their task only through
`action_url` (`/tasks/<id>`); their `task_id` is filled in from it.
"""

import uuid

from django.db import migrations, models

_PREFIX = "/tasks/"


def backfill(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    rows = Notification.objects.filter(type="reminder", task_id__isnull=True, action_url__startswith=_PREFIX)
    for pk, action_url in rows.values_list("pk", "action_url").iterator():
        try:
            task_id = uuid.UUID(action_url.removeprefix(_PREFIX).strip("/"))
        except ValueError:
            continue
        Notification.objects.filter(pk=pk).update(task_id=task_id)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_pushsubscription")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="task_id",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
