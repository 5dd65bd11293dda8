"""The client registry in the Django admin.

The admin never types a secret. A new confidential client gets one generated on save and
shown once, on the response to that very request (never stored in a message, a session or
a cookie); only its HMAC is kept. "Rotate secret" does the same for existing clients.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from oauth2_provider.models import get_application_model

from audit import events as audit
from oauth_clients import policy
from oauth_clients.api_keys import create_api_key, revoke_api_key, validate_api_key_request
from oauth_clients.assertions import PRIVATE_KEY_JWT
from oauth_clients.initial_access import create_initial_access_token
from oauth_clients.models import ApiKey, InitialAccessToken
from oauth_clients.secrets import new_client_secret
from oauth_clients.services import rotate_client_secret

Client = get_application_model()

GRANT_CHOICES = [
    (Client.GRANT_AUTHORIZATION_CODE, "Authorization code + PKCE (users sign in)"),
    (Client.GRANT_CLIENT_CREDENTIALS, "Client credentials (service to service)"),
]


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").split() if line.strip()]


class ClientAdminForm(forms.ModelForm):
    authorization_grant_type = forms.ChoiceField(choices=GRANT_CHOICES, label="Allowed grant type")
    redirect_uris = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line. https, http on loopback only (any port is accepted at runtime), "
        "or a native custom scheme from CUSTOM_REDIRECT_SCHEMES. No fragments or wildcards.",
    )
    allowed_scopes = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: the configured DEFAULT_SCOPES.",
    )
    allowed_resources = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="MCP server URLs (RFC 8707 resources) this client may ask tokens for, one per line. "
        "Empty: any.",
    )

    class Meta:
        model = Client
        fields = [
            "name",
            "client_type",
            "authorization_grant_type",
            "redirect_uris",
            "allowed_scopes",
            "allowed_resources",
            "description",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["allowed_scopes"].choices = [
            (scope, f"{scope} — {description}") for scope, description in settings.SCOPES.items()
        ]
        if self.instance and self.instance.pk:
            self.initial["allowed_scopes"] = self.instance.allowed_scopes.split()
            self.initial["redirect_uris"] = "\n".join(self.instance.redirect_uris.split())
            self.initial["allowed_resources"] = "\n".join(self.instance.allowed_resources.split())
        self.fields["name"].required = True

    def clean_redirect_uris(self) -> str:
        uris = _lines(self.cleaned_data["redirect_uris"])
        policy.validate_redirect_uris(uris)
        return " ".join(uris)

    def clean_allowed_scopes(self) -> str:
        return " ".join(self.cleaned_data["allowed_scopes"])

    def clean_allowed_resources(self) -> str:
        uris = _lines(self.cleaned_data["allowed_resources"])
        policy.validate_resources(uris)
        return " ".join(uris)

    def clean(self):
        cleaned = super().clean()
        grant = cleaned.get("authorization_grant_type")
        client_type = cleaned.get("client_type")
        if grant == Client.GRANT_AUTHORIZATION_CODE and not cleaned.get("redirect_uris"):
            self.add_error("redirect_uris", "An authorization-code client needs at least one redirect URI.")
        if client_type == Client.CLIENT_PUBLIC and grant == Client.GRANT_CLIENT_CREDENTIALS:
            self.add_error(
                "authorization_grant_type",
                "A public client has no secret, so it cannot use client credentials.",
            )
        return cleaned


class RegisteredDynamicallyFilter(admin.SimpleListFilter):
    title = "registered dynamically"
    parameter_name = "dynamic"

    def lookups(self, request, model_admin):
        return [("yes", "Yes (DCR or metadata document)"), ("no", "No (admin or command)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(registration_source="manual")
        if self.value() == "no":
            return queryset.filter(registration_source="manual")
        return queryset


class RotateSecretForm(forms.Form):
    grace_seconds = forms.IntegerField(
        min_value=0,
        max_value=30 * 24 * 3600,
        initial=0,
        label="Grace period (seconds)",
        help_text="How long the old secret keeps working, so a deployed service can switch without downtime.",
    )


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fk_name = "client"
    extra = 0
    can_delete = False
    fields = ("name", "user", "scope", "expires", "last_used_at", "revoked_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # issued from the API key page, where the key is shown once


class ClientAdmin(admin.ModelAdmin):
    form = ClientAdminForm
    inlines = [ApiKeyInline]
    list_display = (
        "name",
        "client_id",
        "client_type",
        "authorization_grant_type",
        "registration_source",
        "created",
    )
    list_filter = ("client_type", "authorization_grant_type", RegisteredDynamicallyFilter)
    search_fields = ("name", "client_id")
    readonly_fields = (
        "client_id",
        "secret_status",
        "registration_source",
        "created",
        "updated",
        "last_used_at",
    )
    radio_fields = {"client_type": admin.HORIZONTAL}
    actions = ["rotate_secret"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_fields(self, request, obj=None):
        fields = list(self.form.Meta.fields)
        if obj is not None:
            fields = ["client_id", "secret_status", *fields, "registration_source", "created", "last_used_at"]
        return fields

    @admin.display(description="Client secret")
    def secret_status(self, obj) -> str:
        if obj.token_endpoint_auth_method == PRIVATE_KEY_JWT:
            keys = obj.jwks_uri or "the keys in its registration"
            return f"None: authenticates with signed assertions (private_key_jwt), verified with {keys}."
        if obj.client_type != Client.CLIENT_CONFIDENTIAL:
            return "None (public client: PKCE only)"
        status = "Set; stored hashed, never shown again. Use the “Rotate secret” action for a new one."
        if obj.previous_secret_valid_until:
            status += (
                f" The previous secret works until {obj.previous_secret_valid_until:%Y-%m-%d %H:%M UTC}."
            )
        return status

    def save_model(self, request, obj, form, change):
        if not obj.algorithm:
            obj.algorithm = Client.RS256_ALGORITHM
        if not change:
            if obj.client_type == Client.CLIENT_CONFIDENTIAL:
                obj._issued_secret = new_client_secret()
                obj.client_secret = obj._issued_secret
                obj.hash_client_secret = True
            else:
                obj.client_secret = ""
                obj.hash_client_secret = False
        elif "client_type" in form.changed_data:
            if obj.client_type == Client.CLIENT_PUBLIC:
                obj.client_secret = ""
            else:
                obj._issued_secret = new_client_secret()
                obj.client_secret = obj._issued_secret
                obj.hash_client_secret = True
        super().save_model(request, obj, form, change)
        if change:
            audit.record(
                audit.Event.CLIENT_UPDATED,
                request=request,
                client_id=obj.client_id,
                source="admin",
                changed=form.changed_data,
                new_secret_issued=bool(getattr(obj, "_issued_secret", None)),
            )
        else:
            audit.record(
                audit.Event.CLIENT_REGISTERED,
                request=request,
                client_id=obj.client_id,
                source="admin",
                client_name=obj.name,
                client_type=obj.client_type,
                grant_types=[obj.authorization_grant_type],
            )

    def delete_model(self, request, obj):
        client_id = obj.client_id
        super().delete_model(request, obj)
        audit.record(audit.Event.CLIENT_DELETED, request=request, client_id=client_id, source="admin")

    def delete_queryset(self, request, queryset):
        client_ids = list(queryset.values_list("client_id", flat=True))
        super().delete_queryset(request, queryset)
        for client_id in client_ids:
            audit.record(audit.Event.CLIENT_DELETED, request=request, client_id=client_id, source="admin")

    def _secret_page(self, request, clients_with_secrets):
        response = TemplateResponse(
            request,
            "admin/oauth_clients/secret_once.html",
            {
                **self.admin_site.each_context(request),
                "title": "Copy the client secret now",
                "issued": clients_with_secrets,
                "opts": self.model._meta,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(obj, "_issued_secret", None)
        if secret:
            return self._secret_page(request, [(obj, secret)])
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        secret = getattr(obj, "_issued_secret", None)
        if secret:
            return self._secret_page(request, [(obj, secret)])
        return super().response_change(request, obj)

    @admin.action(description="Rotate secret of selected clients")
    def rotate_secret(self, request, queryset):
        confidential = queryset.filter(client_type=Client.CLIENT_CONFIDENTIAL)
        if not confidential.exists():
            self.message_user(request, "Public clients have no secret to rotate.", messages.WARNING)
            return None
        form = RotateSecretForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            grace = timedelta(seconds=form.cleaned_data["grace_seconds"])
            try:
                issued = [
                    (client, rotate_client_secret(client, grace, request=request, source="admin"))
                    for client in confidential
                ]
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
                return None
            return self._secret_page(request, issued)
        return TemplateResponse(
            request,
            "admin/oauth_clients/rotate_secret.html",
            {
                **self.admin_site.each_context(request),
                "title": "Rotate client secrets",
                "clients": confidential,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    class Media:
        js = ("oauth_clients/copy-secret.js",)


class ApiKeyAdminForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    resources = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="One per line."
    )
    expires_in_days = forms.IntegerField(min_value=1, max_value=3650, initial=365)

    class Meta:
        model = ApiKey
        fields = ["name", "client", "user"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(s, f"{s} — {d}") for s, d in settings.SCOPES.items()]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("client") and cleaned.get("scopes") and cleaned.get("expires_in_days"):
            cleaned["resource_list"] = _lines(cleaned.get("resources", ""))
            validate_api_key_request(
                cleaned["client"],
                cleaned["scopes"],
                cleaned["resource_list"],
                timedelta(days=cleaned["expires_in_days"]),
            )
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "client", "user", "scope", "expires", "last_used_at", "revoked_at")
    list_filter = ("client",)
    list_select_related = ("client", "user")
    search_fields = ("name", "client__name", "client__client_id")
    raw_id_fields = ("user",)
    actions = ["revoke"]
    readonly_fields = (
        "name",
        "client",
        "user",
        "scope",
        "resource",
        "expires",
        "created",
        "last_used_at",
        "revoked_at",
    )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAdminForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "client", "user", "scopes", "resources", "expires_in_days"]
        return list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        return obj is None or request.method == "GET"

    def save_model(self, request, obj, form, change):
        key, raw = create_api_key(
            form.cleaned_data["client"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            resource=form.cleaned_data["resource_list"],
            expires_in=timedelta(days=form.cleaned_data["expires_in_days"]),
            user=form.cleaned_data.get("user"),
            created_by=request.user,
        )
        obj.pk = key.pk
        obj._issued_key = raw

    def save_related(self, request, form, formsets, change):
        pass  # the key row was written by create_api_key

    def response_add(self, request, obj, post_url_continue=None):
        response = TemplateResponse(
            request,
            "admin/oauth_clients/api_key_once.html",
            {
                **self.admin_site.each_context(request),
                "title": "Copy the API key now",
                "key": ApiKey.objects.select_related("client").get(pk=obj.pk),
                "raw": obj._issued_key,
                "opts": self.model._meta,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            revoke_api_key(key)
        self.message_user(request, "Revoked.", messages.SUCCESS)


class InitialAccessTokenAdminForm(forms.ModelForm):
    expires_in_days = forms.IntegerField(min_value=1, max_value=365, initial=7)

    class Meta:
        model = InitialAccessToken
        fields = ["name", "max_uses"]


@admin.register(InitialAccessToken)
class InitialAccessTokenAdmin(admin.ModelAdmin):
    """RFC 7591 §3 initial access tokens for DCR_MODE=token: issued here, shown once."""

    list_display = ("name", "uses", "max_uses", "expires", "last_used_at", "revoked_at", "created_by")
    readonly_fields = (
        "name",
        "uses",
        "max_uses",
        "expires",
        "created",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = InitialAccessTokenAdminForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "max_uses", "expires_in_days"] if obj is None else list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        return obj is None or request.method == "GET"

    def save_model(self, request, obj, form, change):
        token, raw = create_initial_access_token(
            form.cleaned_data["name"],
            timedelta(days=form.cleaned_data["expires_in_days"]),
            max_uses=form.cleaned_data.get("max_uses"),
            created_by=request.user,
        )
        obj.pk = token.pk
        obj._issued_token = raw

    def save_related(self, request, form, formsets, change):
        pass  # the row was written by create_initial_access_token

    def response_add(self, request, obj, post_url_continue=None):
        response = TemplateResponse(
            request,
            "admin/oauth_clients/initial_access_token_once.html",
            {
                **self.admin_site.each_context(request),
                "title": "Copy the initial access token now",
                "token": InitialAccessToken.objects.get(pk=obj.pk),
                "raw": obj._issued_token,
                "opts": self.model._meta,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected initial access tokens")
    def revoke(self, request, queryset):
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, "Revoked.", messages.SUCCESS)
