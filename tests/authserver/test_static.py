"""Production static files: collectstatic's hashed, compressed files served by WhiteNoise."""

from tests.authserver.test_settings import PRODUCTION_ENV, run

SCRIPT = """
import json, re, django
django.setup()
from django.core.management import call_command
call_command("collectstatic", interactive=False, verbosity=0)
from django.test import Client
client = Client()
page = client.get("/accounts/login/", HTTP_HOST="auth.example.com", secure=True).content.decode()
css = re.search(r'href="(/static/authserver/site\\.[0-9a-f]{12}\\.css)"', page).group(1)
def probe(path, **headers):
    r = client.get(path, HTTP_HOST="auth.example.com", secure=True, **headers)
    return {"status": r.status_code, "cache": r.get("Cache-Control", ""),
            "encoding": r.get("Content-Encoding", ""), "type": r.get("Content-Type", "")}
print(json.dumps({
    "css": probe(css), "css_gzip": probe(css, HTTP_ACCEPT_ENCODING="gzip"),
    "admin": probe("/static/admin/css/base.css"),
}))
"""


def test_whitenoise_serves_hashed_compressed_files_and_the_admins():
    import json

    result = run(["-c", SCRIPT], **{**PRODUCTION_ENV, "ALLOWED_HOSTS": "auth.example.com"})
    assert result.returncode == 0, result.stderr[-2000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["css"]["status"] == 200
    assert answers["css"]["type"].startswith("text/css")
    assert "immutable" in answers["css"]["cache"]  # hashed name: cached for ever
    assert answers["css_gzip"]["encoding"] == "gzip"
    assert answers["admin"]["status"] == 200
