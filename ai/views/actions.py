"""`POST /ai/confirm-action` (CONTRACT §8): executes one accepted suggestion. No provider
call, so a plain sync view (run on a thread by Django's ASGI handler)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from ai.models import ActionType
from ai.serializers.actions import (
    ACTION_SERIALIZERS,
    ConfirmActionRequestSerializer,
    ConfirmActionResponseSerializer,
)
from ai.services import actions
from ai.services.actions import ConfirmedAction
from ai.views.shared import NAMED_ROW_ERROR
from notes.serializers import NoteSerializer
from perpetua.api.exceptions import ValidationFailed
from perpetua.api.responses import envelope
from perpetua.api.views import ApiView
from tasks.serializers.subtasks import SubtaskSerializer
from tasks.serializers.tasks import TaskSerializer

_task, _subtask, _note = TaskSerializer(), SubtaskSerializer(), NoteSerializer()


def _action_data(action_type: str, raw: dict[str, Any]) -> dict[str, Any]:
    serializer = ACTION_SERIALIZERS[action_type](data=raw)
    if not serializer.is_valid():
        # Field names as the client wrote them: under `action_data`.
        details = [
            {"field": f"action_data.{name}", "message": str(errors[0]) if isinstance(errors, list) else str(errors)}
            for name, errors in serializer.errors.items()
        ]
        raise ValidationFailed(details=details)
    return dict(serializer.validated_data)


def _execute(*, user: Any, action_type: str, data: dict[str, Any]) -> ConfirmedAction:
    if action_type == ActionType.COMPLETE_TASK:
        return actions.ai_action_complete_task(user=user, task_id=data["task_id"], version=data.get("version"))
    if action_type == ActionType.UPDATE_TASK:
        task_id, version = data.pop("task_id"), data.pop("version", None)
        return actions.ai_action_update_task(user=user, task_id=task_id, version=version, data=data)
    if action_type == ActionType.CREATE_SUBTASKS:
        titles = [item["title"] for item in data["subtasks"]]
        return actions.ai_action_create_subtasks(user=user, task_id=data["task_id"], titles=titles)
    return actions.ai_action_create_task(user=user, **data)


class ConfirmActionView(ApiView):
    idempotency_required = True

    @extend_schema(
        operation_id="ai_confirm_action", summary="Execute an accepted AI suggestion, validated as its plain endpoint",
        request=ConfirmActionRequestSerializer, responses={200: ConfirmActionResponseSerializer, **NAMED_ROW_ERROR},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = ConfirmActionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action_type = serializer.validated_data["action_type"]
        data = _action_data(action_type, serializer.validated_data["action_data"])
        done = _execute(user=request.user, action_type=action_type, data=data)
        body: dict[str, Any] = {"action_type": action_type}
        if done.task is not None:
            body["task"] = _task.to_representation(done.task)
        if action_type == ActionType.CREATE_SUBTASKS:
            body["task_id"] = str(data["task_id"])
            body["subtasks"] = [_subtask.to_representation(s) for s in done.subtasks]
        if done.note is not None:
            body["note"] = _note.to_representation(done.note)
        return envelope(body, unlocked_achievements=done.unlocked_achievements)
