"""Sign-up has one home (`onboarding.services`): Google sign-in and `issue_token` both
run it, once per account, inside the transaction that creates the account (CONTRACT §1)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def sign_ups(monkeypatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr("onboarding.services._on_sign_up", lambda *, user, method: calls.append((user.email, method)))
    return calls


def test_google_sign_in_signs_up_once(sign_in, sign_ups):
    assert sign_in().status_code == 200
    assert sign_in().status_code == 200
    assert sign_ups == [("ada@example.com", "google")]


def test_issue_token_signs_up_once_and_a_later_google_sign_in_only_links(sign_in, sign_ups):
    for _ in range(2):
        call_command("issue_token", "ada@example.com", stdout=io.StringIO())
    assert sign_ups == [("ada@example.com", "email")]
    assert sign_in().status_code == 200
    assert sign_ups == [("ada@example.com", "email")]
    assert User.objects.get().google_sub == "google-sub-1"


def test_a_failing_sign_up_creates_no_account(sign_in, monkeypatch):
    def broken(*, user, method):
        raise RuntimeError("sign-up grant failed")

    monkeypatch.setattr("onboarding.services._on_sign_up", broken)
    with pytest.raises(RuntimeError):
        call_command("issue_token", "cli@example.com", stdout=io.StringIO())
    try:
        response = sign_in()
    except RuntimeError:  # the test client re-raises what reached Django
        pass
    else:
        assert response.status_code == 500
    assert not User.objects.exists()
