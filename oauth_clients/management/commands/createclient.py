"""`manage.py createclient`: register a client without a browser (secret printed once)."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from oauth2_provider.models import get_application_model

from oauth_clients.services import GRANTS, create_client

Client = get_application_model()


def _split(values: list[str]) -> list[str]:
    return [item for value in values for item in value.replace(",", " ").split()]


class Command(BaseCommand):
    help = "Create an OAuth client. A confidential client's secret is printed once and stored hashed."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--type",
            choices=[Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC],
            default=Client.CLIENT_CONFIDENTIAL,
        )
        parser.add_argument("--grant", choices=sorted(GRANTS), default="client-credentials")
        parser.add_argument("--redirect-uri", action="append", default=[], help="repeatable")
        parser.add_argument("--scope", action="append", default=[], help="repeatable or space-separated")
        parser.add_argument(
            "--resource", action="append", default=[], help="allowed RFC 8707 resource, repeatable"
        )
        parser.add_argument("--description", default="")
        parser.add_argument("--client-id", help="use this client_id instead of a generated one")
        parser.add_argument(
            "--if-not-exists",
            action="store_true",
            help="do nothing if a client with this --client-id (or name) exists",
        )
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")

    def handle(self, *args, **options):
        lookup = {"client_id": options["client_id"]} if options["client_id"] else {"name": options["name"]}
        existing = Client.objects.filter(**lookup).first()
        if existing is not None:
            if not options["if_not_exists"]:
                raise CommandError(f"A client with {lookup} already exists (use --if-not-exists).")
            self._print(existing, None, created=False, as_json=options["json"])
            return
        try:
            issued = create_client(
                name=options["name"],
                client_type=options["type"],
                grant_type=GRANTS[options["grant"]],
                redirect_uris=_split(options["redirect_uri"]),
                allowed_scopes=_split(options["scope"]),
                allowed_resources=_split(options["resource"]),
                description=options["description"],
                client_id=options["client_id"],
                source="createclient",
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self._print(issued.client, issued.secret, created=True, as_json=options["json"])

    def _print(self, client, secret, *, created: bool, as_json: bool) -> None:
        data = {
            "created": created,
            "client_id": client.client_id,
            "name": client.name,
            "client_type": client.client_type,
            "grant_type": client.authorization_grant_type,
            "redirect_uris": client.redirect_uris.split(),
            "allowed_scopes": client.allowed_scopes.split(),
            "allowed_resources": client.allowed_resources.split(),
        }
        if secret:
            data["client_secret"] = secret
        if as_json:
            self.stdout.write(json.dumps(data))
            return
        verb = "Created" if created else "Exists, unchanged:"
        self.stdout.write(f"{verb} {client.client_type} client {client.name!r}")
        self.stdout.write(f"  client_id:     {client.client_id}")
        if secret:
            self.stdout.write(f"  client_secret: {secret}")
            self.stdout.write(
                self.style.WARNING("  Store client_secret securely. It will not be shown again.")
            )
