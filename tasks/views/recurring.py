"""HTTP surface of recurring templates (CONTRACT §5).

Each handler validates input with a serializer and calls one service or selector;
errors are raised by those, never built here. Error responses are added to the schema
by perpetua.api.schema; the ones with a specific meaning here are described.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.exceptions import unknown_fields_error
from perpetua.api.responses import envelope
from perpetua.api.serializers import DeletedEnvelopeSerializer, deleted_data
from perpetua.api.views import ApiGenericViewSet
from tasks.models import TaskTemplate
from tasks.selectors import recurring as template_selectors
from tasks.serializers.recurring import (
    TemplateCreateSerializer,
    TemplateEnvelopeSerializer,
    TemplateSerializer,
    TemplateUpdateSerializer,
)
from tasks.serializers.tasks import TaskEnvelopeSerializer, TaskSerializer
from tasks.services import recurring as template_services

_template = TemplateSerializer()
_task = TaskSerializer()

_BAD_RRULE = OpenApiResponse(
    description="VALIDATION_ERROR: invalid field; an invalid RRULE carries the parser's message."
)


@extend_schema_view(
    list=extend_schema(
        summary="List recurring templates",
        parameters=[OpenApiParameter("active", OpenApiTypes.BOOL, description="Only active / inactive templates.")],
        responses={200: TemplateSerializer(many=True)},
    ),
    create=extend_schema(
        summary="Create a recurring template",
        request=TemplateCreateSerializer,
        responses={201: TemplateEnvelopeSerializer, 400: _BAD_RRULE},
    ),
    retrieve=extend_schema(summary="Recurring template detail", responses={200: TemplateEnvelopeSerializer}),
    partial_update=extend_schema(
        summary="Update a recurring template (a new rrule/dtstart recomputes next_due)",
        request=TemplateUpdateSerializer,
        responses={200: TemplateEnvelopeSerializer, 400: _BAD_RRULE},
    ),
    destroy=extend_schema(
        summary="Delete a template (its instances stay, template_id becomes null)",
        responses={200: DeletedEnvelopeSerializer},
    ),
)
class TemplateViewSet(ApiGenericViewSet):
    queryset = TaskTemplate.objects.none()
    serializer_class = TemplateSerializer
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        queryset = template_selectors.template_list(user=request.user, filters=request.query_params)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([_template.to_representation(t) for t in page])

    def create(self, request: Request) -> Response:
        serializer = TemplateCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = template_services.template_create(user=request.user, **serializer.validated_data)
        return envelope(_template.to_representation(template), status=201)

    def retrieve(self, request: Request, pk: Any) -> Response:
        template = template_selectors.template_get_for_user(user=request.user, template_id=pk)
        return envelope(_template.to_representation(template))

    def partial_update(self, request: Request, pk: Any) -> Response:
        serializer = TemplateUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = template_services.template_update(
            user=request.user, template_id=pk, data=dict(serializer.validated_data)
        )
        return envelope(_template.to_representation(template))

    def destroy(self, request: Request, pk: Any) -> Response:
        template_services.template_delete(user=request.user, template_id=pk)
        return envelope(deleted_data(pk))

    @extend_schema(
        summary="Create the template's next instance now",
        request=None,
        responses={
            201: TaskEnvelopeSerializer,
            409: OpenApiResponse(
                description="CONFLICT: an open instance exists or the template is inactive; "
                "LIMIT_EXCEEDED: active-task limit reached."
            ),
        },
    )
    def generate(self, request: Request, pk: Any) -> Response:
        if request.data:
            raise unknown_fields_error(request.data)
        task = template_services.template_generate(user=request.user, template_id=pk)
        return envelope(_task.to_representation(task), status=201)
