"""`make bench`: every hot endpoint under load, against the framework ceiling, in one run.

Starts gunicorn with the production settings (plus a null view, the ceiling) on
PostgreSQL, seeds clients and a user, mints authorization codes through the real
login + consent flow, then drives each endpoint with wrk (8 connections by default)
and prints req/s, p50, p99, errors and the ratio to the ceiling, measured again just
before each row (adjacent_ceiling). The table is also
written to bench/results/latest.json. Any error or non-2xx response fails the run.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
SERVER_LOG = ROOT / "bench" / "results" / "server.log"
REDIRECT_URI = "http://127.0.0.1:9/callback"
PASSWORD = "bench-password-0123456789"  # noqa: S105 (a throwaway user in the bench database)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "8")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8765")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", "2")))
    parser.add_argument("--only", help="comma-separated row names")
    parser.add_argument(
        "--scale",
        type=int,
        default=int(os.environ.get("BENCH_SCALE", "0")),
        help="then load this many live and as many expired access tokens, measure again, "
        "and measure issuance while clearexpiredtokens deletes the expired ones",
    )
    return parser.parse_args()


def configure_environment(port: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ["ISSUER"] = f"http://127.0.0.1:{port}"
    # Production logging: one JSON line per request, written to bench/results/server.log.
    os.environ.setdefault("LOG_LEVEL", "INFO")
    # Production runs several nodes on a shared Redis cache; use it when one is running.
    if "REDIS_URL" not in os.environ and _redis_is_up():
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/3"
    # One load generator is one IP: bench/settings.py makes loopback a trusted range that
    # no run exhausts, so the limiter's cost is measured and never its 429s.
    sys.path.insert(0, str(ROOT))


def _redis_is_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def seed() -> dict:
    import django

    django.setup()
    import logging

    # The harness's own HTTP calls are not the server's request log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oauth2_provider.models import get_application_model

    from oauth_clients.services import create_client

    call_command("migrate", verbosity=0)
    # DEBUG is off: pages name static files through the manifest collectstatic writes.
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    Client = get_application_model()
    get_user_model().objects.create_user("bench", "bench@example.com", PASSWORD)
    public = create_client(
        name="bench public",
        client_type=Client.CLIENT_PUBLIC,
        grant_type=Client.GRANT_AUTHORIZATION_CODE,
        redirect_uris=[REDIRECT_URI],
        allowed_scopes=list(settings.SCOPES),
    ).client
    service = create_client(
        name="bench service", grant_type=Client.GRANT_CLIENT_CREDENTIALS, allowed_scopes=["mcp:tools"]
    )
    resource_server = create_client(name="bench resource server", grant_type=Client.GRANT_CLIENT_CREDENTIALS)
    return {
        "public_client_id": public.client_id,
        "service": (service.client.client_id, service.secret),
        "resource_server": (resource_server.client.client_id, resource_server.secret),
        "secret_hash": Client.objects.get(pk=service.client.pk).client_secret.split("$", 1)[0],
        "public_pk": public.pk,
        "user_pk": get_user_model().objects.get(username="bench").pk,
    }


def load_tokens(seeded: dict, count: int) -> float:
    """Bulk-insert `count` live and `count` expired access tokens (SQL, not the API)."""
    from django.db import connection
    from oauth2_provider.models import get_access_token_model

    table = get_access_token_model()._meta.db_table
    started = time.monotonic()
    with connection.cursor() as cursor:
        for label, expires in (("live", "now() + interval '1 day'"), ("expired", "now() - interval '1 day'")):
            cursor.execute(
                f"INSERT INTO {table} (token, token_checksum, application_id, user_id, expires, scope,"  # noqa: S608
                " resource, created, updated)"
                f" SELECT '', md5(%s || g) || md5(g || %s), %s, %s, {expires}, 'mcp:tools', '[]',"
                " now(), now() FROM generate_series(1, %s) AS g",
                [label, label, seeded["public_pk"], seeded["user_pk"], count],
            )
        cursor.execute(f"ANALYZE {table}")
    return time.monotonic() - started


def client_credentials_load(base: str, args: argparse.Namespace, seeded: dict) -> dict:
    return wrk(
        f"{base}/oauth/token",
        args,
        method="POST",
        headers=[basic(seeded["service"])],
        body="grant_type=client_credentials&scope=mcp%3Atools",
    )


def introspection_load(base: str, args: argparse.Namespace, seeded: dict, access_token: str) -> dict:
    return wrk(
        f"{base}/oauth/introspect",
        args,
        method="POST",
        headers=[basic(seeded["resource_server"])],
        body=urlencode({"token": access_token}),
    )


def userinfo_load(base: str, args: argparse.Namespace, access_token: str) -> dict:
    return wrk(f"{base}/oauth/userinfo", args, headers=[f"Authorization: Bearer {access_token}"])


def issuance_during_cleanup(base: str, args: argparse.Namespace, seeded: dict) -> tuple[dict, dict]:
    """Run clearexpiredtokens and drive client_credentials in 3 s slices until it ends."""
    cleanup = subprocess.Popen(
        [sys.executable, "manage.py", "clearexpiredtokens", "--json"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    slice_args = argparse.Namespace(**{**vars(args), "duration": 3})
    totals = {"requests": 0, "errors": 0, "duration_us": 0, "p50_us": 0, "p99_us": 0}
    while cleanup.poll() is None:
        result = client_credentials_load(base, slice_args, seeded)
        totals["requests"] += result["requests"]
        totals["errors"] += result["errors"] + result.get("exhausted", 0)
        totals["duration_us"] += result["duration_us"]
        totals["p50_us"] = max(totals["p50_us"], result["p50_us"])
        totals["p99_us"] = max(totals["p99_us"], result["p99_us"])
    report = json.loads(cleanup.stdout.read() or "{}")
    if cleanup.returncode != 0:
        raise SystemExit("clearexpiredtokens failed")
    return totals, report


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "authserver.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=SERVER_LOG.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/bench/null", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def mint_codes(
    base: str, client_id: str, count: int, challenge: str, concurrency: int = 8
) -> list[str]:
    """Log in once, then authorize + consent `count` times, through the real pages."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        page = await http.get("/accounts/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        await http.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": csrf, "username": "bench", "password": PASSWORD, "next": "/"},
            headers={"Referer": f"{base}/accounts/login/"},
        )
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email mcp:tools",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        codes: list[str] = []
        semaphore = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with semaphore:
                query = urlencode({**params, "state": f"s{n}"})
                consent = await http.get(f"/oauth/authorize?{query}")
                if consent.status_code == 302:
                    # The consent is remembered after the first Allow: the code comes at once.
                    codes.append(parse_qs(urlsplit(consent.headers["location"]).query)["code"][0])
                    return
                fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text)
                form = {name: unescape(value) for name, value in fields}
                form["allow"] = "true"
                answer = await http.post(
                    f"/oauth/authorize?{query}", data=form, headers={"Referer": f"{base}/oauth/authorize"}
                )
                location = answer.headers["location"]
                codes.append(parse_qs(urlsplit(location).query)["code"][0])

        await asyncio.gather(*(one(n) for n in range(count)))
        return codes


def wrk(
    url: str, args: argparse.Namespace, *, method: str = "GET", headers=(), body: str | None = None
) -> dict:
    """One row with a fixed request: GET, or POST of the same form body every time."""
    script = ROOT / "bench" / "report.lua" if method == "GET" else _static_post_script(body or "")
    extra: list[str] = []
    for header in headers:
        extra += ["-H", header]
    return _run_wrk(url, args, script, extra, ["", "2", ""])


def wrk_with_script(url, args, script: Path, *, bodies: str, capture: str | None = None) -> dict:
    """One row where every request carries its own body (codes, refresh tokens: single use)."""
    return _run_wrk(url, args, script, [], [bodies, "2", capture or ""])


def _run_wrk(url: str, args: argparse.Namespace, script: Path, extra: list[str], lua_args: list[str]) -> dict:
    command = ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration}s", "-s", str(script)]
    if "Content-Type: application/json" not in extra:
        extra = ["-H", "Content-Type: application/x-www-form-urlencoded", *extra]
    command += [*extra, url, "--", *lua_args]
    output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    match = re.search(r"WRKJSON (\{.*\})", output)
    if not match:
        raise SystemExit(f"wrk failed:\n{output}")
    return json.loads(match.group(1))


def _static_post_script(body: str) -> Path:
    """A copy of report.lua whose requests all carry the same POST body."""
    source = (ROOT / "bench" / "report.lua").read_text()
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(f"wrk.method = 'POST'\nwrk.body = {json.dumps(body)}\n" + source)
    return script


def post_bodies_script() -> Path:
    source = (ROOT / "bench" / "report.lua").read_text()
    script = Path(tempfile.mkdtemp()) / "bodies.lua"
    script.write_text("wrk.method = 'POST'\n" + source)
    return script


def basic(credentials: tuple[str, str]) -> str:
    return "Authorization: Basic " + base64.b64encode(":".join(credentials).encode()).decode()


def worker_rss_mb(server: subprocess.Popen) -> list[float]:
    children = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        sizes.append(round(kb / 1024, 1))
    return sizes


def settle(timeout: float = 90) -> None:
    """Let PostgreSQL finish what the previous row left behind (dirty buffers, autovacuum of
    the rows it wrote) before the next row: otherwise that background work lands on
    whichever row comes next (seen here: userinfo after the refresh row lost a fifth)."""
    from django.db import DatabaseError, connection

    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
            while time.monotonic() - started < timeout:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                )
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.5)
    except DatabaseError as error:  # CHECKPOINT needs a superuser or pg_checkpoint
        print(f"bench: not settling the database between rows: {error}".strip())
    finally:
        connection.close()


def adjacent_ceiling(base: str, args: argparse.Namespace) -> float:
    """The null view again, just before a row. The speed of these shared machines drifts by
    20 % and more over minutes, so each row's ratio is taken against the ceiling measured
    next to it rather than the one at the start of the run."""
    settle()
    result = wrk(f"{base}/bench/null", args)
    if result["errors"] or result.get("exhausted"):
        raise SystemExit("the null view answered errors")
    return result["requests"] / (result["duration_us"] / 1e6)


def row(name: str, result: dict, duration: int, ceiling: float | None) -> dict:
    seconds = result["duration_us"] / 1e6 or duration
    rps = result["requests"] / seconds
    return {
        "name": name,
        "rps": round(rps, 1),
        "p50_ms": round(result["p50_us"] / 1000, 2),
        "p99_ms": round(result["p99_us"] / 1000, 2),
        "errors": result["errors"] + result.get("exhausted", 0),
        "ratio": round(rps / ceiling, 3) if ceiling else 1.0,
        "ceiling_rps": round(ceiling, 1) if ceiling else round(rps, 1),
        "requests": result["requests"],
    }


def main() -> int:
    args = parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is required: apt-get install -y wrk")
    configure_environment(args.port)
    seeded = seed()
    base = f"http://127.0.0.1:{args.port}"
    server = start_server(args.port, args.workers)
    only = set(args.only.split(",")) if args.only else None
    results: list[dict] = []
    try:
        ceiling_result = wrk(f"{base}/bench/null", args)
        ceiling = row("null view (ceiling)", ceiling_result, args.duration, None)
        results.append(ceiling)
        top = ceiling["rps"]

        def wanted(name: str) -> bool:
            return only is None or name in only

        if wanted("client_credentials"):
            top = adjacent_ceiling(base, args)
            result = client_credentials_load(base, args, seeded)
            results.append(
                row(f"client_credentials ({seeded['secret_hash']} secret)", result, args.duration, top)
            )

        verifier, challenge = pkce_pair()
        needed = int(top * args.duration * 0.7) + 200
        codes = asyncio.run(mint_codes(base, seeded["public_client_id"], needed, challenge))
        access_token = None
        with tempfile.TemporaryDirectory() as scratch:
            bodies = Path(scratch) / "codes.txt"
            bodies.write_text(
                "\n".join(
                    urlencode(
                        {
                            "grant_type": "authorization_code",
                            "code": code,
                            "redirect_uri": REDIRECT_URI,
                            "client_id": seeded["public_client_id"],
                            "code_verifier": verifier,
                        }
                    )
                    for code in codes
                )
            )
            capture = Path(scratch) / "refresh-"
            args_script = post_bodies_script()
            top = adjacent_ceiling(base, args)
            exchange = wrk_with_script(
                f"{base}/oauth/token", args, args_script, bodies=str(bodies), capture=str(capture)
            )
            results.append(row("authorization_code exchange", exchange, args.duration, top))
            refresh_tokens = [
                line for part in Path(scratch).glob("refresh-*") for line in part.read_text().split() if line
            ]
            refresh_bodies = Path(scratch) / "refresh.txt"
            refresh_bodies.write_text(
                "\n".join(
                    urlencode(
                        {
                            "grant_type": "refresh_token",
                            "refresh_token": t,
                            "client_id": seeded["public_client_id"],
                        }
                    )
                    for t in refresh_tokens
                )
            )
            top = adjacent_ceiling(base, args)
            refresh = wrk_with_script(f"{base}/oauth/token", args, args_script, bodies=str(refresh_bodies))
            results.append(row("refresh_token (rotation)", refresh, args.duration, top))

        import httpx

        spare = asyncio.run(mint_codes(base, seeded["public_client_id"], 1, challenge))[0]
        access_token = httpx.post(
            f"{base}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": spare,
                "redirect_uri": REDIRECT_URI,
                "client_id": seeded["public_client_id"],
                "code_verifier": verifier,
            },
        ).json()["access_token"]
        top = adjacent_ceiling(base, args)
        result = introspection_load(base, args, seeded, access_token)
        results.append(row("introspection", result, args.duration, top))
        top = adjacent_ceiling(base, args)
        result = userinfo_load(base, args, access_token)
        results.append(row("userinfo", result, args.duration, top))
        top = adjacent_ceiling(base, args)
        result = wrk(f"{base}/oauth/jwks", args)
        results.append(row("jwks", result, args.duration, top))
        top = adjacent_ceiling(base, args)
        result = _run_wrk(
            f"{base}/oauth/register",
            args,
            _static_post_script(json.dumps({"client_name": "bench", "redirect_uris": [REDIRECT_URI]})),
            ["-H", "Content-Type: application/json"],
            ["", "2", ""],
        )
        results.append(row("dcr registration", result, args.duration, top))
        if args.scale:
            results += scale_rows(base, args, seeded, results, access_token)
        rss = worker_rss_mb(server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    print_table(results, args, rss)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "duration_s": args.duration,
                "connections": args.connections,
                "gunicorn_workers": args.workers,
                "database": urlsplit(os.environ["DATABASE_URL"]).scheme,
                "worker_rss_mb": rss,
                "rows": results,
            },
            indent=2,
        )
    )
    failed = [r["name"] for r in results if r.get("errors")]
    if failed:
        print(f"FAILED: errors or non-2xx responses in {', '.join(failed)}")
        return 1
    return 0


def scale_rows(base, args, seeded, empty_rows, access_token) -> list[dict]:
    """The same endpoints again with 2 x `args.scale` tokens in the table, then cleanup under load."""
    seconds = load_tokens(seeded, args.scale)
    print(f"loaded {args.scale:,} live + {args.scale:,} expired access tokens in {seconds:.0f} s")
    # Compared as ratios to each row's own ceiling, so the machine's drift between the two
    # measurements does not count as an effect of the table's size.
    before = {r["name"].split(" (")[0]: r["ratio"] for r in empty_rows if "ratio" in r}
    rows = []
    measures = {
        "client_credentials": lambda: client_credentials_load(base, args, seeded),
        "introspection": lambda: introspection_load(base, args, seeded, access_token),
        "userinfo": lambda: userinfo_load(base, args, access_token),
    }
    for name, measure in measures.items():
        top = adjacent_ceiling(base, args)
        scaled = row(f"{name} at {2 * args.scale:,} tokens", measure(), args.duration, top)
        if before.get(name):
            scaled["vs_empty"] = round(scaled["ratio"] / before[name], 3)
        rows.append(scaled)
    top = adjacent_ceiling(base, args)
    during, report = issuance_during_cleanup(base, args, seeded)
    cleanup = row("client_credentials during cleanup", during, args.duration, top)
    cleanup["cleanup_seconds"] = report.get("seconds")
    cleanup["cleanup_deleted"] = sum(report.get("deleted", {}).values())
    rows.append(cleanup)
    return rows


def print_table(results: list[dict], args: argparse.Namespace, rss: list[float]) -> None:
    print(f"\n{args.connections} connections, {args.duration} s per row, gunicorn {args.workers} workers\n")
    print(
        f"{'endpoint':42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ceiling':>8} {'ratio':>6}"
    )
    for r in results:
        if "skipped" in r:
            print(f"{r['name']:42} skipped: {r['skipped']}")
            continue
        print(
            f"{r['name']:42} {r['rps']:9.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{r['errors']:7d} {r['ceiling_rps']:8.1f} {r['ratio']:6.2f}"
            + (f"   {r['vs_empty']:.2f} of the empty-table ratio" if "vs_empty" in r else "")
            + (
                f"   cleanup deleted {r['cleanup_deleted']:,} rows in {r['cleanup_seconds']} s"
                if "cleanup_seconds" in r
                else ""
            )
        )
    print(f"\nworker RSS after the run (MB): {rss}")


if __name__ == "__main__":
    sys.exit(main())
