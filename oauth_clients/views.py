"""`/oauth/register`: DOT's RFC 7591 view behind our registration policy."""

import json
import time

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from oauth2_provider.models import get_application_model
from oauth2_provider.views import DynamicClientRegistrationManagementView, DynamicClientRegistrationView

from authserver import audit
from authserver.oauth.errors import bearer_challenge, oauth_error
from oauth_clients import assertions, dcr
from oauth_clients.initial_access import spend_initial_access_token

Client = get_application_model()


def _initial_token_error(description: str, presented: bool) -> JsonResponse:
    # RFC 7591 §3 → RFC 6750 §3: a bearer error (no error code when no token was sent).
    challenge = bearer_challenge("invalid_token", description) if presented else bearer_challenge()
    return oauth_error("invalid_token", description, status=401, headers={"WWW-Authenticate": challenge})


class RegistrationView(DynamicClientRegistrationView):
    """Rate-limited per client address by authserver.ratelimits (RATELIMIT_REGISTER)."""

    def post(self, request, *args, **kwargs):
        if settings.DCR_MODE != "token":
            return self._register(request, *args, **kwargs)
        # RFC 7591 §3: registration with an initial access token from an admin.
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return _initial_token_error(
                "Registration on this server needs an initial access token from its admin.", presented=False
            )
        with transaction.atomic():
            if not spend_initial_access_token(raw.strip()):
                return _initial_token_error(
                    "The initial access token is unknown, expired, revoked or used up.", presented=True
                )
            response = self._register(request, *args, **kwargs)
            if response.status_code != 201:
                transaction.set_rollback(True)  # a refused registration does not spend a use
            return response

    def _register(self, request, *args, **kwargs):
        if request.content_type != "application/json":
            return oauth_error("invalid_client_metadata", "Send the client metadata as application/json.")
        if int(request.META.get("CONTENT_LENGTH") or 0) > dcr.MAX_BODY_BYTES:
            return oauth_error("invalid_client_metadata", f"The body exceeds {dcr.MAX_BODY_BYTES} bytes.")
        try:
            data = json.loads(request.body)
        except ValueError:
            return oauth_error("invalid_client_metadata", "The body must be valid JSON.")
        if not isinstance(data, dict):
            return oauth_error("invalid_client_metadata", "The body must be a JSON object.")
        try:
            registration = dcr.read_registration(data)
        except dcr.RegistrationError as error:
            return oauth_error(error.error, error.description)
        request._body = json.dumps(registration.body).encode()
        response = super().post(request, *args, **kwargs)
        if response.status_code != 201:
            return response
        return self._complete(request, json.loads(response.content), registration)

    def _complete(self, request, payload: dict, registration: dcr.Registration) -> JsonResponse:
        scope = " ".join(registration.allowed_scopes)
        Client.objects.filter(client_id=payload["client_id"]).update(
            allowed_scopes=scope,
            token_endpoint_auth_method=registration.auth_method,
            jwks=registration.jwks,
            jwks_uri=registration.jwks_uri,
        )
        if registration.auth_method == assertions.PRIVATE_KEY_JWT:
            payload.pop("client_secret", None)  # it authenticates with its keys only
            payload.update(
                {"jwks": registration.jwks} if registration.jwks else {"jwks_uri": registration.jwks_uri}
            )
        # RFC 7591 §3.2.1: echo what was registered (DOT says client_secret_basic for every
        # confidential client), when, and that an issued secret does not expire.
        payload["token_endpoint_auth_method"] = registration.auth_method
        payload["client_id_issued_at"] = int(time.time())
        payload["scope"] = scope
        if "authorization_code" in payload["grant_types"]:
            payload["response_types"] = ["code"]
        if registration.application_type:
            payload["application_type"] = registration.application_type
        if "client_secret" in payload:
            payload["client_secret_expires_at"] = 0
        audit.record(
            audit.Event.CLIENT_REGISTERED,
            request=request,
            client_id=payload["client_id"],
            source="dcr",
            client_name=payload.get("client_name"),
            grant_types=payload["grant_types"],
            token_endpoint_auth_method=registration.auth_method,
        )
        response = JsonResponse(payload, status=201)
        response["Cache-Control"] = "no-store"
        return response


class RegistrationManagementView(DynamicClientRegistrationManagementView):
    """DOT's RFC 7592 client configuration endpoint, audited."""

    def put(self, request, client_id: str, *args, **kwargs):
        response = super().put(request, client_id, *args, **kwargs)
        if response.status_code == 200:
            audit.record(audit.Event.CLIENT_UPDATED, request=request, client_id=client_id, source="rfc7592")
        return response

    def delete(self, request, client_id: str, *args, **kwargs):
        response = super().delete(request, client_id, *args, **kwargs)
        if response.status_code == 204:
            audit.record(audit.Event.CLIENT_DELETED, request=request, client_id=client_id, source="rfc7592")
        return response
