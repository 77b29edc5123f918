"""The admin keeps sessions, CSRF, sign-in and messages; `/api/` requests skip them (perpetua/api/site_only.py)."""

import re

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client

from perpetua.api.site_only import SiteOnlyMiddleware

pytestmark = pytest.mark.django_db


def _csrf_token(page: HttpResponse) -> str:
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()


def test_admin_sign_in_keeps_csrf_sessions_and_messages(make_user):
    staff = make_user(email="staff@example.com", is_staff=True, is_superuser=True)
    staff.set_password("pw-long-enough-1")
    staff.save()
    target = make_user()
    client = Client(enforce_csrf_checks=True)

    # CSRF: a sign-in POST without the form's token is refused.
    refused = client.post("/admin/login/", {"username": "staff@example.com", "password": "pw-long-enough-1"})
    assert refused.status_code == 403

    page = client.get("/admin/login/")
    signed_in = client.post(
        "/admin/login/?next=/admin/",
        {"username": "staff@example.com", "password": "pw-long-enough-1", "csrfmiddlewaretoken": _csrf_token(page)},
    )
    assert signed_in.status_code == 302 and "sessionid" in signed_in.cookies

    # The session signs the next requests in; an admin action's message is shown.
    changelist = client.get("/admin/accounts/user/")
    assert changelist.status_code == 200
    done = client.post(
        "/admin/accounts/user/",
        {"action": "make_pro", "_selected_action": [str(target.pk)], "csrfmiddlewaretoken": _csrf_token(changelist)},
        follow=True,
    )
    assert b"1 user(s) made Pro." in done.content
    target.refresh_from_db()
    assert target.tier == "pro"


def test_the_api_ignores_the_admin_session_and_sets_no_cookie(make_user):
    staff = make_user(email="staff2@example.com", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    me = client.get("/api/v1/users/me")
    assert me.status_code == 401  # bearer tokens only: a session cookie is no credential
    assert me.json()["error"]["code"] == "UNAUTHORIZED"
    assert not me.cookies
    # An unsafe API request is not CSRF-checked: it is refused for its missing token.
    created = client.post("/api/v1/tasks", {"title": "x"}, content_type="application/json")
    assert created.status_code == 401 and not created.cookies


def test_a_missing_admin_middleware_fails_the_system_check(settings):
    settings.SITE_ONLY_MIDDLEWARE = [m for m in settings.SITE_ONLY_MIDDLEWARE if "csrf" not in m]
    errors = [message for message in run_checks() if message.id == "api.E001"]
    assert [str(error.msg) for error in errors] == [
        "django.middleware.csrf.CsrfViewMiddleware must be in MIDDLEWARE or SITE_ONLY_MIDDLEWARE (the admin needs it)."
    ]


class _WithExceptionHook:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return None


def test_a_middleware_whose_hooks_would_be_lost_is_refused(settings):
    settings.SITE_ONLY_MIDDLEWARE = [f"{__name__}._WithExceptionHook"]
    with pytest.raises(ImproperlyConfigured, match="process_view hooks only"):
        SiteOnlyMiddleware(lambda request: HttpResponse())


def test_csrf_is_checked_outside_the_api_only(rf):
    """The admin's views protect themselves too (`csrf_protect`); any other site view relies on the middleware."""
    middleware = SiteOnlyMiddleware(lambda request: HttpResponse())

    def view(request):
        return HttpResponse("ran")

    site_post = rf.post("/some/site/form", {"x": "1"})
    assert middleware.process_view(site_post, view, (), {}).status_code == 403
    assert middleware.process_view(rf.post("/api/v1/tasks", {"x": "1"}), view, (), {}) is None
    assert middleware.process_view(rf.get("/some/site/form"), view, (), {}) is None
