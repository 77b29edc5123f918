"""`manage.py issue_token EMAIL [--pro]`: a signed-in session for local dev and load tests (CONTRACT §1)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts.serializers import sign_in_data
from accounts.services import session_start
from billing.services import subscription_grant_pro
from onboarding.services import account_get_or_sign_up_by_email


class Command(BaseCommand):
    help = "Print one JSON object shaped like the sign-in response for EMAIL (creating the user if needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--pro", action="store_true", help="Make the user Pro (as staff do in admin).")
        parser.add_argument("--name", default="", help="Name for a newly created user.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"Not a valid email address: {email!r}") from exc
        user, _created = account_get_or_sign_up_by_email(email=email, name=options["name"])
        if options["pro"]:
            subscription_grant_pro(user=user)
        result = session_start(user=user)
        self.stdout.write(json.dumps(sign_in_data(result)))
