"""Test-only URLconf: tiny views on the project's bases, at paths that pick each rate bucket.

Use with `@pytest.mark.urls("perpetua.tests.urls")`. Independent of the domain apps.
"""

from __future__ import annotations

import time
import uuid
from datetime import date

from django.contrib.auth.models import Group
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import include, path
from django.views.decorators.http import require_GET
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from perpetua.api.deprecation import deprecated
from perpetua.api.exceptions import ServiceUnavailable
from perpetua.api.metrics import metrics_view
from perpetua.api.models import IdempotencyKey
from perpetua.api.pagination import OffsetPagination
from perpetua.api.responses import envelope
from perpetua.api.serializers import (
    BooleanField,
    BoundedListField,
    CharField,
    ChoiceField,
    DateTimeField,
    EmailField,
    FloatField,
    IntegerField,
    ModelSerializer,
    StrictSerializerMixin,
    URLField,
    UUIDField,
)
from perpetua.api.validators import validate_iana_timezone
from perpetua.api.views import ApiView


class EchoSerializer(serializers.Serializer):
    title = CharField(max_length=20)


class IdListSerializer(StrictSerializerMixin, serializers.Serializer):
    """A plain DRF list (items validated before any length check) and a bounded one."""

    ids = serializers.ListField(child=UUIDField(), required=False)
    bounded_ids = BoundedListField(child=UUIDField(), max_length=100, required=False)
    rows = EchoSerializer(many=True, required=False)


class TypedModelSerializer(StrictSerializerMixin, ModelSerializer):
    """Fields generated from a model (char, UUID, choice, small integer, boolean, date-time)."""

    class Meta:
        model = IdempotencyKey
        fields = ["key", "fingerprint", "state", "status_code", "replayable", "created_at"]


class TypedPlainSerializer(StrictSerializerMixin, serializers.Serializer):
    """Declared fields of every strict type the model above does not generate."""

    ratio = FloatField(required=False)
    level = ChoiceField(choices=[(1, "one"), (2, "two")], required=False)
    code = ChoiceField(choices=["1", "2"], required=False)
    email = EmailField(required=False)
    url = URLField(required=False)
    id = UUIDField(required=False)
    count = IntegerField(required=False, min_value=0)
    flag = BooleanField(required=False)
    name = CharField(required=False)
    at = DateTimeField(required=False)


class DemoView(ApiView):
    serializer_class = EchoSerializer  # only so the schema generator has something to describe


def _record(prefix: str) -> str:
    """The side effect counted by the idempotency tests: one Group row per execution."""
    name = f"{prefix}-{uuid.uuid4().hex}"
    Group.objects.create(name=name)
    return name


class EchoView(DemoView):
    def get(self, request):
        return envelope({"ok": True})

    def post(self, request):
        serializer = EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return envelope({"title": serializer.validated_data["title"], "row": _record("echo")}, status=201)


class ListsView(DemoView):
    def post(self, request):
        serializer = IdListSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return envelope({"count": sum(len(v) for v in serializer.validated_data.values())})


class TypedModelView(DemoView):
    def post(self, request):
        serializer = TypedModelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return envelope(TypedModelSerializer(serializer.save(user=request.user)).data, status=201)


class TypedPlainView(DemoView):
    def post(self, request):
        serializer = TypedPlainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return envelope(serializer.data)


class GroupPageView(DemoView):
    """A paginated list (Django's auth groups), for the pagination conventions."""

    def get(self, request):
        paginator = OffsetPagination()
        page = paginator.paginate_queryset(Group.objects.order_by("name"), request, view=self)
        return paginator.get_paginated_response([group.name for group in page])


class TimezoneSerializer(StrictSerializerMixin, serializers.Serializer):
    timezone = CharField(max_length=64, validators=[validate_iana_timezone])


class TimezoneView(DemoView):
    def post(self, request):
        serializer = TimezoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return envelope(serializer.validated_data)


class SlowView(DemoView):
    def post(self, request):
        name = _record("slow")
        time.sleep(0.3)
        return envelope({"row": name}, status=201)


class ItemView(DemoView):
    def get(self, request, id):
        group = get_object_or_404(Group, pk=0)
        return envelope({"id": group.pk})


class BoomView(DemoView):
    def get(self, request):
        raise RuntimeError("SELECT password FROM secret_table")

    def post(self, request):
        _record("crash")
        raise RuntimeError("crash after a write")


class UnavailableView(DemoView):
    def post(self, request):
        _record("unavailable")
        raise ServiceUnavailable()


class StreamView(DemoView):
    def post(self, request):
        _record("stream")
        return StreamingHttpResponse(iter([b"data: 1\n\n", b"data: [DONE]\n\n"]), content_type="text/event-stream")


class AiEchoView(DemoView):
    idempotency_required = True

    def post(self, request):
        return envelope({"row": _record("ai")})


class AuthPingView(DemoView):
    permission_classes = [AllowAny]

    def post(self, request):
        return envelope({"pong": True})


@deprecated(successor="/api/v1/echo", sunset=date(2027, 1, 1))
class OldView(DemoView):
    def get(self, request):
        return envelope({"old": True})


class OldMethodView(DemoView):
    @deprecated("/api/v1/echo", sunset=date(2027, 1, 1), since=date(2026, 1, 1))
    def get(self, request):
        return Response({"data": {"old": True}})

    def post(self, request):
        return envelope({"new": True})


def plain_view(request):
    _record("plain")
    return JsonResponse({"data": {"plain": True}})


def plain_form_view(request):
    """A plain Django view reading the query string, the form and its files."""
    return JsonResponse({"data": {"query": len(request.GET), "form": len(request.POST), "files": len(request.FILES)}})


api = [
    path("", include("perpetua.api.urls")),
    path("echo", EchoView.as_view()),
    path("lists", ListsView.as_view()),
    path("groups", GroupPageView.as_view()),
    path("typed-model", TypedModelView.as_view()),
    path("typed-plain", TypedPlainView.as_view()),
    path("timezone", TimezoneView.as_view()),
    path("slow", SlowView.as_view()),
    path("items/<uuid:id>", ItemView.as_view()),
    path("boom", BoomView.as_view()),
    path("unavailable", UnavailableView.as_view()),
    path("stream", StreamView.as_view()),
    path("ai/echo", AiEchoView.as_view()),
    path("auth/ping", AuthPingView.as_view()),
    path("old", OldView.as_view()),
    path("old-method", OldMethodView.as_view()),
    path("plain", plain_view),
    path("plain-form", plain_form_view),
    path("plain-get-only", require_GET(plain_view)),
]

urlpatterns = [
    path("api/v1/", include(api)),
    path("metrics", metrics_view),
]
from perpetua.urls import handler400, handler403, handler404, handler500  # noqa: E402, F401  (as in production)
