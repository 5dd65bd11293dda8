"""Which claims a token's scopes unlock (OpenID Connect Core §5.4, plus `groups`)."""

from django.contrib.auth.base_user import AbstractBaseUser


def claims_for(user: AbstractBaseUser, scopes: set[str]) -> dict:
    claims: dict = {"sub": str(user.pk)}
    if "profile" in scopes:
        claims.update(
            {
                "name": user.get_full_name() or user.get_username(),
                "preferred_username": user.get_username(),
                "given_name": user.first_name,
                "family_name": user.last_name,
            }
        )
    if "email" in scopes:
        claims["email"] = user.email
        # Accounts are created by admins here, who vouch for the address.
        claims["email_verified"] = bool(user.email)
    if "groups" in scopes:
        # What seed 001 calls organizations: an MCP server can decide on them.
        claims["groups"] = sorted(user.groups.values_list("name", flat=True))
    return claims
