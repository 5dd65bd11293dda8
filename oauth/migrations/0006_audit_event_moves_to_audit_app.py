from django.db import migrations


class Migration(migrations.Migration):
    """AuditEvent now belongs to the `audit` app (audit.0001 takes it over). Only the
    migration state changes: the table authserver_auditevent stays where it is."""

    dependencies = [
        ("authserver", "0005_audit_events"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
