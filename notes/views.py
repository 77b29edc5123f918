"""HTTP surface of notes (CONTRACT §7): each handler validates, calls one service or selector."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from notes import selectors, services
from notes.filters import ORDERING_FIELDS
from notes.models import Note, TranscriptionStatus
from notes.serializers import (
    NoteCreateSerializer,
    NoteDeletedResponseSerializer,
    NoteEnvelopeSerializer,
    NoteSerializer,
    NoteUpdateSerializer,
    note_data,
)
from perpetua.api.responses import envelope
from perpetua.api.schema import error_response
from perpetua.api.serializers import format_datetime
from perpetua.api.views import ApiGenericViewSet

_BOOL = OpenApiTypes.BOOL
_LIST_PARAMETERS = [
    OpenApiParameter("archived", _BOOL, description="Absent: both; `true`/`false`: only archived / not archived."),
    OpenApiParameter("has_voice", _BOOL, description="Only notes with (`true`) or without (`false`) a recording."),
    OpenApiParameter("transcription_status", str, enum=TranscriptionStatus.values),
    OpenApiParameter("search", str, description="Case-insensitive substring of the content."),
    OpenApiParameter(
        "ordering", str,
        description=f"Comma-separated of {', '.join(ORDERING_FIELDS)}; `-` prefix descends. Default `-created_at`.",
    ),
]  # fmt: skip
_E400 = error_response("VALIDATION_ERROR: invalid body or query (field errors in `details`).")
_E403 = error_response("FORBIDDEN: another user's note / TIER_REQUIRED: voice fields are Pro only.")
_E404 = error_response("NOT_FOUND: no such note.")
_E409 = error_response("LIMIT_EXCEEDED: the notes limit of your plan is reached.")
_WRITE_RESPONSES = {200: NoteEnvelopeSerializer, 400: _E400, 403: _E403, 404: _E404, 409: _E409}


@extend_schema_view(
    list=extend_schema(summary="List notes", parameters=_LIST_PARAMETERS,
                       responses={200: NoteSerializer(many=True), 400: _E400}),
    create=extend_schema(summary="Create a note", request=NoteCreateSerializer,
                         responses={201: NoteEnvelopeSerializer, 400: _E400, 403: _E403, 409: _E409}),
    retrieve=extend_schema(summary="A note", responses={200: NoteEnvelopeSerializer, 403: _E403, 404: _E404}),
    partial_update=extend_schema(summary="Edit, archive or unarchive a note", request=NoteUpdateSerializer,
                                 responses=_WRITE_RESPONSES),
    update=extend_schema(summary="Alias of PATCH (partial update)", request=NoteUpdateSerializer,
                         responses=_WRITE_RESPONSES),
    destroy=extend_schema(summary="Delete a note into a recoverable tombstone",
                          responses={200: NoteDeletedResponseSerializer, 403: _E403, 404: _E404}),
)  # fmt: skip
class NoteViewSet(ApiGenericViewSet):
    queryset = Note.objects.none()  # schema introspection only; reads go through selectors
    serializer_class = NoteSerializer
    filter_backends: list[Any] = []  # the selector applies notes.filters.NoteFilter itself

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.note_list(user=request.user, filters=request.query_params))
        return self.get_paginated_response([note_data(n) for n in page])

    def create(self, request: Request) -> Response:
        serializer = NoteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.note_create(user=request.user, **serializer.validated_data)
        return envelope(note_data(note), status=201)

    def retrieve(self, request: Request, pk: Any) -> Response:
        return envelope(note_data(selectors.note_get_for_user(user=request.user, note_id=pk)))

    def partial_update(self, request: Request, pk: Any) -> Response:
        serializer = NoteUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.note_update(user=request.user, note_id=pk, data=dict(serializer.validated_data))
        return envelope(note_data(note))

    def update(self, request: Request, pk: Any) -> Response:
        return self.partial_update(request, pk)

    def destroy(self, request: Request, pk: Any) -> Response:
        tombstone = services.note_delete(user=request.user, note_id=pk)
        return envelope(
            {
                "id": str(tombstone.entity_id),
                "tombstone_id": str(tombstone.id),
                "recoverable_until": format_datetime(tombstone.recoverable_until),
            }
        )
