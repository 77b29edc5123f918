"""`Idempotency-Key` handling for POST/PUT/PATCH/DELETE (CONTRACT §0, Idempotency).

Flow, run by `IdempotencyMixin` after DRF's authentication, permission and throttle
checks (so an unauthenticated or rate-limited request never claims a key):

1. The key must be a UUID (else 400). `idempotency_required = True` on a view makes a
   missing key a 400 too (the `/ai/*` views).
2. For an authenticated user, an `in_flight` row (user, key, fingerprint) is inserted in
   its own statement *before* the view runs. Because (user, key) is unique, a concurrent
   duplicate fails that insert and looks at the existing row instead:
   - same fingerprint and complete  → the stored status and body are replayed with
     `Idempotent-Replayed: true`; the view does not run;
   - different fingerprint          → 409 CONFLICT;
   - still in flight                → 409 CONFLICT with `Retry-After` (never a second
     execution); a row in flight for over IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS belonged
     to a process that died mid-request, or to one whose database went away before it
     could release the key, and is released;
   - older than IDEMPOTENCY_TTL_HOURS → deleted and treated as new.
3. After the view: a response below 500 is stored on the row; a 5xx or an unhandled
   exception deletes the row so the client may retry with the same key.

Outside any transaction (the normal case: no ATOMIC_REQUESTS) the insert autocommits
at once, so a duplicate running concurrently sees it. Views that open their own
`transaction.atomic` are unaffected: the row is written before, and completed after,
their transaction. Inside an outer transaction the insert runs in a savepoint and a
concurrent duplicate waits on the unique index until that transaction ends, then
replays: still never a second execution.

Cost: nothing on safe methods or without a key; one INSERT before and one UPDATE
after the view for a keyed request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone

from perpetua.api.exceptions import Conflict, KeyInFlight, ValidationFailed
from perpetua.api.models import IdempotencyKey

logger = logging.getLogger("perpetua.idempotency")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_META_KEY = "HTTP_IDEMPOTENCY_KEY"


class IdempotentReplay(Exception):  # control flow, not an error
    """Raised from `initial()` to short-circuit the view with a stored response."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


def _ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def request_fingerprint(request: Any) -> str:
    """sha256 of method, full path (with query string) and raw body."""
    django_request = getattr(request, "_request", request)
    try:
        body = django_request.body
    except RawPostDataException:
        # The stream was consumed before us (e.g. an authenticator read request.data):
        # fall back to the parsed body, canonically encoded.
        body = json.dumps(request.data, sort_keys=True, default=str).encode()
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(django_request.get_full_path().encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def parse_idempotency_key(raw: str | None, *, required: bool) -> uuid.UUID | None:
    if raw is None:
        if required:
            raise ValidationFailed(
                "The Idempotency-Key header is required.",
                details=[{"field": IDEMPOTENCY_HEADER, "message": "This header is required."}],
            )
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise ValidationFailed(
            "The Idempotency-Key header must be a UUID.",
            details=[{"field": IDEMPOTENCY_HEADER, "message": "Must be a UUID."}],
        ) from None


def idempotency_claim(*, user_id: Any, key: uuid.UUID, fingerprint: str) -> int:
    """Insert the in-flight row and return its id, or raise Conflict / IdempotentReplay."""
    for _ in range(3):
        # A savepoint only when an outer transaction exists: a failed INSERT must not
        # poison it. In autocommit mode the INSERT is its own transaction.
        guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
        try:
            with guard:
                return IdempotencyKey.objects.create(user_id=user_id, key=key, fingerprint=fingerprint).pk
        except IntegrityError:
            pass
        existing = (
            IdempotencyKey.objects.filter(user_id=user_id, key=key)
            .only("fingerprint", "state", "status_code", "response_content", "content_type", "replayable", "created_at")
            .first()
        )
        if existing is None:
            continue  # the first request failed and released the key meanwhile
        now = timezone.now()
        released_at = existing.created_at + timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS)
        abandoned = existing.state == IdempotencyKey.State.IN_FLIGHT and released_at < now
        if existing.created_at < now - _ttl() or abandoned:
            # Expired, or claimed by a request that cannot still be running (its process
            # died): the key is free again.
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise Conflict("This Idempotency-Key was already used with a different request.")
        if existing.state == IdempotencyKey.State.IN_FLIGHT:
            raise KeyInFlight(retry_after=max(1, math.ceil((released_at - now).total_seconds())))
        if not existing.replayable:
            raise Conflict("A request with this Idempotency-Key already completed; its response cannot be replayed.")
        replay = HttpResponse(
            bytes(existing.response_content or b""), status=existing.status_code, content_type=existing.content_type
        )
        replay[REPLAYED_HEADER] = "true"
        raise IdempotentReplay(replay)
    raise KeyInFlight(retry_after=1)


def idempotency_complete(record_id: int, response: Any) -> None:
    """Store a response below 500; release the key (delete the row) otherwise."""
    rows = IdempotencyKey.objects.filter(pk=record_id)
    try:
        if response is None or response.status_code >= 500:
            rows.delete()
        elif not getattr(response, "streaming", False):
            if not getattr(response, "is_rendered", True):
                response.render()  # what the client gets; Django will not render it twice
            rows.update(
                state=IdempotencyKey.State.COMPLETE,
                status_code=response.status_code,
                response_content=response.content,
                content_type=response.get("Content-Type", ""),
                replayable=True,
            )
        else:  # streamed (e.g. text/event-stream): done, but nothing to replay
            rows.update(state=IdempotencyKey.State.COMPLETE, status_code=response.status_code, replayable=False)
    except DatabaseError:
        # The work is done; the row stays in flight (duplicates get 409, never a re-run).
        logger.exception("could not record the outcome of idempotency key %s", record_id)


def idempotency_release(record_id: int) -> None:
    try:
        IdempotencyKey.objects.filter(pk=record_id).delete()
    except DatabaseError:
        logger.exception("could not release idempotency key %s", record_id)


def idempotency_purge_expired() -> int:
    """Delete keys older than IDEMPOTENCY_TTL_HOURS (daily `purge_expired`); returns the count."""
    _, per_model = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - _ttl()).delete()
    return per_model.get(IdempotencyKey._meta.label, 0)


class IdempotencyMixin:
    """Mixed into every API view (see perpetua.api.views).

    Set `idempotency_required = True` on a view to make the header mandatory on its
    unsafe methods.
    """

    idempotency_required = False
    _idempotency_record_id: int | None = None

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # auth, permissions, throttles
        if request.method not in UNSAFE_METHODS:
            return
        key = parse_idempotency_key(request.META.get(_META_KEY), required=self.idempotency_required)
        if key is None:
            return
        user = request.user
        if user is None or not user.is_authenticated:
            return  # keys are scoped per user; anonymous endpoints (auth) are idempotent by design
        self._idempotency_record_id = idempotency_claim(
            user_id=user.pk, key=key, fingerprint=request_fingerprint(request)
        )

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, IdempotentReplay):
            return exc.response
        try:
            return super().handle_exception(exc)  # type: ignore[misc]
        except BaseException:
            # Unhandled: the view crashed, so the client may retry with the same key.
            record_id, self._idempotency_record_id = self._idempotency_record_id, None
            if record_id is not None:
                idempotency_release(record_id)
            raise

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        record_id, self._idempotency_record_id = self._idempotency_record_id, None
        if record_id is not None:
            idempotency_complete(record_id, response)
        return response
