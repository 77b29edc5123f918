from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models


class Tier(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"


NAME_MAX_LENGTH = 100


def name_from_email(email: str) -> str:
    """The name of an account that has none: the email's local part (CONTRACT §1: never empty)."""
    return email.rpartition("@")[0][:NAME_MAX_LENGTH] or email[:NAME_MAX_LENGTH]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        email = self.normalize_email(email).lower()
        # Every sign-up path (Google, issue_token, createsuperuser) ends here.
        fields["name"] = (fields.get("name") or "").strip()[:NAME_MAX_LENGTH] or name_from_email(email)
        user = self.model(email=email, **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A Perpetua account. Keyed to Google by `google_sub`, never by email (CONTRACT §1)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    google_sub = models.CharField(max_length=255, unique=True, null=True, blank=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True, default="")
    avatar_url = models.URLField(max_length=1000, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC")
    tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.FREE)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        """`name`, or the email's local part for rows stored before names were filled in."""
        return self.name or name_from_email(self.email)

    @property
    def google_id(self) -> str:
        """Google's `sub`; "" for an account that never signed in with Google (CONTRACT §1)."""
        return self.google_sub or ""

    @property
    def is_pro(self) -> bool:
        return self.tier == Tier.PRO


class RefreshToken(models.Model):
    """One opaque refresh token, stored only as its SHA-256 (CONTRACT §1).

    Tokens of one sign-in share a `family_id` (the access tokens' `sid`). Each use
    marks the row used and issues its successor in the same family; a second use of a
    used row is theft and revokes the whole family.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    family_id = models.UUIDField(db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["revoked_at"], name="refresh_revoked_at_idx"),
            models.Index(fields=["expires_at"], name="refresh_expires_at_idx"),
        ]

    def __str__(self) -> str:
        return f"refresh token {self.id} (family {self.family_id})"
