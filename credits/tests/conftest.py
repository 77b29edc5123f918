"""Fixtures for the credits tests: ledger state helpers and a fixed clock passed as `now=`."""

from __future__ import annotations

import datetime as dt

import pytest

from credits import selectors
from credits.models import CreditAccount


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def assert_ledger_consistent():
    """The account's columns equal the ledger's sums per type, and nothing is negative (CONTRACT §10)."""

    def check(user) -> None:
        sums = selectors.ledger_sums(user=user)
        account = CreditAccount.objects.filter(user_id=user.pk).first()
        columns = {t: getattr(account, t) if account else 0 for t in sums}
        assert columns == sums
        assert all(value >= 0 for value in sums.values())

    return check
