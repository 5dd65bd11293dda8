"""Scope descriptions as people read them, in their language.

The descriptions come from the SCOPES setting; the defaults are in the translation
catalogue, so they are shown in the reader's language. A description set through the
environment is shown as written.
"""

from django.utils.translation import gettext
from oauth2_provider.scopes import get_scopes_backend


def describe_scopes(scopes: list[str]) -> list[tuple[str, str]]:
    descriptions = get_scopes_backend().get_all_scopes()
    return [(scope, gettext(descriptions[scope]) if scope in descriptions else scope) for scope in scopes]
