"""Reads of recurring templates (CONTRACT §5)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from perpetua.api.exceptions import Forbidden, NotFound
from perpetua.api.filters import filterset_apply
from tasks.filters import TemplateFilter
from tasks.models import Task, TaskTemplate


def template_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[TaskTemplate]:
    """`GET /templates?active=`: the user's templates, newest first (two queries per page)."""
    queryset = TaskTemplate.objects.filter(user=user).order_by("-created_at", "-id")
    return filterset_apply(TemplateFilter, data=filters, queryset=queryset).qs


def template_get_for_user(*, user: Any, template_id: uuid.UUID | str, for_update: bool = False) -> TaskTemplate:
    """The user's template, or NotFound (404) / Forbidden (403) (CONTRACT §0)."""
    queryset = TaskTemplate.objects.all()
    if for_update:
        queryset = queryset.select_for_update(no_key=True)
    template = queryset.filter(pk=template_id).first()
    if template is None:
        raise NotFound("Template not found.")
    if template.user_id != user.pk:
        raise Forbidden()
    template.user = user
    return template


def template_open_instances(*, template_id: Any) -> QuerySet[Task]:
    """A template's "open" instances: neither completed nor archived (CONTRACT §5)."""
    return Task.objects.filter(template_id=template_id, completed=False, archived=False)
