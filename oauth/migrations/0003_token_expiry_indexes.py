"""Indexes on the columns that expiry and cleanup filter on.

DOT 3.4.1 indexes neither ``expires`` nor ``revoked``, so ``clearexpiredtokens`` (and
DOT's ``cleartokens``) would scan whole token tables. On PostgreSQL the indexes are built
CONCURRENTLY, so applying this migration to a live deployment does not block token issuance.
"""

from django.db import migrations

INDEXES = [
    ("authserver_at_expires_idx", "oauth2_provider_accesstoken", "expires"),
    ("authserver_rt_revoked_idx", "oauth2_provider_refreshtoken", "revoked"),
    ("authserver_grant_expires_idx", "oauth2_provider_grant", "expires"),
    ("authserver_idt_expires_idx", "oauth2_provider_idtoken", "expires"),
]


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {table} ({column})"  # noqa: S608
        )


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("authserver", "0002_signing_keys"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    operations = [migrations.RunPython(create, drop)]
