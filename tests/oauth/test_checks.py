from django.core.management import call_command
from django.core.management.base import SystemCheckError

from oauth import checks


def test_the_installed_protocol_engine_passes():
    assert checks.protocol_engine_versions() == []


def test_an_unsupported_oauthlib_stops_the_server(monkeypatch):
    # As if the installed oauthlib were outside the supported range (e.g. oauthlib 4).
    monkeypatch.setitem(checks.SUPPORTED, "oauthlib", ((9,), (10,)))
    (problem,) = checks.protocol_engine_versions()
    assert problem.id == "oauth.E001"
    assert problem.msg.startswith("oauthlib ") and "not supported" in problem.msg
    assert "oauthlib>=9,<10" in problem.hint
    try:
        call_command("check")
    except SystemCheckError as error:
        assert "oauth.E001" in str(error)
    else:
        raise AssertionError("manage.py check passed with an unsupported oauthlib")


def test_release_numbers_ignore_suffixes():
    assert checks._release("3.4.1") == (3, 4, 1)
    assert checks._release("4.0.0rc1") == (4, 0, 0)
    assert checks._release("3.3.1+deb12") == (3, 3, 1)
    assert (3, 4, 1) <= checks._release("3.10") < (4,)
