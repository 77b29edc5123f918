"""Base classes every API view inherits, so each cross-cutting convention applies once."""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.views import APIView

from perpetua.api.idempotency import IdempotencyMixin


class ApiView(IdempotencyMixin, APIView):
    pass


class ApiGenericViewSet(IdempotencyMixin, viewsets.GenericViewSet):
    pass


class ApiViewSet(IdempotencyMixin, viewsets.ViewSet):
    pass
