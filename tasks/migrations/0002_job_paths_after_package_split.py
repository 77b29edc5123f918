"""Queued jobs name their function by dotted path: point the ones enqueued before the
tasks app became packages at the functions' new modules, so none fails to import."""

from django.db import migrations

MOVED = {
    "tasks.reminders.reminders_fire_due_job": "tasks.services.reminders.reminders_fire_due_job",
    "tasks.recurring.template_generate_next_job": "tasks.services.recurring.template_generate_next_job",
}


def forwards(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in MOVED.items():
        DBTaskResult.objects.filter(task_path=old).update(task_path=new)


def backwards(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in MOVED.items():
        DBTaskResult.objects.filter(task_path=new).update(task_path=old)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0001_initial"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
