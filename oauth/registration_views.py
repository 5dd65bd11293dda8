"""`/oauth/register`: DOT's RFC 7591 and RFC 7592 views behind our registration policy."""

import json
import time

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from oauth2_provider.models import get_application_model
from oauth2_provider.views import DynamicClientRegistrationManagementView, DynamicClientRegistrationView

from audit import events as audit
from oauth.errors import bearer_challenge
from oauth_clients import assertions, dcr
from oauth_clients import cache as client_cache
from oauth_clients.initial_access import spend_initial_access_token
from ops.errors import oauth_error

Client = get_application_model()


def _initial_token_error(description: str, presented: bool) -> JsonResponse:
    # RFC 7591 §3 → RFC 6750 §3: a bearer error (no error code when no token was sent).
    challenge = bearer_challenge("invalid_token", description) if presented else bearer_challenge()
    return oauth_error("invalid_token", description, status=401, headers={"WWW-Authenticate": challenge})


class RegistrationView(DynamicClientRegistrationView):
    """Rate-limited per client address by ops.ratelimits (RATELIMIT_REGISTER)."""

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
        data = _read_metadata(request)
        if isinstance(data, HttpResponse):
            return data
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
        payload = _store_policy(payload, registration)
        payload["client_id_issued_at"] = int(time.time())
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


def _read_metadata(request) -> dict | JsonResponse:
    """The JSON object of a registration or update request, or the RFC 7591 error."""
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
    return data


def _store_policy(payload: dict, registration: dcr.Registration) -> dict:
    """Write what DOT does not store (our columns) and complete DOT's answer with it."""
    scope = " ".join(registration.allowed_scopes)
    Client.objects.filter(client_id=payload["client_id"]).update(
        allowed_scopes=scope,
        token_endpoint_auth_method=registration.auth_method,
        jwks=registration.jwks,
        jwks_uri=registration.jwks_uri,
    )
    client_cache.forget(payload["client_id"])  # update() sends no post_save
    if registration.application_type:
        payload["application_type"] = registration.application_type
    return _echo(payload, registration.auth_method, scope, registration.jwks, registration.jwks_uri)


def _echo(payload: dict, auth_method: str, scope: str, jwks: dict | None, jwks_uri: str) -> dict:
    # RFC 7591 §3.2.1 / RFC 7592 §3: say what is registered (DOT says client_secret_basic
    # for every confidential client, and knows nothing of scopes or keys).
    if auth_method == assertions.PRIVATE_KEY_JWT:
        payload.pop("client_secret", None)  # it authenticates with its keys only
        payload.update({"jwks": jwks} if jwks else {"jwks_uri": jwks_uri})
    payload["token_endpoint_auth_method"] = auth_method
    payload["scope"] = scope
    if "authorization_code" in payload["grant_types"]:
        payload["response_types"] = ["code"]
    return payload


def _registered_method(application) -> str:
    return application.token_endpoint_auth_method or (
        "none" if application.client_type == Client.CLIENT_PUBLIC else "client_secret_basic"
    )


def _auth_kind(method: str) -> str:
    return "secret" if method in dcr.SECRET_METHODS else method


class RegistrationManagementView(DynamicClientRegistrationManagementView):
    """RFC 7592 client configuration: DOT's view; an update meets the registration policy."""

    def get(self, request, client_id, *args, **kwargs):
        response = super().get(request, client_id, *args, **kwargs)
        if response.status_code != 200:
            return response
        application = Client.objects.get(client_id=client_id)
        payload = _echo(
            json.loads(response.content),
            _registered_method(application),
            application.allowed_scopes,
            application.jwks,
            application.jwks_uri,
        )
        response = JsonResponse(payload)
        response["Cache-Control"] = "no-store"
        return response

    def put(self, request, client_id, *args, **kwargs):
        auth = self._authenticate_registration_request(request, client_id)
        if isinstance(auth, HttpResponse):
            return auth
        data = _read_metadata(request)
        if isinstance(data, HttpResponse):
            return data
        if data.get("client_id", client_id) != client_id:
            return oauth_error("invalid_client_metadata", "client_id must be this client's identifier.")
        application = auth.application
        current = _registered_method(application)
        data.setdefault("token_endpoint_auth_method", current)
        try:
            registration = dcr.read_registration(data)
        except dcr.RegistrationError as error:
            return oauth_error(error.error, error.description)
        if _auth_kind(registration.auth_method) != _auth_kind(current):
            # A public client has no secret to switch to, nor a secret client keys.
            return oauth_error(
                "invalid_client_metadata",
                f"token_endpoint_auth_method {current!r} cannot become {registration.auth_method!r}; "
                "register a new client instead.",
            )
        request._body = json.dumps(registration.body).encode()
        with transaction.atomic():
            response = super().put(request, client_id, *args, **kwargs)
            if response.status_code != 200:
                transaction.set_rollback(True)
                return response
            payload = _store_policy(json.loads(response.content), registration)
        audit.record(audit.Event.CLIENT_UPDATED, request=request, client_id=client_id, source="rfc7592")
        response = JsonResponse(payload)
        response["Cache-Control"] = "no-store"
        return response

    def delete(self, request, client_id, *args, **kwargs):
        response = super().delete(request, client_id, *args, **kwargs)
        if response.status_code == 204:
            audit.record(audit.Event.CLIENT_DELETED, request=request, client_id=client_id, source="rfc7592")
        return response
