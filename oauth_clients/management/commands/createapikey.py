"""`manage.py createapikey <client_id>`: a long-lived access token for a service, shown once."""

import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from oauth2_provider.models import get_application_model

from oauth_clients.api_keys import create_api_key

Client = get_application_model()


class Command(BaseCommand):
    help = "Issue a service API key (an access token) for a client. Printed once, stored hashed."

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scope", action="append", default=[], required=True)
        parser.add_argument("--resource", action="append", default=[])
        parser.add_argument("--user", help="username the key acts for (optional)")
        parser.add_argument("--expires-days", type=int, default=365)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, client_id: str, **options):
        client = Client.objects.filter(client_id=client_id).first()
        if client is None:
            raise CommandError(f"No client with client_id {client_id!r}.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        scopes = [s for value in options["scope"] for s in value.replace(",", " ").split()]
        try:
            key, raw = create_api_key(
                client,
                name=options["name"],
                scopes=scopes,
                resource=options["resource"],
                expires_in=timedelta(days=options["expires_days"]),
                user=user,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {"id": key.pk, "api_key": raw, "scope": key.scope, "expires": key.expires.isoformat()}
                )
            )
            return
        self.stdout.write(f"API key {key.name!r} for {client.name!r}, expires {key.expires:%Y-%m-%d}:")
        self.stdout.write(f"  {raw}")
        self.stdout.write(self.style.WARNING("  Store it securely. It will not be shown again."))
