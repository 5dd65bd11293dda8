"""`manage.py rotateclientsecret <client_id>`: a new secret, printed once."""

import json
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from oauth2_provider.models import get_application_model

from oauth_clients.services import rotate_client_secret

Client = get_application_model()


class Command(BaseCommand):
    help = "Issue a new secret for a confidential client; the old one stops working after --grace-seconds."

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument("--grace-seconds", type=int, default=0)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, client_id: str, grace_seconds: int, **options):
        if grace_seconds < 0:
            raise CommandError("--grace-seconds must be 0 or more.")
        client = Client.objects.filter(client_id=client_id).first()
        if client is None:
            raise CommandError(f"No client with client_id {client_id!r}.")
        try:
            secret = rotate_client_secret(
                client, timedelta(seconds=grace_seconds), source="rotateclientsecret"
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        if options["json"]:
            self.stdout.write(json.dumps({"client_id": client_id, "client_secret": secret}))
            return
        self.stdout.write(f"New secret for {client.name!r} ({client_id}):")
        self.stdout.write(f"  client_secret: {secret}")
        if grace_seconds:
            self.stdout.write(f"  The previous secret keeps working for {grace_seconds} s.")
        self.stdout.write(self.style.WARNING("  Store client_secret securely. It will not be shown again."))
