"""Our policy on top of django-oauth-toolkit's OAuth2Validator.

DOT and oauthlib own the protocol. Each override here is one rule of ours, named by the
hook it sits in:

- unknown scopes at the authorization endpoint are dropped, not fatal;
- only confidential clients authenticate (closes DOT's public-client introspection hole);
- a client whose ``algorithm`` is blank still gets an RS256 id_token (no 500);
- a refresh token repeated inside ``REFRESH_TOKEN_GRACE_SECONDS`` gets the same new pair;
- a redeemed authorization code presented again revokes what it was exchanged for;
- metadata-document clients get our document policy, and `private_key_jwt` clients
  authenticate with RFC 7523 assertions (oauth_clients/cimd.py, assertions.py).
"""

import base64
import hashlib
import json
import logging
import threading
from urllib.parse import unquote_plus, urlsplit

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator as DOTValidator
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from audit import events as audit
from oauth import keys, refresh_grace
from oauth.lookups import first_by, insert, lock_row, save_new_row_with_prepared_insert
from oauth.models import RedeemedCode
from oauth_clients import assertions, cimd, policy
from oauth_clients import cache as client_cache

logger = logging.getLogger(__name__)

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()
IDToken = get_id_token_model()

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_GRANTS = ("authorization_code", "refresh_token", "client_credentials")


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class OAuth2Validator(DOTValidator):
    # One validator serves every request of a worker, threads included.
    _local = threading.local()

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        available = set(get_scopes_backend().get_available_scopes(application=client, request=request))
        if getattr(request, "response_type", None):
            # Authorization endpoint: clients send odd scopes (`claudeai`, a stale list);
            # drop what we do not know and let the token's `scope` say what was granted.
            known = [scope for scope in scopes if scope in available]
            if not known:
                known = list(self.get_default_scopes(client_id, request))
            scopes[:] = known
            return True
        return set(scopes).issubset(available)

    # OpenID Connect Core §3.1.2.6, `prompt=none` with `openid`: oauthlib asks these before
    # the view runs, without the session. The view answers: DOT's handle_no_permission
    # redirects with login_required, our AuthorizationView with consent_required.
    def validate_silent_login(self, request):
        return True

    def validate_silent_authorization(self, request):
        return True

    def _load_application(self, client_id, request):
        if client_id and not client_cache.could_name_a_client(client_id):
            return None
        cached = None
        if client_id and request.client is None:
            cached = client_cache.get(client_id)
            request.client = cached
        with cimd.capture_document() as fetched:
            client = super()._load_application(client_id, request)
        if client is not None and client.client_id in fetched:
            # DOT just stored this metadata-document client; add what it leaves out.
            client = cimd.apply_document(client, fetched[client.client_id])
        if client is not None and client is not cached:
            client_cache.put(client)
        return client

    def authenticate_client(self, request, *args, **kwargs):
        # DOT lets a public client "authenticate" with only its client_id when the body
        # names the device_code grant, which opened introspection to any public client.
        # We serve no device flow, and public clients have no credentials to check.
        if request.grant_type == DEVICE_CODE_GRANT:
            return False
        if assertions.presents_assertion(request):
            return self._authenticate_with_assertion(request)
        authenticated = super().authenticate_client(request, *args, **kwargs)
        if authenticated and request.client.token_endpoint_auth_method == assertions.PRIVATE_KEY_JWT:
            return False  # registered for assertions: nothing else authenticates it
        client_id, presented = self._presented_credentials(request)
        if not authenticated:
            # A rotated secret keeps working until the end of its grace period. (DOT's
            # failed attempts may have reset request.client, so load it again.)
            client = self._load_application(client_id, request) if client_id else None
            return bool(
                client is not None
                and client.client_type == AbstractApplication.CLIENT_CONFIDENTIAL
                and presented
                and client.previous_client_secret
                and client.previous_secret_valid_until
                and client.previous_secret_valid_until > timezone.now()
                and check_password(presented, client.previous_client_secret)
            )
        client = request.client
        if client.client_type != AbstractApplication.CLIENT_CONFIDENTIAL:
            return False
        hasher = oauth2_settings.CLIENT_SECRET_HASHER
        if presented and not client.client_secret.startswith(f"{hasher}$"):
            # Secrets stored by DOT's PBKDF2 default move to the fast hash on first use.
            type(client).objects.filter(pk=client.pk).update(
                client_secret=make_password(presented, hasher=hasher)
            )
        return True

    def client_authentication_required(self, request, *args, **kwargs):
        if assertions.presents_assertion(request):
            return True
        return super().client_authentication_required(request, *args, **kwargs)

    def _authenticate_with_assertion(self, request) -> bool:
        """RFC 7523 §2.2, at the token and revocation endpoints only (never introspection:
        anyone can publish a metadata document with keys of their own)."""
        at_revocation = urlsplit(request.uri).path.rstrip("/") == reverse("oauth2_provider:revoke-token")
        if request.grant_type not in ASSERTION_GRANTS and not at_revocation:
            return False
        if self._extract_basic_auth(request) or getattr(request, "client_secret", None):
            return False  # one authentication method per request
        client_id = getattr(request, "client_id", None) or assertions.unverified_issuer(
            getattr(request, "client_assertion", None) or ""
        )
        client = self._load_application(client_id, request) if client_id else None
        if client is None:
            return False
        try:
            assertions.verify_client_assertion(request, client)
        except assertions.AssertionError_ as error:
            logger.info("client assertion refused for %s: %s", client_id, error)
            return False
        return True

    def _presented_credentials(self, request) -> tuple[str | None, str | None]:
        """The client_id and secret sent by HTTP Basic (RFC 6749 §2.3.1) or in the body."""
        encoded = self._extract_basic_auth(request)
        if encoded:
            try:
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, None
            return unquote_plus(client_id), unquote_plus(secret)
        return getattr(request, "client_id", None), getattr(request, "client_secret", None) or None

    def finalize_id_token(self, id_token, token, token_handler, request):
        # DOT's createapplication leaves `algorithm` blank; signing would then raise
        # ImproperlyConfigured (a 500 at /token). Sign with our RS256 key instead.
        if not request.client.algorithm:
            request.client.algorithm = AbstractApplication.RS256_ALGORITHM
        jwt_value = super().finalize_id_token(id_token, token, token_handler, request)
        self.finalize_id_token_and_remember(jwt_value, request)
        return jwt_value

    # --- authorization codes: RFC 6749 §4.1.2 / RFC 9700 §4.5 -------------------------

    # DOT looks the grant up again for every question oauthlib asks about the code (six
    # queries per exchange); one lookup per request answers them all.
    def _grant(self, code, client, request):
        memo = getattr(request, "grant_memo", None)
        if memo is None or memo[0] != code:
            grant = first_by(Grant, "code", code, related=("user",))
            memo = request.grant_memo = (code, grant)
        grant = memo[1]
        # A code is only ever good for the client it was issued to.
        if grant is None or (client is not None and grant.application_id != client.pk):
            return None
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = self._grant(code, client, request)
        if grant is not None and not grant.is_expired() and user_is_active(grant.user):
            request.scopes = grant.scope.split(" ")
            request.user = grant.user
            if grant.nonce:
                request.nonce = grant.nonce
            if grant.claims:
                request.claims = json.loads(grant.claims)
            return True
        redeemed = RedeemedCode.objects.filter(code_checksum=checksum(code), application=client).first()
        if redeemed is not None:
            # "If an authorization code is used more than once, the authorization server
            # MUST deny the request and SHOULD revoke all tokens previously issued based
            # on that authorization code."
            logger.warning("authorization code replayed; revoking its tokens", extra={"client_id": client_id})
            redeemed.revoke_issued_tokens()
        return False

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs):
        request = args[0] if args else kwargs["request"]
        grant = self._grant(code, client, request)
        return grant is not None and grant.redirect_uri_allowed(redirect_uri)

    def get_code_challenge(self, code, request):
        grant = self._grant(code, request.client, request)
        return (grant.code_challenge or None) if grant else None

    def get_code_challenge_method(self, code, request):
        grant = self._grant(code, request.client, request)
        return (grant.code_challenge_method or None) if grant else None

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request.client, request)
        return grant.scope.split() if grant and grant.scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request.client, request)
        return (grant.nonce or None) if grant else None

    def _load_access_token(self, token):
        return first_by(AccessToken, "token_checksum", checksum(token), related=("application", "user"))

    def validate_bearer_token(self, token, scopes, request):
        valid = super().validate_bearer_token(token, scopes, request)
        access_token = getattr(request, "access_token", None)
        return valid and user_is_active(getattr(access_token, "user", None))

    def validate_jwt_bearer_token(self, token, scopes, request):
        # oauthlib hands every bearer token that looks like a JWT to this hook, which DOT
        # reads as an id_token used as a credential. Ours are RFC 9068 access tokens: they
        # are recorded like any access token, so check them the same way.
        return self.validate_bearer_token(token, scopes, request)

    def _get_key_for_token(self, token):
        # id_tokens are signed with the shared keys (oauth/keys.py): verify against
        # every published one, so a token signed before a rotation still checks out.
        return keys.keyring().public_keyset()

    def _load_id_token(self, token):
        # The id_token DOT just signed is still on hand; re-verifying the JWT and two
        # lookups to find it again would only cost time.
        issued = getattr(self._local, "issued_id_token", None)
        if issued is not None and issued[0] == token:
            return issued[1]
        return super()._load_id_token(token)

    def finalize_id_token_and_remember(self, jwt_value: str, request) -> None:
        self._local.issued_id_token = (jwt_value, request.id_token)

    def _save_id_token(self, jti, request, expires, *args, **kwargs):
        # DOT's row (its `IDToken.objects.create`), through the INSERT compiled once.
        id_token = IDToken(
            user=request.user,
            scope=request.scope or " ".join(request.scopes),
            expires=expires,
            jti=jti,
            application=request.client,
        )
        insert(id_token)
        return id_token

    def _set_token_value(self, token_instance, raw_token):
        super()._set_token_value(token_instance, raw_token)
        if token_instance._state.adding:
            # DOT builds a new access or refresh token, sets its value here and saves it
            # next: that save goes through one INSERT compiled once per process.
            save_new_row_with_prepared_insert(token_instance)

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        request.issued_access_token = access_token
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        request.issued_refresh_token = refresh_token
        return refresh_token

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        try:
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        except errors.InvalidGrantError:
            # A concurrent exchange deleted the code first: the tokens saved for this one
            # are undone with it (TokenView runs the exchange in one transaction).
            if connection.in_atomic_block:
                transaction.set_rollback(True)
            raise
        refresh_token = getattr(request, "issued_refresh_token", None)
        access_token = getattr(request, "issued_access_token", None)
        client = request.client
        if client.last_used_at is None:
            # Marks the client as in use, so unused-registration cleanup keeps it.
            type(client).objects.filter(pk=client.pk).update(last_used_at=timezone.now())
            client_cache.forget(client.client_id)
        insert(
            RedeemedCode(
                code_checksum=checksum(code),
                application=request.client,
                access_token_checksum=access_token.token_checksum if access_token else "",
                token_family=refresh_token.token_family if refresh_token else None,
            )
        )

    # --- refresh tokens: rotation with a short grace window ----------------------------

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = self._validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        # A deactivated account keeps no access through tokens issued before (invalid_grant).
        return valid and user_is_active(request.user)

    def _validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        replay = refresh_grace.lookup(checksum(refresh_token))
        if replay is not None and replay["client_id"] == client.client_id and self._replay_is_live(replay):
            rt = (
                RefreshToken.objects.select_related("user")
                .filter(token_checksum=checksum(refresh_token), application=client)
                .first()
            )
            if rt is not None:
                request.user = rt.user
                request.refresh_token = refresh_token
                request.refresh_token_instance = rt
                request.grace_replay = replay
                return True
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if not valid and oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION:
            self._audit_reuse(refresh_token, client, request)
        return valid

    @staticmethod
    def _audit_reuse(refresh_token, client, request) -> None:
        # DOT has just revoked the family if the token presented is a revoked one (its own
        # grace period is 0 here: ours is the cache above). Same row DOT picked.
        rt = (
            RefreshToken.objects.select_related("user")
            .filter(token_checksum=checksum(refresh_token))
            .order_by(F("revoked").desc(nulls_first=True))
            .first()
        )
        if rt is not None and rt.revoked is not None and rt.token_family:
            audit.record(
                audit.Event.REFRESH_TOKEN_REUSED,
                request=request,
                user=rt.user,
                client_id=client.client_id,
                token_family=str(rt.token_family),
            )

    @staticmethod
    def _replay_is_live(replay: dict) -> bool:
        # Once the pair handed out has itself been rotated or revoked, a replay of the
        # old token is reuse again, and DOT's family revocation must run.
        return RefreshToken.objects.filter(
            token_checksum=checksum(replay["token"]["refresh_token"]), revoked__isnull=True
        ).exists()

    # --- revocation: RFC 7009, audited ------------------------------------------------

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        revoked = self._revocation_target(token, token_type_hint, request)
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if revoked is not None:
            audit.record(
                audit.Event.TOKEN_REVOKED,
                request=request,
                user=revoked.user,
                client_id=request.client.client_id,
                token_type="access_token" if isinstance(revoked, AccessToken) else "refresh_token",
            )

    @staticmethod
    def _revocation_target(token, token_type_hint, request):
        # The token DOT is about to revoke: the same lookup (its type first, scoped to the
        # authenticated client), so an unknown, foreign or already revoked token is not
        # reported revoked.
        application_pk = getattr(request.client, "pk", None)
        if application_pk is None:
            return None
        models = [AccessToken, RefreshToken]
        if token_type_hint == "refresh_token":  # noqa: S105 (a hint name)
            models.reverse()
        for model in models:
            live = {"revoked__isnull": True} if model is RefreshToken else {}
            found = (
                model.objects.select_related("user")
                .filter(token_checksum=checksum(token), application_id=application_pk, **live)
                .first()
            )
            if found is not None:
                return found
        return None

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        replay = getattr(request, "grace_replay", None)
        if replay is not None:
            return replay["scope"]
        return super().get_original_scopes(refresh_token, request, *args, **kwargs)

    def save_bearer_token(self, token, request, *args, **kwargs):
        if request.grant_type == "client_credentials":
            if settings.CLIENT_CREDENTIALS_ASYNC_COMMIT and connection.vendor == "postgresql":
                # The commit's WAL flush is most of this grant's cost. A service can mint
                # another token with its own credentials at any moment, so this one insert
                # need not survive a database crash; every other write stays durable.
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                    return self._save_bearer_token(token, request, *args, **kwargs)
            # One INSERT and nothing else: DOT's surrounding transaction would only add
            # BEGIN and COMMIT round trips to the busiest grant.
            return self._save_bearer_token(token, request, *args, **kwargs)
        return super().save_bearer_token(token, request, *args, **kwargs)

    def _check_and_set_request_resource(self, request):
        # Settled once per request: the JWT access token generator needs the audience
        # before the token is saved, and the answer must not change in between.
        if getattr(request, "resource_settled", False):
            return
        if request.grant_type == "authorization_code":
            self._narrow_to_the_grants_resources(request)
        else:
            super()._check_and_set_request_resource(request)
        problem = policy.resource_target_problem(request.client, request.resource)
        if problem:
            raise errors.CustomOAuth2Error(error="invalid_target", description=problem, request=request)
        if not request.resource:
            # RFC 8707: never an unrestricted token; without a resource the token is for
            # the configured default audience only.
            request.resource = [settings.DEFAULT_AUDIENCE]
        request.resource_settled = True

    def _narrow_to_the_grants_resources(self, request):
        """DOT's RFC 8707 rule at the code exchange, with the grant this request already
        loaded (DOT queries it once more here: over a quarter of the exchange's CPU, since
        its `first()` compiles an ordered query). What the token request names is
        normalised and checked by DOT; it may narrow the grant's resources, never widen
        them; naming none inherits them all."""
        grant_type, request.grant_type = request.grant_type, None
        try:
            super()._check_and_set_request_resource(request)  # no grant lookup without the type
        finally:
            request.grant_type = grant_type
        grant = self._grant(request.code, request.client, request)
        granted = (grant.resource or []) if grant is not None else []
        if request.resource and granted:
            for resource in request.resource:
                if resource not in granted:
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=f"The requested resource '{resource}' was not part of the authorization.",
                        request=request,
                    )
        elif granted:
            # Rows written before resources were validated at the authorization endpoint.
            self._validate_resource_uris(request, granted)
            request.resource = granted

    def _save_bearer_token(self, token, request, *args, **kwargs):
        if request.grant_type != "refresh_token":
            return super()._save_bearer_token(token, request, *args, **kwargs)
        old_checksum = checksum(request.refresh_token)
        replay = getattr(request, "grace_replay", None)
        if replay is None:
            # Serialise concurrent refreshes of one token; the loser of the race finds
            # the winner's pair in the grace cache instead of minting a second family.
            lock_row(RefreshToken, request.refresh_token_instance.pk)
            replay = refresh_grace.lookup(old_checksum)
            if replay is not None and not self._replay_is_live(replay):
                # Cached by an attempt whose transaction never committed (the database
                # went away before the commit): that pair does not exist, mint a real one.
                replay = None
        if replay is not None:
            refresh_grace.apply(token, replay)
            return None
        result = super()._save_bearer_token(token, request, *args, **kwargs)
        # Stored before the commit on purpose: a racing refresh is blocked on the row lock
        # above and must find the pair the moment the lock is released.
        refresh_grace.remember(old_checksum, request.client.client_id, token)
        return result


def user_is_active(user) -> bool:
    """No user (client_credentials) or an active one: a deactivated user's grants are void."""
    return user is None or user.is_active
