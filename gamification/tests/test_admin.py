"""Staff admin of achievements: definitions editable, progress and unlocks read-mostly (CONTRACT §11, §15)."""

from __future__ import annotations

import pytest
from django.test import Client

from gamification.models import AchievementDefinition, UserAchievement, UserProgress

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(make_user):
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def rows(user):
    definition = AchievementDefinition.objects.get(code="tasks_5")
    return {
        "achievementdefinition": definition,
        "userprogress": UserProgress.objects.create(user=user),
        "userachievement": UserAchievement.objects.create(user=user, definition=definition),
    }


@pytest.mark.parametrize("model", ["achievementdefinition", "userprogress", "userachievement"])
def test_admin_pages_render(staff_client, rows, user, model):
    base = f"/admin/gamification/{model}/"
    assert staff_client.get(base).status_code == 200
    assert staff_client.get(base, {"q": user.email}).status_code == 200
    assert staff_client.get(f"{base}{rows[model].pk}/change/").status_code == 200


def test_staff_edit_a_definition_and_the_next_completion_uses_it(staff_client, user):
    definition = AchievementDefinition.objects.get(code="tasks_25")
    response = staff_client.post(
        f"/admin/gamification/achievementdefinition/{definition.pk}/change/",
        {
            "code": "renamed",  # read-only once created: ignored
            "name": "Task Master",
            "description": "Edited.",
            "category": "tasks",
            "threshold": 1,
            "perk_type": "max_notes",
            "perk_value": 3,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content
    definition.refresh_from_db()
    assert (definition.code, definition.threshold, definition.perk_type) == ("tasks_25", 1, "max_notes")


def test_staff_add_a_definition(staff_client):
    response = staff_client.post(
        "/admin/gamification/achievementdefinition/add/",
        {"code": "tasks_1000", "name": "Legend", "description": "", "category": "tasks", "threshold": 1000},
    )
    assert response.status_code == 302, response.content
    created = AchievementDefinition.objects.get(code="tasks_1000")
    assert created.perk_type is None and created.active is False  # unchecked box


def test_progress_cannot_be_added_or_deleted(staff_client, rows):
    assert staff_client.get("/admin/gamification/userprogress/add/").status_code == 403
    progress: UserProgress = rows["userprogress"]
    assert staff_client.get(f"/admin/gamification/userprogress/{progress.pk}/delete/").status_code == 403


def test_unlocked_definition_cannot_be_deleted(staff_client, rows):
    definition = rows["achievementdefinition"]
    staff_client.post(f"/admin/gamification/achievementdefinition/{definition.pk}/delete/", {"post": "yes"})
    assert AchievementDefinition.objects.filter(pk=definition.pk).exists()
