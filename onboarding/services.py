"""Sign-in and sign-up use cases (CONTRACT §1): THE home of what a brand-new account gets.

Accounts sits low (every app reads users), so it cannot call the apps that give a new
account something without an upward import. This module sits one floor above them:
the Google sign-in view and `manage.py issue_token` both come through here, and
`_on_sign_up` runs exactly once per account, inside the transaction that creates it.
The kickstart credits are one line in `_on_sign_up` (the credits app's service, whose
unique ledger ref makes a second grant impossible), with no import from accounts
upward. Achievement progress needs no line: gamification creates a missing progress
row on the first completion.
"""

from __future__ import annotations

import dataclasses
import logging

from django.db import transaction

from accounts import services as accounts_services
from accounts.models import User
from accounts.services import SignInResult
from credits import services as credits_services

logger = logging.getLogger(__name__)


def _on_sign_up(*, user: User, method: str) -> None:
    """Everything a new account gets, once, inside the sign-up transaction."""
    credits_services.credits_grant_kickstart(user=user)
    logger.info("user %s signed up (%s)", user.pk, method)


def account_sign_in_google(*, id_token: str) -> SignInResult:
    """POST /auth/google/callback: verify the ID token (outside any transaction: it may
    fetch Google's certificates), then sign up or update the account and start a
    session in one transaction. `created` tells a sign-up."""
    identity = accounts_services.google_identity_verify(id_token=id_token)
    with transaction.atomic():
        user, created = accounts_services.user_get_or_create_for_google(identity=identity)
        if created:
            _on_sign_up(user=user, method="google")
        result = accounts_services.session_start(user=user)
    return dataclasses.replace(result, created=created)


def account_get_or_sign_up_by_email(*, email: str, name: str = "") -> tuple[User, bool]:
    """The account with `email`, signed up when new (`manage.py issue_token`, CONTRACT §1)."""
    with transaction.atomic():
        user, created = accounts_services.user_get_or_create_for_email(email=email, name=name)
        if created:
            _on_sign_up(user=user, method="email")
    return user, created
