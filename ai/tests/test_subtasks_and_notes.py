"""POST /ai/generate-subtasks and POST /notes/{id}/convert (CONTRACT §7, §8): structured
output from the fake provider, capped and cleaned before it is offered."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from model_bakery import baker

from credits.models import CreditEntry
from notes.models import Note
from tasks.models import Subtask

pytestmark = pytest.mark.django_db

GENERATE = "/api/v1/ai/generate-subtasks"


def _convert(note_id) -> str:
    return f"/api/v1/notes/{note_id}/convert"


def test_generate_subtasks_is_capped_at_the_free_room_even_when_the_model_returns_nine(
    api, user, make_task, fake_llm, give_credits, ai_post, balance
):
    give_credits(user, 2)
    task = make_task(title="Move house")
    baker.make(Subtask, task=task, title="Pack books", order_index=0)  # free plan: 4 per task → room 3
    fake_llm.script({"json": {"subtasks": [{"title": f"Step {i}"} for i in range(9)]}})
    response = ai_post(api, GENERATE, {"task_id": str(task.pk)})
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "suggested_subtasks": [{"title": "Step 0"}, {"title": "Step 1"}, {"title": "Step 2"}],
            "credits_used": 1,
            "credits_remaining": 1,
            "ai_request_warning": False,
        }
    }
    assert balance(user) == 1
    assert Subtask.objects.filter(task=task).count() == 1  # suggestions only
    sent = fake_llm.requests[0]
    assert sent["response_format"]["type"] == "json_schema"  # structured output
    assert "Pack books" in sent["messages"][1]["content"] and "at most 3" in sent["messages"][0]["content"]


def test_generated_titles_are_trimmed_deduplicated_and_cut(api, user, make_task, fake_llm, give_credits, ai_post):
    give_credits(user, 1)
    task = make_task()
    ideas = ["  Call   the bank ", "call the bank", "", "x" * 300]
    fake_llm.script({"json": {"subtasks": [{"title": t} for t in ideas]}})
    titles = [
        s["title"] for s in ai_post(api, GENERATE, {"task_id": str(task.pk)}).json()["data"]["suggested_subtasks"]
    ]
    assert titles == ["Call the bank", "x" * 200]


def test_no_room_left_is_409_before_any_charge(api, user, make_task, fake_llm, give_credits, ai_post, balance):
    give_credits(user, 1)
    task = make_task()
    for i in range(4):
        baker.make(Subtask, task=task, title=f"s{i}", order_index=i)
    response = ai_post(api, GENERATE, {"task_id": str(task.pk)})
    assert response.status_code == 409 and response.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert balance(user) == 1 and fake_llm.requests == []


@pytest.mark.parametrize("answer", [{"json": "not json at all"}, {"json": {"subtasks": []}}, {"mode": "500"}])
def test_unusable_subtask_answers_are_503_and_refunded(
    answer, api, user, make_task, fake_llm, give_credits, ai_post, balance
):
    give_credits(user, 1)
    task = make_task()
    fake_llm.script(answer)
    response = ai_post(api, GENERATE, {"task_id": str(task.pk)})
    assert response.status_code == 503 and response.json()["error"]["code"] == "AI_SERVICE_UNAVAILABLE"
    assert balance(user) == 1
    assert CreditEntry.objects.filter(user=user, operation="refund").count() == 1


def test_generate_subtasks_for_a_missing_or_foreign_task(
    api, user, make_user, make_task, fake_llm, give_credits, ai_post
):
    give_credits(user, 1)
    missing = ai_post(api, GENERATE, {"task_id": str(uuid.uuid4())})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "TASK_NOT_FOUND"
    foreign = ai_post(api, GENERATE, {"task_id": str(make_task(owner=make_user()).pk)})
    assert foreign.status_code == 403
    assert fake_llm.requests == []


def test_generate_subtasks_counts_toward_the_per_task_counter(
    api, user, make_task, fake_llm, give_credits, ai_post, settings
):
    settings.AI_TASK_MAX_REQUESTS = 1
    give_credits(user, 3)
    task = make_task()
    fake_llm.default = {"json": {"subtasks": [{"title": "One"}]}}
    assert ai_post(api, GENERATE, {"task_id": str(task.pk)}).status_code == 200
    assert ai_post(api, GENERATE, {"task_id": str(task.pk)}).status_code == 429


def test_note_convert_suggests_a_task_for_one_credit(api, user, fake_llm, give_credits, ai_post, balance):
    give_credits(user, 1)
    note = baker.make(Note, user=user, content="Call the plumber about the leak, urgent")
    due = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    fake_llm.script(
        {"json": {"title": "  Call the plumber ", "description": "About the leak", "priority": "high",
                  "due_date": due.isoformat()}}
    )  # fmt: skip
    response = ai_post(api, _convert(note.pk))
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "suggested_task": {
                "title": "Call the plumber",
                "description": "About the leak",
                "priority": "high",
                "due_date": due.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            },
            "credits_used": 1,
            "credits_remaining": 0,
        }
    }
    assert balance(user) == 0
    assert "Call the plumber about the leak" in fake_llm.requests[0]["messages"][1]["content"]
    note.refresh_from_db()
    assert note.archived is False  # only a suggestion


@pytest.mark.parametrize("due_date", ["2001-01-01T00:00:00+00:00", "next tuesday", "2099-01-01T00:00:00Z", None])
def test_note_convert_drops_a_due_date_outside_the_window(due_date, api, user, fake_llm, give_credits, ai_post):
    give_credits(user, 1)
    note = baker.make(Note, user=user, content="Someday")
    fake_llm.script({"json": {"title": "Someday", "description": "", "priority": "low", "due_date": due_date}})
    assert ai_post(api, _convert(note.pk)).json()["data"]["suggested_task"]["due_date"] is None


def test_note_convert_of_another_users_note_is_403_and_a_blank_title_is_refunded(
    api, user, make_user, fake_llm, give_credits, ai_post, balance
):
    give_credits(user, 1)
    foreign = baker.make(Note, user=make_user(), content="theirs")
    assert ai_post(api, _convert(foreign.pk)).status_code == 403
    assert fake_llm.requests == []
    note = baker.make(Note, user=user, content="mine")
    fake_llm.script({"json": {"title": "   ", "description": "", "priority": "low", "due_date": None}})
    assert ai_post(api, _convert(note.pk)).status_code == 503
    assert balance(user) == 1
