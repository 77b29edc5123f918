"""Achievements over HTTP (CONTRACT §11): definitions, the user's progress, stats, limits.

Every response is a constant number of queries whatever the number of definitions or
unlocks (see the selectors).
"""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import user_get_own
from gamification import selectors
from gamification.models import AchievementDefinition
from gamification.serializers import (
    AchievementDefinitionSerializer,
    AchievementsMeResponseSerializer,
    AchievementsMeSerializer,
    AchievementStatsResponseSerializer,
    AchievementStatsSerializer,
    EffectiveLimitsResponseSerializer,
    EffectiveLimitsSerializer,
)
from perpetua.api.responses import envelope
from perpetua.api.schema import error_response
from perpetua.api.views import ApiGenericViewSet, ApiView

_TAGS = ["achievements"]


class AchievementDefinitionViewSet(ApiGenericViewSet):
    """The active achievement definitions (same for every user)."""

    serializer_class = AchievementDefinitionSerializer
    queryset = AchievementDefinition.objects.none()  # schema introspection only; reads go through selectors

    @extend_schema(
        operation_id="achievements_list",
        summary="Achievement definitions (active only)",
        description="`id` is the achievement's stable code (e.g. `tasks_5`), the same id as in `Unlock` objects.",
        tags=_TAGS,
        responses={200: AchievementDefinitionSerializer(many=True)},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.achievement_definitions_active())
        return self.paginator.get_paginated_response(AchievementDefinitionSerializer(page, many=True).data)


class AchievementsMeView(ApiView):
    """Stats, unlocked achievements (also of deactivated definitions: unlocks are permanent),
    progress towards each active definition, and the effective limits. `current_streak` is
    0 once a whole UTC day passed without a completion."""

    @extend_schema(
        operation_id="achievements_me",
        summary="The user's stats, unlocked achievements, progress and effective limits",
        tags=_TAGS,
        responses={200: AchievementsMeResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        return envelope(AchievementsMeSerializer(selectors.achievements_overview(user=request.user)).data)


class UserAchievementsView(ApiView):
    """`/achievements/me` under the SPA's path: only the caller's own id."""

    @extend_schema(
        operation_id="users_achievements",
        summary="= GET /achievements/me, for the caller's own user id",
        tags=_TAGS,
        responses={
            200: AchievementsMeResponseSerializer,
            403: error_response("FORBIDDEN: the id is not the caller's."),
        },
    )
    def get(self, request: Request, user_id: uuid.UUID) -> Response:
        user = user_get_own(user=request.user, user_id=user_id)
        return envelope(AchievementsMeSerializer(selectors.achievements_overview(user=user)).data)


class AchievementStatsView(ApiView):
    """The `stats` part of `/achievements/me`."""

    @extend_schema(
        operation_id="achievements_stats",
        summary="The user's lifetime count, streaks, focus completions and converted notes",
        tags=_TAGS,
        responses={200: AchievementStatsResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        return envelope(AchievementStatsSerializer(selectors.stats_for_user(user=request.user)).data)


class AchievementLimitsView(ApiView):
    """The `effective_limits` part of `/achievements/me`: tier base + every unlocked perk
    (`daily_credits` perks count for Pro users only)."""

    @extend_schema(
        operation_id="achievements_limits",
        summary="The user's effective limits: tier base + unlocked perks",
        tags=_TAGS,
        responses={200: EffectiveLimitsResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        limits = selectors.limits_for_user(user=request.user)
        return envelope(EffectiveLimitsSerializer(selectors.limits_data(limits)).data)
