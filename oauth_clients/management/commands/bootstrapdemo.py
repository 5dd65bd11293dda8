"""Create the demo admin and the demo public client on a fresh database (for `make run`).

Idempotent: what exists is left alone, and credentials are printed only when created.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model

from oauth_clients.services import create_client

DEMO_CLIENT_ID = "demo-mcp-client"
# RFC 8252 §7.3: registered without a port, any loopback port is accepted at runtime.
DEMO_REDIRECT_URIS = "http://127.0.0.1/callback http://localhost/callback"


class Command(BaseCommand):
    help = "Create the demo admin user and demo public client if they do not exist."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        User = get_user_model()
        if not User.objects.filter(username=username).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email="", password=password)
            self.stdout.write(f"Demo admin created: username={username} password={password}")
            self.stdout.write("  (shown once; change it in the admin)")
        Application = get_application_model()
        if not Application.objects.filter(client_id=DEMO_CLIENT_ID).exists():
            create_client(
                client_id=DEMO_CLIENT_ID,
                name="Demo MCP client",
                client_type=Application.CLIENT_PUBLIC,
                grant_type=Application.GRANT_AUTHORIZATION_CODE,
                redirect_uris=DEMO_REDIRECT_URIS.split(),
                allowed_scopes=list(settings.SCOPES),
            )
            self.stdout.write(
                f"Demo public client created: client_id={DEMO_CLIENT_ID} "
                f"redirect_uris={DEMO_REDIRECT_URIS} (PKCE S256 required)"
            )
