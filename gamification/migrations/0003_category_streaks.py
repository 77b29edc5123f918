"""Category `streak` becomes `streaks`, the value the SPA's schema accepts (CONTRACT §11)."""

from django.db import migrations, models


def to_streaks(apps, schema_editor):
    apps.get_model("gamification", "AchievementDefinition").objects.filter(category="streak").update(
        category="streaks"
    )


def to_streak(apps, schema_editor):
    apps.get_model("gamification", "AchievementDefinition").objects.filter(category="streaks").update(
        category="streak"
    )


class Migration(migrations.Migration):
    dependencies = [("gamification", "0002_seed_definitions")]

    operations = [
        migrations.AlterField(
            model_name="achievementdefinition",
            name="category",
            field=models.CharField(
                choices=[
                    ("tasks", "Tasks completed (lifetime)"),
                    ("streaks", "Current streak (UTC days)"),
                    ("focus", "Focus completions"),
                    ("notes", "Notes converted to tasks"),
                ],
                max_length=8,
            ),
        ),
        migrations.RunPython(to_streaks, to_streak),
    ]
