"""`manage.py clearexpiredtokens`: delete expired tokens in small batches.

DOT's ``cleartokens`` counts the whole matching set before every batch; on a table of a
million rows that count is most of the run. This command keeps DOT's rules for what may go
(see ``oauth2_provider.models.clear_expired``) but walks each set by primary key through the
indexes of migration ``authserver.0002``, one short transaction per batch, so token issuance
goes on while it runs. Schedule it hourly (cron, a Kubernetes CronJob).
"""

import json
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from oauth.models import RedeemedCode
from ops.batch_delete import delete_in_batches

qn = connection.ops.quote_name


def expired_sets(now) -> dict:
    """What may be deleted, in an order where nothing deleted is still referenced."""
    refresh_expire = timedelta(seconds=settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"])
    code_lifetime = timedelta(seconds=settings.OAUTH2_PROVIDER["AUTHORIZATION_CODE_EXPIRE_SECONDS"])
    refresh_tokens = get_refresh_token_model().objects
    return {
        # Rotated refresh tokens stay until they would have expired: presenting one again
        # is what reveals a stolen token and revokes its family.
        "revoked refresh tokens": refresh_tokens.filter(revoked__lte=now - refresh_expire),
        "orphaned refresh tokens": refresh_tokens.filter(revoked__isnull=True, access_token__isnull=True),
        "idle refresh tokens": refresh_tokens.filter(
            revoked__isnull=True, access_token__expires__lte=now - refresh_expire
        ),
        "access tokens": get_access_token_model().objects.filter(
            Q(refresh_token__isnull=True), expires__lt=now
        ),
        "id tokens": get_id_token_model().objects.filter(access_token__isnull=True, expires__lt=now),
        "authorization codes": get_grant_model().objects.filter(expires__lt=now),
        # A replayed code is refused anyway once it has expired; the record is no longer needed.
        "redeemed code records": RedeemedCode.objects.filter(redeemed_at__lt=now - code_lifetime),
    }


class Command(BaseCommand):
    help = "Delete expired and long-revoked tokens, codes and id_tokens in batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to sleep between batches")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, batch_size: int, pause: float, **options):
        started = time.monotonic()
        counts = {
            name: delete_in_batches(queryset, batch_size, pause)
            for name, queryset in expired_sets(timezone.now()).items()
        }
        seconds = round(time.monotonic() - started, 2)
        if options["json"]:
            self.stdout.write(json.dumps({"deleted": counts, "seconds": seconds}))
            return
        for name, count in counts.items():
            self.stdout.write(f"{count:>9} {name}")
        self.stdout.write(f"Done in {seconds} s.")
