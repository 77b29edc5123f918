"""Reads of the accounts app: who holds this access token, and the GDPR export."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import functools
import uuid
from typing import Any

from django.apps import apps
from django.db import connection, models
from django.utils import timezone

from accounts.models import RefreshToken, Tier, User
from accounts.tokens import access_token_decode
from perpetua.api.exceptions import Forbidden, Unauthorized
from perpetua.api.serializers import format_datetime

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


def user_get_for_access_token(*, token: str) -> tuple[User, dict[str, Any]]:
    """The active user an access token belongs to, and the token's claims. One query.

    The same query refuses a token whose session (`sid`) was revoked by logout or by
    refresh-token reuse, so signing out ends access at once rather than at expiry.
    Raises TokenExpired / Unauthorized.
    """
    payload = access_token_decode(token)
    try:
        user_id = uuid.UUID(str(payload["sub"]))
        session_id = uuid.UUID(str(payload["sid"]))
    except ValueError as exc:
        raise Unauthorized("Invalid access token.") from exc
    params = [
        RefreshToken._meta.get_field("family_id").get_db_prep_value(session_id, connection),
        User._meta.pk.get_db_prep_value(user_id, connection),
    ]  # as each backend stores UUIDs (SQLite: hex text)
    user = next(iter(User.objects.raw(_token_user_sql(), params)), None)
    if user is None or user.session_revoked:
        raise Unauthorized("Invalid access token.")
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
