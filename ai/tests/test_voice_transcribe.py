"""POST /ai/transcribe (CONTRACT §8) against the fake Deepgram's pre-recorded API, through
the real deepgram-sdk: Pro only, the host allow-list, 5 credits per started minute,
reserve → commit, refund on failure."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from ai.tests.fake_deepgram import FakeDeepgram, serve_fake_deepgram
from credits import selectors as credits_selectors
from credits import services as credits_services
from credits.models import CreditEntry

URL = "/api/v1/ai/transcribe"
AUDIO = "https://audio.example.com/rec/123.webm"

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_deepgram(settings):
    with serve_fake_deepgram(settings) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _allowed_hosts(settings):
    settings.TRANSCRIBE_ALLOWED_HOSTS = ["audio.example.com"]


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _grant(user, amount: int) -> None:
    credits_services.credits_grant(user=user, credit_type="purchased", amount=amount, reason="admin")


def _post(client, body, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key or str(uuid.uuid4())}
    return client.post(URL, body, format="json", **headers)


@pytest.fixture
def pro(pro_user):
    _grant(pro_user, 20)
    return pro_user


def test_transcribes_by_url_and_charges_five_credits_per_started_minute(client_for, pro, fake_deepgram: FakeDeepgram):
    fake_deepgram.http_duration = 61.0
    calls_before = _sample("perpetua_ai_calls_total", endpoint="transcribe", outcome="ok")
    response = _post(client_for(pro), {"audio_url": AUDIO, "duration_seconds": 61})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "data": {
            "transcription": "buy milk and call the plumber",
            "language": "en",
            "confidence": 0.93,
            "credits_used": 10,
            "credits_remaining": 10,
        }
    }
    assert credits_selectors.credits_remaining(user=pro) == 10
    (received,) = fake_deepgram.http_requests
    assert received["body"] == {"url": AUDIO}
    assert received["headers"]["Authorization"] == "Token dg-test-key"
    assert received["query"]["model"] == "nova-2"
    assert _sample("perpetua_ai_calls_total", endpoint="transcribe", outcome="ok") == calls_before + 1


def test_a_file_shorter_than_declared_costs_only_its_own_minutes(client_for, pro, fake_deepgram):
    fake_deepgram.http_duration = 42.0
    response = _post(client_for(pro), {"audio_url": AUDIO, "duration_seconds": 120})

    assert response.status_code == 200
    assert response.json()["data"]["credits_used"] == 5
    assert credits_selectors.credits_remaining(user=pro) == 15


@pytest.mark.parametrize(
    "audio_url",
    [
        "https://evil.example.net/a.webm",  # a host not listed
        "http://audio.example.com/a.webm",  # not https
        "https://audio.example.com.evil.net/a.webm",  # a listed name as a prefix
        "https://user:pw@audio.example.com/a.webm",  # credentials
        "https://127.0.0.1/a.webm",  # an address, not a listed host
    ],
)
def test_only_https_urls_on_allowed_hosts_are_sent_to_deepgram(client_for, pro, fake_deepgram, audio_url):
    response = _post(client_for(pro), {"audio_url": audio_url, "duration_seconds": 30})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"][0]["field"] == "audio_url"
    assert fake_deepgram.http_requests == []
    assert credits_selectors.credits_remaining(user=pro) == 20


def test_the_host_list_is_empty_by_default_so_nothing_is_allowed(client_for, pro, fake_deepgram, settings):
    settings.TRANSCRIBE_ALLOWED_HOSTS = []
    response = _post(client_for(pro), {"audio_url": AUDIO, "duration_seconds": 30})
    assert response.status_code == 400 and fake_deepgram.http_requests == []


def test_free_users_get_tier_required(client_for, user, fake_deepgram):
    _grant(user, 20)
    response = _post(client_for(user), {"audio_url": AUDIO, "duration_seconds": 30})

    assert response.status_code == 403 and response.json()["error"]["code"] == "TIER_REQUIRED"
    assert fake_deepgram.http_requests == [] and credits_selectors.credits_remaining(user=user) == 20


def test_not_enough_credits_for_the_declared_minutes_is_402_and_deepgram_is_not_called(
    client_for, pro_user, fake_deepgram
):
    _grant(pro_user, 9)
    response = _post(client_for(pro_user), {"audio_url": AUDIO, "duration_seconds": 61})

    assert response.status_code == 402 and response.json()["error"]["code"] == "INSUFFICIENT_CREDITS"
    assert fake_deepgram.http_requests == [] and credits_selectors.credits_remaining(user=pro_user) == 9


def _refunded_once(user) -> bool:
    entries = list(CreditEntry.objects.filter(user_id=user.pk, reason="transcribe").values_list("operation", "amount"))
    return sorted(entries) == [("consume", -5), ("refund", 5)]


def test_a_deepgram_error_is_503_and_the_reservation_is_refunded(client_for, pro, fake_deepgram):
    fake_deepgram.http_status = 500
    failures_before = _sample("perpetua_ai_failures_total", endpoint="transcribe", reason="error")
    response = _post(client_for(pro), {"audio_url": AUDIO, "duration_seconds": 30})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "TRANSCRIPTION_SERVICE_UNAVAILABLE"
    assert len(fake_deepgram.http_requests) == 1  # no retry: max_retries=0
    assert _sample("perpetua_ai_failures_total", endpoint="transcribe", reason="error") == failures_before + 1
    assert credits_selectors.credits_remaining(user=pro) == 20 and _refunded_once(pro)


def test_a_slow_deepgram_is_cut_at_the_timeout_and_refunded(client_for, pro, fake_deepgram, settings):
    settings.AI_TIMEOUT_SECONDS = 0.5
    fake_deepgram.http_delay = 3
    response = _post(client_for(pro), {"audio_url": AUDIO, "duration_seconds": 30})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "TRANSCRIPTION_SERVICE_UNAVAILABLE"
    assert credits_selectors.credits_remaining(user=pro) == 20 and _refunded_once(pro)


def test_without_an_api_key_it_is_503_and_nothing_is_charged(client_for, pro, fake_deepgram, settings):
    settings.DEEPGRAM_API_KEY = ""
    response = _post(client_for(pro), {"audio_url": AUDIO, "duration_seconds": 30})

    assert response.status_code == 503 and fake_deepgram.http_requests == []
    assert credits_selectors.credits_remaining(user=pro) == 20


def test_the_idempotency_key_is_required_and_a_replay_transcribes_once(client_for, pro, fake_deepgram):
    client = client_for(pro)
    missing = client.post(URL, {"audio_url": AUDIO, "duration_seconds": 30}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "VALIDATION_ERROR"

    key = str(uuid.uuid4())
    first = _post(client, {"audio_url": AUDIO, "duration_seconds": 30}, key=key)
    again = _post(client, {"audio_url": AUDIO, "duration_seconds": 30}, key=key)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert len(fake_deepgram.http_requests) == 1 and credits_selectors.credits_remaining(user=pro) == 15


@pytest.mark.parametrize(
    "body",
    [
        {"audio_url": AUDIO},
        {"audio_url": AUDIO, "duration_seconds": 0},
        {"audio_url": AUDIO, "duration_seconds": 301},
        {"audio_url": AUDIO, "duration_seconds": "30"},  # a string is not a number
        {"audio_url": "not a url", "duration_seconds": 30},
        {"audio_url": AUDIO, "duration_seconds": 30, "language": "fr"},
    ],
)
def test_bad_bodies_are_400(client_for, pro, fake_deepgram, body):
    response = _post(client_for(pro), body)
    assert response.status_code == 400 and fake_deepgram.http_requests == []
