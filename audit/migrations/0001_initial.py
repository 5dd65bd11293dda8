import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Takes over AuditEvent from the authserver app (authserver.0006): the state only, the
    table authserver_auditevent, created by authserver.0005, keeps its name and rows."""

    initial = True

    dependencies = [
        ("authserver", "0006_audit_event_moves_to_audit_app"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('event', models.CharField(choices=[('login_succeeded', 'Sign-in succeeded'), ('login_failed', 'Sign-in failed'), ('consent_granted', 'Consent granted'), ('consent_denied', 'Consent denied'), ('consent_revoked', 'Connected app revoked'), ('client_registered', 'Client registered'), ('client_updated', 'Client updated'), ('client_deleted', 'Client deleted'), ('client_secret_rotated', 'Client secret rotated'), ('token_revoked', 'Token revoked'), ('refresh_token_reused', 'Refresh token reuse: family revoked'), ('rate_limited', 'Rate limit hit')], max_length=32)),
                        ('username', models.CharField(blank=True, help_text="The user's name at the time (or the name tried).", max_length=150)),
                        ('client_id', models.CharField(blank=True, db_index=True, max_length=255)),
                        ('ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('user_agent', models.CharField(blank=True, max_length=300)),
                        ('detail', models.JSONField(blank=True, default=dict)),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-created'],
                        'db_table': 'authserver_auditevent',
                        'indexes': [models.Index(fields=['event', 'created'], name='audit_event_created')],
                    },
                ),
            ],
        ),
    ]
