"""Reads of the accounts app: who holds this access token (and its caches), and the GDPR export."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import functools
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.keys import KeyRing, get_keyring
from accounts.models import RefreshToken, Tier, User
from accounts.tokens import MAX_CLOCK_SKEW_SECONDS, access_token_decode, access_token_ttl_seconds
from perpetua.api.exceptions import Forbidden, Unauthorized
from perpetua.api.serializers import format_datetime

logger = logging.getLogger(__name__)

# The project's own apps, whose rows make up a user's data (CONTRACT §2).
EXPORT_APPS = ("accounts", "tasks", "notes", "ai", "billing", "credits", "gamification", "recovery", "notifications")
_SENSITIVE_COLUMNS = frozenset({"password", "token_hash"})
_OWNER_FIELD_NAMES = ("user", "owner")


@functools.cache
def _token_user_sql() -> str:
    """The hot-path query of every authenticated request, composed once per process.

    Raw SQL on purpose: the same statement through the ORM costs three times as much
    (expression resolution and compilation on every request), and this runs on all of them.
    """
    users, tokens = User._meta.db_table, RefreshToken._meta.db_table
    family = RefreshToken._meta.get_field("family_id").column
    revoked = RefreshToken._meta.get_field("revoked_at").column
    # Identifiers come from model metadata; the two values are bound parameters.
    return (
        f'SELECT u.*, EXISTS (SELECT 1 FROM "{tokens}" t WHERE t."{family}" = %s AND t."{revoked}" IS NOT NULL)'  # noqa: S608
        f' AS session_revoked FROM "{users}" u WHERE u."id" = %s AND u."is_active"'
    )


# --- verified signatures (this process) ------------------------------------------------
#
# Checking an RS256 signature is a fifth of an authenticated request's own work, and a client
# sends the same token for its whole life. A token verified once is remembered with the key
# ring that verified it; a later request with the same string skips the signature while the
# token's `exp` is ahead, and goes through `access_token_decode` again otherwise (which
# raises the right error). Rotating the keys replaces the ring: nothing verified by the old
# one is reused. Pure function of the token and the keys, so local to the process is correct.

_VERIFIED_MAX = 10_000
_verified: dict[str, tuple[KeyRing, dict[str, Any]]] = {}
_verified_lock = threading.Lock()


def _access_token_claims(token: str) -> dict[str, Any]:
    ring = get_keyring()
    hit = _verified.get(token)
    if hit is not None and hit[0] is ring and hit[1]["exp"] > time.time():
        return dict(hit[1])
    payload = access_token_decode(token)
    with _verified_lock:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()  # cheaper than LRU bookkeeping per request; refilled at once
        _verified[token] = (ring, payload)
    return dict(payload)


# --- the token's user and session, in the shared cache ----------------------------------
#
# With AUTH_CACHE_SECONDS > 0 (on by default with REDIS_URL, where every server process,
# worker and cron command shares the cache) a request whose user and session are cached
# costs no query: one `get_many` (one Redis round trip). Every write that changes what this
# read answers invalidates it at once, through the two functions below, called by the
# services that make those writes (sign-in, profile, tier, deactivation, deletion, logout,
# refresh-token reuse) and by the admin:
#
# - a user entry is overwritten with a STALE marker for AUTH_CACHE_STALE_SECONDS, again
#   after commit; the cache is filled only with `add`, which fails while the marker is there,
#   so a request that read the row before the write cannot put the old row back;
# - a revoked session is marked REVOKED for as long as its access tokens can live: it is
#   refused without reading the database, and no fill can mark it live again.
#
# With the local-memory cache other processes (a second server, the worker, cron) could
# not reach this process's copy: settings refuse AUTH_CACHE_SECONDS > 0 without REDIS_URL.

_LIVE = "live"
_REVOKED = "revoked"
_STALE = "stale"


def _user_key(user_id: uuid.UUID | str) -> str:
    return f"auth:user:{user_id}"


def _session_key(session_id: uuid.UUID | str) -> str:
    return f"auth:session:{session_id}"


def _cache_call(operation: Any, *args: Any, **kwargs: Any) -> Any:
    """A cache operation that may fail (Redis down): the database answers instead."""
    try:
        return operation(*args, **kwargs)
    except Exception:
        logger.warning("auth cache unavailable", exc_info=True)
        return None


def token_user_cache_forget(*, user_id: uuid.UUID | str) -> None:
    """The cached copy of this user is wrong from now on (changed, deactivated, deleted)."""
    if not settings.AUTH_CACHE_SECONDS:
        return
    key = _user_key(user_id)

    def forget() -> None:
        _cache_call(cache.set, key, _STALE, timeout=settings.AUTH_CACHE_STALE_SECONDS)

    forget()
    transaction.on_commit(forget)  # again once the new row is what a fill would read


def token_sessions_cache_revoke(*, session_ids: Iterable[uuid.UUID | str]) -> None:
    """These sessions are over (logout, refresh-token reuse, account deletion): refuse at once."""
    if not settings.AUTH_CACHE_SECONDS:
        return
    revoked = {_session_key(session_id): _REVOKED for session_id in session_ids}
    if revoked:
        lifetime = access_token_ttl_seconds() + MAX_CLOCK_SKEW_SECONDS
        _cache_call(cache.set_many, revoked, timeout=lifetime)


def _token_user_query(*, user_id: uuid.UUID, session_id: uuid.UUID) -> User | None:
    """The active user, with `session_revoked`, or None. One query."""
    params = [
        RefreshToken._meta.get_field("family_id").get_db_prep_value(session_id, connection),
        User._meta.pk.get_db_prep_value(user_id, connection),
    ]  # as each backend stores UUIDs (SQLite: hex text)
    return next(iter(User.objects.raw(_token_user_sql(), params)), None)


def user_get_for_access_token(*, token: str) -> tuple[User, dict[str, Any]]:
    """The active user an access token belongs to, and the token's claims.

    The same step refuses a token whose session (`sid`) was revoked by logout or by
    refresh-token reuse, so signing out ends access at once rather than at expiry. No
    query when the user and the session are in the auth cache, else one.
    Raises TokenExpired / Unauthorized.
    """
    payload = _access_token_claims(token)
    try:
        user_id = uuid.UUID(str(payload["sub"]))
        session_id = uuid.UUID(str(payload["sid"]))
    except ValueError as exc:
        raise Unauthorized("Invalid access token.") from exc
    ttl = settings.AUTH_CACHE_SECONDS
    if not ttl:
        user = _token_user_query(user_id=user_id, session_id=session_id)
        if user is None or user.session_revoked:
            raise Unauthorized("Invalid access token.")
        return user, payload

    user_key, session_key = _user_key(user_id), _session_key(session_id)
    cached = _cache_call(cache.get_many, [user_key, session_key]) or {}
    session, user = cached.get(session_key), cached.get(user_key)
    if session == _REVOKED:
        raise Unauthorized("Invalid access token.")
    if session == _LIVE and isinstance(user, User):
        return user, payload

    user = _token_user_query(user_id=user_id, session_id=session_id)
    if user is not None and user.session_revoked:
        token_sessions_cache_revoke(session_ids=[session_id])
    if user is None or user.session_revoked:
        raise Unauthorized("Invalid access token.")
    del user.session_revoked  # the cached user serves every session of this user
    if session is None:
        _cache_call(cache.add, session_key, _LIVE, timeout=ttl)
    if not isinstance(cached.get(user_key), User):
        _cache_call(cache.add, user_key, user, timeout=ttl)  # refused while a STALE marker stands
    return user, payload


def user_get_own(*, user: User, user_id: uuid.UUID) -> User:
    """The user a `/users/{user_id}/...` route names, which must be the caller (CONTRACT §11,
    §14): any other id is 403, whether or not it exists, so ids cannot be probed."""
    if user_id != user.pk:
        raise Forbidden("You can only read your own data.")
    return user


# --- export ------------------------------------------------------------------------------


def _is_sensitive(column: str) -> bool:
    return column in _SENSITIVE_COLUMNS or column.endswith("_hash") or "secret" in column


def _pick_owner_fk(fks: list[models.ForeignKey]) -> models.ForeignKey | None:
    named = [fk for fk in fks if fk.name in _OWNER_FIELD_NAMES]
    if named:
        return named[0]
    return fks[0] if len(fks) == 1 else None


@functools.cache
def _export_plan() -> tuple[tuple[str, type[models.Model], str, tuple[str, ...]], ...]:
    """For each project model: the ORM lookup from its rows to their owning user.

    Breadth-first over foreign keys: models with a key to User (`user`), then models
    whose key points at one of those (`task__user` for subtasks), and so on; the
    shortest path wins. Computed once per process: models do not change at runtime.
    """
    candidates = [
        model
        for model in apps.get_models()
        if model._meta.app_label in EXPORT_APPS and not model._meta.proxy and not model._meta.auto_created
    ]
    lookups: dict[type[models.Model], str] = {User: "pk"}
    level: set[type[models.Model]] = {User}
    while level:
        next_level: set[type[models.Model]] = set()
        for model in candidates:
            if model in lookups:
                continue
            fks = [
                field
                for field in model._meta.concrete_fields
                if isinstance(field, models.ForeignKey) and field.related_model in level
            ]
            if User in level:
                fks = [fk for fk in fks if fk.related_model is User]
            fk = _pick_owner_fk(fks)
            if fk is None:
                continue
            target = lookups[fk.related_model]
            lookups[model] = fk.name if target == "pk" else f"{fk.name}__{target}"
            next_level.add(model)
        level = next_level

    plan = []
    for model, lookup in lookups.items():
        columns = tuple(
            field.attname
            for field in model._meta.concrete_fields
            if not _is_sensitive(field.name) and not _is_sensitive(field.attname)
        )
        plan.append((model._meta.label, model, lookup, columns))
    return tuple(sorted(plan, key=lambda item: item[0]))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_datetime(value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(item) for item in value]
    return value


def user_export(*, user: User) -> dict[str, Any]:
    """Every row `user` owns, grouped by model label (CONTRACT §2, GDPR-style export).

    One query per model whatever the row count; secrets (password hash, refresh-token
    hashes) are left out.
    """
    data: dict[str, list[dict[str, Any]]] = {}
    for label, model, lookup, columns in _export_plan():
        rows = model._base_manager.filter(**{lookup: user.pk}).order_by("pk").values_list(*columns)
        data[label] = [dict(zip(columns, map(_jsonable, row), strict=True)) for row in rows]
    return {"user_id": str(user.pk), "exported_at": format_datetime(timezone.now()), "models": data}


def users_count_by_tier() -> dict[str, int]:
    """Active accounts per tier, every tier present (the staff dashboard); one query."""
    counts = dict.fromkeys(Tier.values, 0)
    rows = User.objects.filter(is_active=True).values_list("tier").annotate(n=models.Count("pk")).order_by()
    counts.update(dict(rows))
    return counts
