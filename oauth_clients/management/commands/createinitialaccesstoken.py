"""`manage.py createinitialaccesstoken`: an RFC 7591 initial access token, shown once."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from oauth_clients.initial_access import create_initial_access_token


class Command(BaseCommand):
    help = (
        "Issue an initial access token for Dynamic Client Registration (DCR_MODE=token). "
        "Printed once, stored hashed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="who or what the token is for")
        parser.add_argument("--expires-days", type=float, default=7)
        parser.add_argument("--max-uses", type=int, help="registrations allowed (default: unlimited)")
        parser.add_argument("--single-use", action="store_true", help="same as --max-uses 1")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        max_uses = 1 if options["single_use"] else options["max_uses"]
        try:
            token, raw = create_initial_access_token(
                options["name"], timedelta(days=options["expires_days"]), max_uses=max_uses
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            payload = {
                "id": token.pk,
                "initial_access_token": raw,
                "expires": token.expires.isoformat(),
                "max_uses": token.max_uses,
            }
            self.stdout.write(json.dumps(payload))
            return
        uses = "unlimited registrations" if max_uses is None else f"{max_uses} registration(s)"
        self.stdout.write(
            f"Initial access token {token.name!r}, {uses}, expires {token.expires:%Y-%m-%d %H:%M} UTC:"
        )
        self.stdout.write(f"  {raw}")
        self.stdout.write("Send it as 'Authorization: Bearer <token>' with the POST to /oauth/register.")
        self.stdout.write(self.style.WARNING("Store it securely. It will not be shown again."))
