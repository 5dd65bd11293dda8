from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only: rows are written by ``audit.events.record`` and
    deleted by ``cleanupaudit`` only."""

    list_display = ("created", "event", "username", "client_id", "ip", "outcome")
    list_filter = ("event", "created", "client_id")
    date_hierarchy = "created"
    search_fields = ("username", "client_id", "ip")
    fields = ("created", "event", "user", "username", "client_id", "ip", "user_agent", "detail")
    readonly_fields = fields
    list_select_related = ("user",)
    show_full_result_count = False  # COUNT(*) over a large table on every page

    @admin.display(description="Detail")
    def outcome(self, obj) -> str:
        return ", ".join(f"{key}={value}" for key, value in obj.detail.items())[:120]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
