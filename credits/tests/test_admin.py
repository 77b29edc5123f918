"""The staff view of the ledger (CONTRACT §15): read-only rows, grants through the service."""

from __future__ import annotations

import pytest

from credits import selectors, services
from credits.models import CreditAccount, CreditEntry

pytestmark = pytest.mark.django_db


def test_ledger_is_read_only_with_filters(admin_client, make_user):
    user, other = make_user(email="ledger@example.com"), make_user(email="someone@example.com")
    services.credits_grant_kickstart(user=user)
    services.credits_grant_kickstart(user=other)
    entry = CreditEntry.objects.get(user=user)
    page = admin_client.get("/admin/credits/creditentry/", {"operation__exact": "grant", "q": "ledger@"})
    assert page.status_code == 200
    assert b"ledger@example.com" in page.content and b"someone@example.com" not in page.content
    by_id = admin_client.get("/admin/credits/creditentry/", {"q": str(other.pk)})
    assert b"someone@example.com" in by_id.content and b"ledger@example.com" not in by_id.content
    assert admin_client.get("/admin/credits/creditentry/add/").status_code == 403
    admin_client.post(f"/admin/credits/creditentry/{entry.pk}/change/", {"amount": 500})
    admin_client.post(f"/admin/credits/creditentry/{entry.pk}/delete/", {"post": "yes"})
    entry.refresh_from_db()
    assert entry.amount == 5
    assert admin_client.get("/admin/credits/creditaccount/").status_code == 200
    assert admin_client.get("/admin/credits/creditreservation/").status_code == 200


def test_admin_action_grants_credits_through_the_service(admin_client, user, make_user):
    services.credits_grant_kickstart(user=user)
    other = make_user()
    services.credits_grant_kickstart(user=other)
    accounts = [str(pk) for pk in CreditAccount.objects.values_list("pk", flat=True)]
    form = admin_client.post("/admin/credits/creditaccount/", {"action": "grant_credits", "_selected_action": accounts})
    assert form.status_code == 200 and b"Grant credits" in form.content
    done = admin_client.post(
        "/admin/credits/creditaccount/",
        {"action": "grant_credits", "_selected_action": accounts, "apply": "1", "credit_type": "purchased",
         "amount": "25"},
    )  # fmt: skip
    assert done.status_code == 302
    for owner in (user, other):
        assert selectors.balance_for_user(user=owner).purchased == 25
        entry = CreditEntry.objects.get(user=owner, credit_type="purchased")
        assert (entry.operation, entry.reason, entry.balance_after) == ("grant", "admin", 30)
        assert entry.operation_ref.startswith("admin:")


def test_admin_action_refuses_a_bad_amount(admin_client, user):
    services.credits_grant_kickstart(user=user)
    response = admin_client.post(
        "/admin/credits/creditaccount/",
        {"action": "grant_credits", "_selected_action": [str(user.pk)], "apply": "1", "credit_type": "purchased",
         "amount": "0"},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with its error
    assert selectors.balance_for_user(user=user).purchased == 0
