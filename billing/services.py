"""Subscriptions: the only place a user's tier changes (CONTRACT §12).

Staff ("Make Pro" in admin), `manage.py issue_token --pro` and, with the payments
issue, the Checkout.com webhooks all go through these functions.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from accounts.models import Tier
from accounts.services import user_set_tier
from credits import services as credits_services

logger = logging.getLogger(__name__)


def subscription_grant_pro(*, user: Any, granted_by: Any = None) -> None:
    """Make `user` Pro, with today's daily credits (CONTRACT §10: granted on the day a user
    becomes Pro; once per UTC day). The subscription record and notification come with the
    billing issue."""
    with transaction.atomic():
        user_set_tier(user=user, tier=Tier.PRO)
        credits_services.credits_grant_daily(user=user)
    logger.info("user %s made Pro by %s", user.pk, getattr(granted_by, "pk", None) or "system")


def subscription_revoke_pro(*, user: Any) -> None:
    """Return `user` to the free tier."""
    with transaction.atomic():
        user_set_tier(user=user, tier=Tier.FREE)
    logger.info("user %s returned to free", user.pk)
