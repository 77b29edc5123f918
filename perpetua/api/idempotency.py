"""Idempotency-Key handling for POST/PUT/PATCH/DELETE (CONTRACT §0). Filled in by the foundation issue."""

from __future__ import annotations


class IdempotencyMixin:
    """Mixed into every API view (see perpetua.api.views)."""

    idempotency_required = False
