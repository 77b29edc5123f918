"""Every write of the accounts app: users, sessions, profile, deletion.

Sign-up and sign-in as use cases (what a new account gets) live one floor up, in
`onboarding.services`; this module imports no other app.

Sessions (CONTRACT §1): a sign-in starts a *family* of refresh tokens whose id is
the access tokens' `sid`. Refresh tokens are opaque random strings stored only as
SHA-256 hashes; each use rotates the token inside the family, and presenting an
already-rotated token revokes the whole family (someone copied it).

Every write here that changes who a token stands for (the user row, a session's end)
tells the auth cache at once (`accounts.selectors.token_user_cache_forget`,
`token_sessions_cache_revoke`), so no request is answered from a copy older than the write.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import providers
from accounts.models import RefreshToken, Tier, User
from accounts.selectors import token_sessions_cache_revoke, token_user_cache_forget
from accounts.tokens import access_token_for, access_token_ttl_seconds
from perpetua.api.exceptions import Conflict, InvalidRefreshToken

logger = logging.getLogger(__name__)

TOKEN_TYPE = "Bearer"
_NAME_MAX = 100
_AVATAR_MAX = 1000


@dataclass(frozen=True)
class SignInResult:
    """What a sign-in, a refresh and `issue_token` return: the sign-in response data."""

    user: User
    access_token: str
    refresh_token: str
    session_id: uuid.UUID
    expires_in: int
    token_type: str = TOKEN_TYPE
    created: bool = False


def refresh_token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


# --- sign-up ---------------------------------------------------------------------------


def _user_create(*, email: str, google_sub: str | None = None, name: str = "", avatar_url: str = "") -> User:
    """The one INSERT of a user. What a new account gets besides its row is granted one
    floor up, by `onboarding.services` (the only caller of the two functions below)."""
    with transaction.atomic():
        return User.objects.create_user(
            email=email, google_sub=google_sub, name=name[:_NAME_MAX], avatar_url=avatar_url
        )


def user_get_or_create_for_email(*, email: str, name: str = "") -> tuple[User, bool]:
    """The user with `email`, created when new (`issue_token`, through onboarding)."""
    email = User.objects.normalize_email(email).strip().lower()
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        return existing, False
    try:
        return _user_create(email=email, name=name), True
    except IntegrityError:  # created concurrently
        return User.objects.get(email=email), False


def google_identity_verify(*, id_token: str) -> providers.GoogleIdentity:
    """The verified identity in a Google ID token (CONTRACT §1): 401 when refused, 503
    when Google's certificates cannot be fetched. Network: call it outside a transaction."""
    return providers.google_id_token_verify(id_token=id_token)


def user_get_or_create_for_google(*, identity: providers.GoogleIdentity) -> tuple[User, bool]:
    """Find the account by Google `sub` (never by email) and refresh its profile, or
    create it; `(user, created)`. The caller holds a transaction (rows are locked)."""
    avatar = identity.picture if len(identity.picture) <= _AVATAR_MAX else ""
    name = identity.name[:_NAME_MAX]
    user = User.objects.select_for_update().filter(google_sub=identity.sub).first()
    if user is None:
        # An account made before it ever signed in with Google (issue_token,
        # createsuperuser) is linked on its first Google sign-in; an address already
        # linked to another Google account is not taken over.
        by_email = User.objects.select_for_update().filter(email=identity.email).first()
        if by_email is not None:
            # Its `google_sub` may be this one: a concurrent first sign-in committed between
            # the two statements (READ COMMITTED reads each on a fresh snapshot).
            if by_email.google_sub and by_email.google_sub != identity.sub:
                raise Conflict("This email address belongs to another Google account.")
            by_email.google_sub = identity.sub
            user = by_email
        else:
            try:
                with transaction.atomic():
                    return _user_create(
                        email=identity.email, google_sub=identity.sub, name=name, avatar_url=avatar
                    ), True
            except IntegrityError:  # a concurrent first sign-in of the same account won
                user = User.objects.select_for_update().get(google_sub=identity.sub)
    user.name = name or user.name
    user.avatar_url = avatar or user.avatar_url
    if user.email != identity.email and not User.objects.filter(email=identity.email).exclude(pk=user.pk).exists():
        user.email = identity.email
    user.save(update_fields=["google_sub", "name", "avatar_url", "email", "updated_at"])
    token_user_cache_forget(user_id=user.pk)
    return user, False


# --- sessions and refresh tokens --------------------------------------------------------


def _refresh_token_issue(*, user: User, family_id: uuid.UUID, now: datetime) -> tuple[RefreshToken, str]:
    raw = secrets.token_urlsafe(48)
    row = RefreshToken.objects.create(
        user=user,
        family_id=family_id,
        token_hash=refresh_token_hash(raw),
        expires_at=now + timedelta(days=settings.JWT_REFRESH_TTL_DAYS),
    )
    return row, raw


def _pair(*, user: User, family_id: uuid.UUID, refresh_token: str) -> SignInResult:
    return SignInResult(
        user=user,
        access_token=access_token_for(user=user, session_id=family_id),
        refresh_token=refresh_token,
        session_id=family_id,
        expires_in=access_token_ttl_seconds(),
    )


def session_start(*, user: User) -> SignInResult:
    """A new session: a new refresh-token family and its first access/refresh pair."""
    family_id = uuid.uuid4()
    _row, raw = _refresh_token_issue(user=user, family_id=family_id, now=timezone.now())
    return _pair(user=user, family_id=family_id, refresh_token=raw)


def _family_revoke(*, family_id: uuid.UUID, now: datetime) -> int:
    """End one session (logout, reuse): its refresh tokens and, at once, its access tokens."""
    revoked = RefreshToken.objects.filter(family_id=family_id, revoked_at__isnull=True).update(
        revoked_at=now, updated_at=now
    )
    token_sessions_cache_revoke(session_ids=[family_id])
    return revoked


def session_refresh(*, refresh_token: str) -> SignInResult:
    """Rotate a refresh token (CONTRACT §1): single use, same family, reuse = theft.

    The row is locked (`SELECT ... FOR UPDATE`), so of two concurrent uses of one
    token the second sees it already used and is handled as reuse: the family is
    revoked (also the successor the first use just got) and both callers must sign
    in again. The revocation is committed before the 401 is raised.
    """
    now = timezone.now()
    token_hash = refresh_token_hash(refresh_token)
    with transaction.atomic():
        row = (
            RefreshToken.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(token_hash=token_hash)
            .first()
        )
        if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.is_active:
            outcome = "invalid"
        elif row.used_at is not None:
            _family_revoke(family_id=row.family_id, now=now)
            outcome = "reused"
        else:
            successor, raw = _refresh_token_issue(user=row.user, family_id=row.family_id, now=now)
            row.used_at = now
            row.replaced_by = successor
            row.save(update_fields=["used_at", "replaced_by", "updated_at"])
            return _pair(user=row.user, family_id=row.family_id, refresh_token=raw)
    if outcome == "reused":
        logger.warning("refresh token reuse detected: family %s of user %s revoked", row.family_id, row.user_id)
    raise InvalidRefreshToken()


def session_end(*, refresh_token: str | None) -> None:
    """Logout (CONTRACT §1): revoke the token's whole family; unknown tokens are ignored."""
    if not refresh_token:
        return
    row = RefreshToken.objects.filter(token_hash=refresh_token_hash(refresh_token)).only("family_id").first()
    if row is not None:
        _family_revoke(family_id=row.family_id, now=timezone.now())


def refresh_tokens_revoke_for_user(*, user: User) -> int:
    """Revoke every session of `user` (account deletion, staff action)."""
    now = timezone.now()
    live = RefreshToken.objects.filter(user=user, revoked_at__isnull=True)
    # Read (only when the cache is on) before the UPDATE makes these rows revoked.
    token_sessions_cache_revoke(session_ids=live.values_list("family_id", flat=True).distinct())
    return live.update(revoked_at=now, updated_at=now)


def refresh_tokens_purge_revoked(*, now: datetime | None = None) -> int:
    """Delete refresh tokens revoked or expired more than REVOKED_TOKEN_RETENTION_DAYS ago.

    Used-but-live tokens are kept: they are what reuse detection recognises. Returns
    the number of rows deleted; safe to run any number of times (CONTRACT §15).
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.REVOKED_TOKEN_RETENTION_DAYS)
    deleted, _ = RefreshToken.objects.filter(Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)).delete()
    return deleted


# --- per-user serialization -----------------------------------------------------------------


def user_lock(*, user_id: uuid.UUID) -> None:
    """Row-lock the user until commit, so per-user rules (limits, the tombstone cap) are
    checked and written one request at a time. FOR NO KEY UPDATE: rows that merely
    reference the user (their FK check takes KEY SHARE) can still be inserted meanwhile."""
    list(User.objects.select_for_update(no_key=True).filter(pk=user_id).values_list("pk", flat=True))


# --- profile -----------------------------------------------------------------------------

_UNSET = object()


def user_update(*, user: User, name: str | object = _UNSET, timezone_name: str | object = _UNSET) -> User:
    """PATCH /users/me (CONTRACT §2): omitted fields stay as they are. Input is validated by the serializer."""
    fields = []
    if name is not _UNSET:
        user.name = name  # type: ignore[assignment]
        fields.append("name")
    if timezone_name is not _UNSET:
        user.timezone = timezone_name  # type: ignore[assignment]
        fields.append("timezone")
    if fields:
        user.save(update_fields=[*fields, "updated_at"])
        token_user_cache_forget(user_id=user.pk)
    return user


def user_set_tier(*, user: User, tier: str) -> None:
    """Low-level tier write. Call it only from billing's subscription services (CONTRACT §12)."""
    if tier not in Tier.values:
        raise ValueError(f"unknown tier {tier!r}")
    user.tier = tier
    user.save(update_fields=["tier", "updated_at"])
    token_user_cache_forget(user_id=user.pk)  # the new tier's limits apply to the next request


def user_delete(*, user: User) -> None:
    """DELETE /users/me (CONTRACT §2): the account and, by cascade, everything it owns."""
    with transaction.atomic():
        refresh_tokens_revoke_for_user(user=user)
        token_user_cache_forget(user_id=user.pk)
        user.delete()
    logger.info("user %s deleted their account", user.pk)
