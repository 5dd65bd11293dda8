"""What the abuse battery and the fuzz tests share: the rows a refused request must not touch."""

from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from oauth.models import Consent, RedeemedCode

STORED = {
    "applications": get_application_model(),
    "access_tokens": get_access_token_model(),
    "refresh_tokens": get_refresh_token_model(),
    "grants": get_grant_model(),
    "id_tokens": get_id_token_model(),
    "consents": Consent,
    "redeemed_codes": RedeemedCode,
    "users": get_user_model(),
}


def row_counts() -> dict[str, int]:
    return {name: model.objects.count() for name, model in STORED.items()}


@contextmanager
def nothing_stored():
    """The block's requests issue and store nothing: every table keeps its row count."""
    before = row_counts()
    yield
    assert row_counts() == before


@pytest.fixture
def no_rate_limits(settings):
    """The battery and the fuzz send many requests from one address; rate limits and the
    login lockout have tests of their own (test_rate_limits.py, test_login_lockout.py)."""
    settings.RATELIMIT_ENABLED = False
    settings.AXES_ENABLED = False
