"""The oauthlib server we run: oauthlib's OpenID server, S256 as the only PKCE method,
answers in the query only."""

from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.openid import Server as OpenIDServer


class Server(OpenIDServer):
    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **kwargs)
        # OAuth 2.1 §4.1.1 / RFC 9700 §2.1.1: only S256. oauthlib treats a missing
        # code_challenge_method as "plain", so this also rejects it, at the authorization
        # request (a redirect with error=invalid_request) rather than after consent.
        for grant in (self.auth_grant, self.openid_connect_auth.proxy_target):
            grant._code_challenge_methods = {"S256": code_challenge_method_s256}
            grant.custom_validators.pre_auth.append(_answer_in_query)


def _answer_in_query(request) -> dict:
    # Discovery advertises response_modes_supported ["query"] (RFC 9207's `iss` is added to
    # the query); oauthlib would put the code in the fragment for response_mode=fragment.
    # Runs once the redirect URI is trusted, before any answer goes to it.
    request.response_mode = "query"
    return {}
