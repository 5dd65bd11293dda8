"""`manage.py cleanupclients`: delete dynamically registered clients nobody ever used.

Claude registers a client on every fresh connection, so unused registrations pile up.
Run it daily (cron, a Kubernetes CronJob); a deleted client gets 401 invalid_client at
the token endpoint and registers again.
"""

import json
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from oauth2_provider.models import get_application_model

from audit import events as audit

Client = get_application_model()


class Command(BaseCommand):
    help = "Delete DCR clients created more than DCR_UNUSED_CLIENT_TTL seconds ago and never used."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, dry_run: bool, **options):
        cutoff = timezone.now() - timedelta(seconds=settings.DCR_UNUSED_CLIENT_TTL)
        stale = Client.objects.filter(
            registration_source=Client.RegistrationSource.DCR, last_used_at__isnull=True, created__lt=cutoff
        )
        count = stale.count()
        if not dry_run:
            client_ids = list(stale.values_list("client_id", flat=True))
            stale.filter(client_id__in=client_ids).delete()
            audit.record_many(audit.Event.CLIENT_DELETED, client_ids=client_ids, source="cleanupclients")
        if options["json"]:
            self.stdout.write(json.dumps({"deleted": 0 if dry_run else count, "matched": count}))
        else:
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(f"{verb} {count} unused dynamically registered client(s).")
