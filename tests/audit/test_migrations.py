"""A database made before the audit trail had its own app upgrades with `migrate` alone."""

import pytest
from django.core.management import call_command
from django.db import connection

from audit.models import AuditEvent


@pytest.mark.django_db(transaction=True)
def test_audit_rows_written_before_the_app_moved_survive_migrate():
    # Back to the schema of the release before the move: the table belonged to `authserver`.
    call_command("migrate", "authserver", "0005", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO authserver_auditevent (created, event, username, client_id, user_agent, detail)"
            " VALUES (CURRENT_TIMESTAMP, 'login_failed', 'mallory', '', '', '{}')"
        )
    call_command("migrate", verbosity=0)

    (row,) = AuditEvent.objects.all()
    assert (row.event, row.username) == ("login_failed", "mallory")
    assert AuditEvent._meta.db_table == "authserver_auditevent"
