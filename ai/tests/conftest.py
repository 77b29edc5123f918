"""Fixtures of the AI tests: the fake OpenAI-compatible server the settings point at,
credits for a user, and an AI POST with a fresh Idempotency-Key."""

from __future__ import annotations

import uuid

import pytest

from ai.tests.fake_openai import FakeOpenAI
from credits.selectors import balance_for_user
from credits.services import credits_admin_grant


@pytest.fixture
def fake_llm(settings):
    fake = FakeOpenAI().start()
    settings.OPENAI_BASE_URL = fake.base_url
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_MODEL = "fake-model"
    settings.AI_MAX_RETRIES = 0
    settings.AI_TIMEOUT_SECONDS = 5
    yield fake
    fake.stop()


@pytest.fixture
def give_credits():
    def _give(user, amount: int, credit_type: str = "purchased"):
        credits_admin_grant(user=user, credit_type=credit_type, amount=amount)

    return _give


@pytest.fixture
def balance():
    return lambda user: balance_for_user(user=user).total


@pytest.fixture
def ai_post():
    """POST JSON with a fresh Idempotency-Key (required on every /ai/* POST)."""

    def _post(client, path: str, body: dict | None = None, **headers):
        return client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **headers)

    return _post
