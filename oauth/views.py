"""Thin subclasses of DOT's views: the protocol stays DOT's, the policy and pages are ours."""

import calendar
import json
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from oauth2_provider import views as dot_views
from oauth2_provider.compat import login_not_required
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.signals import app_authorized
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error

from audit import events as audit
from oauth import consent, keys
from oauth.errors import bearer_challenge
from oauth.lookups import first_by
from oauth.scope_descriptions import describe_scopes
from oauth.validator import checksum, user_is_active
from oauth_clients import cache as client_cache
from oauth_clients import cimd, policy
from oauth_clients.api_keys import note_use as note_api_key_use
from ops.errors import oauth_error

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
SUPPORTED_GRANTS = ("authorization_code", "refresh_token", "client_credentials")


# The sign-in redirect carries the whole request, percent-encoded once more (up to three
# times longer), and Django refuses redirects over 16384 characters.
MAX_AUTHORIZE_QUERY_LENGTH = 5000


class AuthorizationView(dot_views.AuthorizationView):
    template_name = "oauth2_provider/authorize.html"

    def dispatch(self, request, *args, **kwargs):
        if len(request.META.get("QUERY_STRING", "")) > MAX_AUTHORIZE_QUERY_LENGTH:
            return self._untrusted(errors.InvalidRequestFatalError(description="The request is too long."))
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code in (301, 302, 303, 307, 308):
            # A redirect to the client carries a code or an error: never cached, and the
            # client's callback gets no Referer naming this request. Pages keep
            # `same-origin`, since their forms' POST needs an Origin (settings.py).
            response["Referrer-Policy"] = "no-referrer"
            response["Cache-Control"] = "no-store"
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["scope_rows"] = describe_scopes(context.get("scopes") or [])
        redirect_uri = context.get("redirect_uri") or ""
        context["redirect_host"] = urlsplit(redirect_uri).netloc or redirect_uri
        context["resources"] = (context.get("resource") or "").split()
        application = context.get("application")
        if application is not None:
            # draft-ietf-oauth-client-id-metadata-document §6.4; MCP "Localhost Redirect URI Risks"
            context["client_id_host"] = cimd.client_id_host(application)
            context["localhost_only"] = policy.redirects_are_loopback_only(application.redirect_uris.split())
            context["client_is_dynamic"] = consent.client_is_dynamic(application)
            context["client_is_known"] = consent.client_is_verified(application, redirect_uri)
            context["consent_is_remembered"] = not (
                settings.CONSENT_ALWAYS_FOR_DYNAMIC_CLIENTS and not context["client_is_known"]
            )
        return context

    def render_to_response(self, context, **response_kwargs):
        # DOT reaches here when it would show the consent page: a remembered consent that
        # covers this request answers "allow" on the person's behalf, through DOT's own path.
        form = context.get("form")
        if self.request.method == "GET" and form is not None and "error" not in context:
            if self._consent_is_remembered(context):
                remembered = self.get_form_class()(data={**_present(form.initial), "allow": "true"})
                if remembered.is_valid():
                    return self.form_valid(remembered)
            if "none" in self.request.GET.get("prompt", "").split():
                # OpenID Connect Core §3.1.2.6: no page may be shown, and consent is needed.
                error = CustomOAuth2Error(
                    error="consent_required",
                    description="The user has not allowed this access yet.",
                    state=context.get("state"),
                )
                return self.error_response(
                    OAuthToolkitError(error=error, redirect_uri=context["redirect_uri"]),
                    context["application"],
                )
        return super().render_to_response(context, **response_kwargs)

    def _consent_is_remembered(self, context) -> bool:
        return consent.may_skip_consent(
            self.request.user,
            context["application"],
            scopes=context.get("scopes") or [],
            resources=context["resources"],
            redirect_uri=context.get("redirect_uri") or "",
            prompt=self.request.GET.get("prompt", ""),
        )

    def form_valid(self, form):
        self.success_url = None  # DOT sets it only when the code was issued
        application = self._form_application(form)
        if not self._redirect_is_registered(application, form):
            # DOT sends a denial, or a refused resource, to the form's redirect_uri without
            # checking it: an open redirect through a tampered form (RFC 6749 §4.1.2.1).
            return self._untrusted(errors.MismatchingRedirectURIError())
        try:
            response = super().form_valid(form)
        except get_application_model().DoesNotExist:
            # A forged consent form naming no client: nothing to redirect to (RFC 6749 §4.1.2.1).
            return self._untrusted(errors.InvalidClientIdError())
        scopes = (form.cleaned_data.get("scope") or "").split()
        resources = (form.cleaned_data.get("resource") or "").split()
        client_id = form.cleaned_data["client_id"]
        # oauthlib answers a request that fails validation here with an error redirect,
        # which DOT follows as if it were a success: only a code is an allowed request.
        issued = self.success_url and "code" in dict(parse_qsl(urlsplit(self.success_url).query))
        if issued and form.cleaned_data.get("allow"):
            consent.remember_consent(self.request.user, application, scopes=scopes, resources=resources)
            if self.request.method == "POST":  # the person pressed Allow (not a remembered consent)
                audit.record(
                    audit.Event.CONSENT_GRANTED,
                    request=self.request,
                    client_id=client_id,
                    scopes=scopes,
                    resources=resources,
                )
        elif self.request.method == "POST" and _is_refusal(response):
            # DOT answered the person's "Deny" with access_denied at the client's redirect.
            audit.record(
                audit.Event.CONSENT_DENIED,
                request=self.request,
                client_id=client_id,
                scopes=scopes,
                resources=resources,
            )
        return response

    @staticmethod
    def _form_application(form):
        client_id = form.cleaned_data["client_id"]
        cached = client_cache.get(client_id)
        return cached or get_application_model().objects.filter(client_id=client_id).first()

    @staticmethod
    def _redirect_is_registered(application, form) -> bool:
        try:
            return application is not None and application.redirect_uri_allowed(
                form.cleaned_data["redirect_uri"]
            )
        except ValueError:  # a malformed URI, e.g. http://[::1
            return False

    def form_invalid(self, form):
        # The consent form only carries hidden copies of a request that was valid when the
        # page was shown: a form that does not validate was altered, and cannot be trusted.
        return self._untrusted(
            errors.InvalidRequestFatalError(description="The consent form was altered or is incomplete.")
        )

    def _untrusted(self, error):
        return self.error_response(FatalClientError(error=error), None)

    def get(self, request, *args, **kwargs):
        if "approval_prompt" in request.GET:
            # DOT's `approval_prompt=auto` skips consent on any live token, whatever its
            # resource; the remembered consent (oauth.consent) decides instead.
            request.GET = request.GET.copy()
            del request.GET["approval_prompt"]
        resources = request.GET.getlist("resource")
        try:
            _, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError:
            return super().get(request, *args, **kwargs)  # DOT renders the error
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        problem = policy.resource_target_problem(application, resources)
        if problem:
            error = CustomOAuth2Error(
                error="invalid_target", description=problem, state=credentials.get("state")
            )
            return self.error_response(
                OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"]), application
            )
        return super().get(request, *args, **kwargs)

    def redirect(self, redirect_to, application):
        # RFC 9207 §2: `iss` belongs in error responses too; DOT adds it to successes only.
        if "iss" not in dict(parse_qsl(urlsplit(redirect_to).query)):
            redirect_to = add_params_to_uri(redirect_to, [("iss", settings.ISSUER)])
        return super().redirect(redirect_to, application)


def _is_refusal(response) -> bool:
    location = response.get("Location", "") if response.status_code == 302 else ""
    return dict(parse_qsl(urlsplit(location).query)).get("error") == "access_denied"


def _present(initial: dict) -> dict:
    return {key: value for key, value in initial.items() if value is not None}


class TokenView(dot_views.TokenView):
    def post(self, request, *args, **kwargs):
        # RFC 6749 §3.2: the token endpoint takes form-encoded bodies only. Without this a
        # JSON body surfaces as a puzzling `unsupported_grant_type`.
        if request.content_type != FORM_CONTENT_TYPE:
            return oauth_error("invalid_request", f"The token request body must be {FORM_CONTENT_TYPE}.")
        if request.POST.get("grant_type") not in SUPPORTED_GRANTS:
            # DOT would route a device_code request to its device flow (a 500 when the
            # body lacks `device_code`); OAuth 2.1 here serves three grants only.
            return oauth_error("unsupported_grant_type", f"Supported grants: {', '.join(SUPPORTED_GRANTS)}.")
        if request.POST.get("grant_type") == "authorization_code":
            # Saving the tokens and deleting the code commit together: a database lost in
            # between leaves neither (the code can be exchanged again) instead of a token
            # issued and a code still valid for a second one.
            with transaction.atomic():
                return self._respond(request, *args, **kwargs)
        return self._respond(request, *args, **kwargs)

    def _respond(self, request, *args, **kwargs):
        if app_authorized.has_listeners():
            return _json_errors(_basic_challenge(super().post(request, *args, **kwargs)))
        # DOT re-reads the token it just issued only to send `app_authorized`; with no
        # receiver that is a wasted query on every token request.
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return _json_errors(_basic_challenge(response))


class RevokeTokenView(dot_views.RevokeTokenView):
    def post(self, request, *args, **kwargs):
        return _basic_challenge(super().post(request, *args, **kwargs))


# RFC 6749 §5.2: what each error means, for answers oauthlib sends without a description.
TOKEN_ERROR_DESCRIPTIONS = {
    "invalid_request": "The request is missing a parameter, repeats one, or is malformed.",
    "invalid_client": "Client authentication failed (unknown client, wrong credentials or method).",
    "invalid_grant": "The code or refresh token is invalid, expired, revoked or another client's.",
    "unauthorized_client": "This client may not use this grant type.",
    "unsupported_grant_type": "This grant type is not supported.",
    "invalid_scope": "The requested scope is invalid, unknown, or not allowed for this client.",
}


def _json_errors(response):
    # An OAuth2Error raised while saving the token (e.g. invalid_target) reaches the client
    # through DOT with oauthlib's headers only; RFC 6749 §5.2 errors are JSON, not cached.
    if response.status_code < 400:
        return response
    if response.get("Content-Type", "").startswith("text/html"):
        response["Content-Type"] = "application/json"
        response["Cache-Control"] = "no-store"
    try:
        body = json.loads(response.content)
    except ValueError:
        return response
    if isinstance(body, dict) and not body.get("error_description"):
        description = TOKEN_ERROR_DESCRIPTIONS.get(body.get("error"))
        if description:
            body["error_description"] = description
            response.content = json.dumps(body)
    return response


def _basic_challenge(response):
    # RFC 6749 §5.2: a failed client authentication answers with the scheme the client
    # authenticates with (oauthlib says "Bearer", which names no client credential).
    if response.status_code == 401:
        response["WWW-Authenticate"] = 'Basic realm="oauth", error="invalid_client"'
    return response


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class IntrospectTokenView(dot_views.IntrospectTokenView):
    """RFC 7662 for resource servers: confidential clients, or a token with `introspection`."""

    def dispatch(self, request, *args, **kwargs):
        # RFC 7662 §2.1 is POST; DOT also answers GET, which puts tokens in URLs (and so
        # in proxies' and browsers' logs). Refused before any credential is looked at.
        if request.method != "POST":
            response = oauth_error(
                "invalid_request", "Introspection takes a POST with a form-encoded body.", status=405
            )
            response["Allow"] = "POST"
            return response
        return super().dispatch(request, *args, **kwargs)

    def unauthenticated_response(self, request, oauthlib_request=None):
        # RFC 7662 §2.3: 401 both for bad client credentials and for a bearer token that
        # is invalid or lacks the privilege (RFC 6750 §3 challenge).
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            description = "The bearer token is invalid or lacks the introspection scope."
            return oauth_error(
                "invalid_token",
                description,
                status=401,
                headers={"WWW-Authenticate": bearer_challenge("invalid_token", description, "introspection")},
            )
        return oauth_error(
            "invalid_client",
            "Introspection requires a confidential client's credentials "
            "or a bearer token with the introspection scope.",
            status=401,
            headers={"WWW-Authenticate": 'Basic realm="introspection", Bearer scope="introspection"'},
        )

    @staticmethod
    def get_token_response(token_value=None):
        if token_value is None:
            return oauth_error("invalid_request", "Token parameter is missing.")
        token = first_by(
            get_access_token_model(), "token_checksum", checksum(token_value), related=("user", "application")
        )
        if (
            token is None
            or not token.is_valid()
            or is_registration_token(token)
            or not user_is_active(token.user)
        ):
            return _no_store({"active": False})
        note_api_key_use(token_value)
        data = {
            "active": True,
            "iss": settings.ISSUER,
            "token_type": "Bearer",
            "scope": token.scope,
            "exp": int(calendar.timegm(token.expires.timetuple())),
            "iat": int(calendar.timegm(token.created.timetuple())),
        }
        if token.application:
            data["client_id"] = token.application.client_id
        if token.user:
            data["sub"] = str(token.user.pk)
            data["username"] = token.user.get_username()
        if token.resource:
            data["aud"] = token.resource
        return _no_store(data)


def is_registration_token(token) -> bool:
    """RFC 7592 registration access tokens open their client's configuration endpoint and
    nothing else: never an access token anywhere, never `active` at introspection."""
    return token.scope == oauth2_settings.DCR_REGISTRATION_SCOPE


def _no_store(data: dict) -> JsonResponse:
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@require_GET
def jwks(request):
    """RFC 7517 key set: pending, active and retiring public keys, each with its `kid`."""
    response = JsonResponse(keys.published_keyring().jwks())
    max_age = keys.jwks_max_age()
    response["Cache-Control"] = f"public, max-age={max_age}" if max_age else "no-cache"
    return response
