"""`manage.py listkeys`: the signing keys and their state."""

import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from oauth import keys
from oauth.models import SigningKey


class Command(BaseCommand):
    help = "List the signing keys: pending, active, retiring (still published) or expired."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        now = timezone.now()
        ring = keys.load_keyring(now)
        active = {key.kid for key in ring.active.values()}
        rows = []
        for key in SigningKey.objects.all():
            published_until = key.retires_at + keys.token_lifetime() if key.retires_at else None
            rows.append(
                {
                    "kid": key.kid,
                    "algorithm": key.algorithm,
                    "state": keys.state_of(key, now, active),
                    "created_at": key.created_at.isoformat(),
                    "activates_at": key.activates_at.isoformat(),
                    "retires_at": key.retires_at.isoformat() if key.retires_at else None,
                    "published_until": published_until.isoformat() if published_until else None,
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps(rows))
            return
        if not rows:
            self.stdout.write("No signing keys yet: the first token or JWKS request creates them.")
            return
        self.stdout.write(f"{'KID':44}  {'ALG':5}  {'STATE':8}  {'SIGNS FROM':20}  {'RETIRES':20}")
        for row in rows:
            self.stdout.write(
                f"{row['kid']:44}  {row['algorithm']:5}  {row['state']:8}  "
                f"{row['activates_at'][:19]:20}  {(row['retires_at'] or '-')[:19]:20}"
            )
