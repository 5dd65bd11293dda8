"""`manage.py cleanupaudit`: delete audit events older than AUDIT_RETENTION_DAYS.

Short transactions of ``--batch-size`` rows, so the server keeps writing events while it
runs. Schedule it daily (cron, a Kubernetes CronJob).
"""

import json
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.models import AuditEvent
from ops.batch_delete import delete_in_batches


class Command(BaseCommand):
    help = "Delete audit events older than AUDIT_RETENTION_DAYS (or --days), in batches."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="keep this many days instead of AUDIT_RETENTION_DAYS")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, days: int | None, batch_size: int, **options):
        days = settings.AUDIT_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        cutoff = timezone.now() - timedelta(days=days)
        deleted = delete_in_batches(AuditEvent.objects.filter(created__lt=cutoff), batch_size, pause=0)
        if options["json"]:
            self.stdout.write(json.dumps({"deleted": deleted, "retention_days": days}))
        else:
            self.stdout.write(f"Deleted {deleted} audit event(s) older than {days} day(s).")
