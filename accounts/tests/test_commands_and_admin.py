"""`manage.py issue_token`, billing's tier services and the accounts admin."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import RefreshToken, User
from accounts.tests.conftest import bearer
from billing.services import subscription_grant_pro, subscription_revoke_pro

pytestmark = pytest.mark.django_db


def issue_token(*args: str) -> dict:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_issue_token_creates_the_user_and_prints_a_sign_in_response():
    data = issue_token("Dev@Example.com")

    assert set(data) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert data["token_type"] == "Bearer" and data["expires_in"] == 900
    user = User.objects.get()
    assert user.email == "dev@example.com"
    assert data["user"]["id"] == str(user.pk) and data["user"]["tier"] == "free"
    # Never signed in with Google; the name is the email's local part, stored at sign-up.
    assert data["user"]["google_id"] == "" and data["user"]["name"] == user.name == "dev"
    assert bearer(data["access_token"]).get("/api/v1/users/me").status_code == 200
    refreshed = bearer("").post("/api/v1/auth/refresh", {"refresh_token": data["refresh_token"]}, format="json")
    assert refreshed.status_code == 200
    assert set(refreshed.json()) == set(data)  # the same flat shape as the sign-in response


def test_issue_token_reuses_the_user_and_starts_a_new_session_each_time():
    first = issue_token("dev@example.com")
    second = issue_token("dev@example.com")

    assert first["user"]["id"] == second["user"]["id"]
    assert User.objects.count() == 1
    assert RefreshToken.objects.values("family_id").distinct().count() == 2


def test_issue_token_pro_makes_the_user_pro():
    data = issue_token("pro@example.com", "--pro")

    assert data["user"]["tier"] == "pro"
    assert User.objects.get().tier == "pro"
    me = bearer(data["access_token"]).get("/api/v1/users/me")
    assert me.json()["data"]["tier"] == "pro"


def test_issue_token_rejects_a_bad_email():
    with pytest.raises(CommandError):
        issue_token("not-an-email")
    assert User.objects.count() == 0


def test_billing_services_change_the_tier(user):
    subscription_grant_pro(user=user)
    user.refresh_from_db()
    assert user.tier == "pro"

    subscription_revoke_pro(user=user)
    user.refresh_from_db()
    assert user.tier == "free"


def test_createsuperuser_works():
    call_command("createsuperuser", "--noinput", "--email", "Admin@Example.com", stdout=io.StringIO())

    admin = User.objects.get()
    assert admin.is_staff and admin.is_superuser and admin.email == "admin@example.com"


def test_admin_make_pro_action(admin_client, make_user):
    target = make_user()

    response = admin_client.post(
        "/admin/accounts/user/", {"action": "make_pro", "_selected_action": [str(target.pk)]}, follow=True
    )

    assert response.status_code == 200
    target.refresh_from_db()
    assert target.tier == "pro"


def test_admin_user_pages_render(admin_client, user):
    assert admin_client.get("/admin/accounts/user/?q=" + user.email).status_code == 200
    assert admin_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200


def test_refresh_token_admin_is_read_only(admin_client, user):
    from accounts.services import session_start

    session_start(user=user)
    row = RefreshToken.objects.get()

    assert admin_client.get("/admin/accounts/refreshtoken/").status_code == 200
    page = admin_client.get(f"/admin/accounts/refreshtoken/{row.pk}/change/")
    assert page.status_code == 200
    assert row.token_hash in page.content.decode()
    assert admin_client.get("/admin/accounts/refreshtoken/add/").status_code == 403
    assert admin_client.post(f"/admin/accounts/refreshtoken/{row.pk}/delete/").status_code == 403
    assert RefreshToken.objects.filter(pk=row.pk).exists()
