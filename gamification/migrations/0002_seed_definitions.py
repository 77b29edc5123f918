"""Seed the seven achievement definitions of CONTRACT §11 and backfill progress rows.

The data is frozen here (not imported from app code) so this migration means the same
thing forever. Definitions already present (by `code`) are left as staff edited them.
"""

from django.db import migrations

DEFINITIONS = [
    # code, name, category, threshold, perk_type, perk_value, description
    ("tasks_5", "Task Starter", "tasks", 5, "max_tasks", 15,
     "Complete 5 tasks. Perk: room for 15 more active tasks."),
    ("tasks_25", "Task Master", "tasks", 25, "max_tasks", 25,
     "Complete 25 tasks. Perk: room for 25 more active tasks."),
    ("tasks_100", "Centurion", "tasks", 100, "max_tasks", 50,
     "Complete 100 tasks. Perk: room for 50 more active tasks."),
    ("streak_7", "Week Warrior", "streak", 7, "daily_credits", 2,
     "Complete at least one task every day for 7 days in a row. Perk: 2 extra daily AI credits on Pro."),
    ("streak_30", "Monthly Master", "streak", 30, "daily_credits", 5,
     "Complete at least one task every day for 30 days in a row. Perk: 5 extra daily AI credits on Pro."),
    ("focus_10", "Focus Initiate", "focus", 10, "max_notes", 5,
     "Complete 10 tasks after focusing on each for at least half its estimated duration. Perk: 5 more notes."),
    ("notes_10", "Note Taker", "notes", 10, "max_notes", 5,
     "Turn 10 notes into tasks. Perk: 5 more notes."),
]  # fmt: skip


def seed(apps, schema_editor):
    Definition = apps.get_model("gamification", "AchievementDefinition")
    for code, name, category, threshold, perk_type, perk_value, description in DEFINITIONS:
        Definition.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "category": category,
                "threshold": threshold,
                "perk_type": perk_type,
                "perk_value": perk_value,
                "active": True,
            },
        )
    User = apps.get_model("accounts", "User")
    Progress = apps.get_model("gamification", "UserProgress")
    missing = User.objects.filter(progress__isnull=True).values_list("pk", flat=True)
    Progress.objects.bulk_create([Progress(user_id=pk) for pk in missing.iterator()], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("gamification", "0001_initial"),
        ("accounts", "0002_refreshtoken"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
