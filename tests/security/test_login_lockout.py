"""Sign-in lockout (django-axes): LOGIN_FAILURE_LIMIT failures for one username from one
address lock that pair; others are unaffected; an admin unlocks; an unknown username
answers like a known one."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.test import Client as HttpClient
from prometheus_client import REGISTRY

from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
HOME = "203.0.113.70"
LOCKED_TEXT = "Too many failed sign-ins for this username"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def sign_in(username: str, password: str, address: str = HOME, **extra):
    http = HttpClient(REMOTE_ADDR=address, **extra)
    return http, http.post("/accounts/login/", {"username": username, "password": password, "next": "/"})


def fail(username: str, times: int, address: str = HOME):
    return [sign_in(username, "wrong password", address)[1] for _ in range(times)]


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def test_failures_lock_the_username_from_that_address_with_a_clear_message():
    make_user("alice", PASSWORD)
    before = REGISTRY.get_sample_value("authserver_rate_limited_total", {"endpoint": "login"}) or 0
    answers = fail("alice", 3)
    assert REGISTRY.get_sample_value("authserver_rate_limited_total", {"endpoint": "login"}) - before == 1
    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert "did not match" in answers[0].content.decode()
    locked = answers[2]
    assert locked.status_code == 429
    page = locked.content.decode()
    assert LOCKED_TEXT in page
    assert "15 minutes" in page  # LOGIN_LOCKOUT_MINUTES' default
    assert int(locked["Retry-After"]) == 15 * 60
    assert 'id="id_username"' in page and 'value="alice"' in page  # the form is still there

    # The right password is refused too while the lock lasts, and says why.
    http, answer = sign_in("alice", PASSWORD)
    assert answer.status_code == 429
    assert LOCKED_TEXT in answer.content.decode()
    assert "_auth_user_id" not in http.session


def test_another_address_or_username_is_not_affected():
    make_user("alice", PASSWORD)
    make_user("bob", PASSWORD)
    fail("alice", 3)
    _, other_address = sign_in("alice", PASSWORD, address="198.51.100.71")
    assert signed_in(other_address)
    _, other_user = sign_in("bob", PASSWORD)
    assert signed_in(other_user)


def test_fewer_failures_then_success_starts_the_count_again():
    make_user("alice", PASSWORD)
    fail("alice", 2)
    assert signed_in(sign_in("alice", PASSWORD)[1])
    fail("alice", 2)
    assert signed_in(sign_in("alice", PASSWORD)[1])


def test_reset_command_unlocks():
    make_user("alice", PASSWORD)
    fail("alice", 3)
    assert sign_in("alice", PASSWORD)[1].status_code == 429
    call_command("axes_reset_username", "alice")
    assert signed_in(sign_in("alice", PASSWORD)[1])


def test_admin_sees_and_deletes_the_attempt_to_unlock():
    make_user("alice", PASSWORD)
    fail("alice", 3)
    admin = HttpClient()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20))
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "alice" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="alice")
    deleted = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert signed_in(sign_in("alice", PASSWORD)[1])


def test_the_admin_sign_in_is_locked_too():
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    http = HttpClient(REMOTE_ADDR=HOME)
    for _ in range(3):
        http.post("/admin/login/", {"username": "root", "password": "wrong"})
    answer = http.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert answer.status_code == 429
    assert LOCKED_TEXT in answer.content.decode()
    assert "_auth_user_id" not in http.session


def test_an_unknown_username_is_answered_like_a_wrong_password(monkeypatch):
    """Same status, same page, and one password hashing each (no timing, which tests do not
    measure: the work done is what is compared)."""
    make_user("alice", PASSWORD)
    hashed = []
    original = MD5PasswordHasher.encode

    def counting(self, password, salt):
        hashed.append(password)
        return original(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    _, known = sign_in("alice", "wrong password")
    known_hashings = len(hashed)
    _, unknown = sign_in("nobody-here", "wrong password")
    assert known_hashings == 1
    assert len(hashed) - known_hashings == 1
    assert known.status_code == unknown.status_code == 200
    assert "did not match" in known.content.decode() and "did not match" in unknown.content.decode()


def test_an_unknown_username_locks_like_a_known_one():
    make_user("alice", PASSWORD)
    known = fail("alice", 3)[-1]
    unknown = fail("nobody-here", 3)[-1]
    assert known.status_code == unknown.status_code == 429
    assert LOCKED_TEXT in unknown.content.decode()


def test_the_lockout_message_is_translated():
    make_user("alice", PASSWORD)
    fail("alice", 2)
    _, locked = sign_in("alice", "wrong password", HTTP_ACCEPT_LANGUAGE="ru")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert LOCKED_TEXT not in page
    assert "Слишком много неудачных попыток входа" in page


def test_lockout_can_be_turned_off(settings):
    settings.AXES_ENABLED = False
    make_user("alice", PASSWORD)
    assert {a.status_code for a in fail("alice", 5)} == {200}
    assert signed_in(sign_in("alice", PASSWORD)[1])


def test_a_name_too_long_for_any_account_is_counted_not_a_500():
    # The attempt table holds 255 characters: the name is recorded cut to a username's 150.
    answers = fail("m" * 5000, 3)
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["m" * 150]


def test_a_name_with_nul_is_refused_by_the_form_before_any_password_check():
    answers = fail("eve\x00admin", 3)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(not signed_in(a) and 'id="id_username"' in a.content.decode() for a in answers)
    assert not AccessAttempt.objects.exists()
