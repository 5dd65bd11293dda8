"""Faults and load: two gunicorn nodes on one PostgreSQL and one Redis.

Drives 10,000 mixed requests (client_credentials, code exchanges, refresh, introspection,
userinfo, JWKS, discovery, registration) at 16 concurrent over both nodes, stops PostgreSQL
for 5 seconds in the middle, then checks:

- no 5xx outside the outage; during it only 503 with a JSON `error`;
- the nodes recover on their own (same processes, later requests succeed);
- no grant lost or issued twice: each pre-minted code is exchanged exactly once, and the
  token, grant and client rows in the database match the successful responses;
- a token issued by one node is valid at the other, revoked there and refused at the
  first, and the registration rate limit is counted across both nodes.

PostgreSQL runs as its own cluster (`faults`, port 5433, created with Debian's
postgresql-common on first use) so that stopping it disturbs nothing else. The test is
skipped when that cluster cannot be created, unless REQUIRE_FAULT_TESTS=1 (CI) makes that a
failure. FAULT_TEST_REQUESTS changes the number of requests (default 10000).
"""

import asyncio
import base64
import hashlib
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "faults"
PG_PORT = 5433
DATABASE = "authserver_faults"
TOTAL_REQUESTS = int(os.environ.get("FAULT_TEST_REQUESTS", "10000"))
CONCURRENCY = 16
CODES = 120  # pre-minted codes exchanged during the load
CHAINS = CONCURRENCY  # refresh-token chains, one in use per request at a time
STATIC_TOKENS = 4  # access tokens presented to userinfo and introspection
OUTAGE_SECONDS = 5
OUTAGE_AFTER = 0.3  # the outage starts when this share of the requests is answered
SECOND_PHASE = 0.3  # this share is only sent once PostgreSQL is back
REDIRECT_URI = "http://127.0.0.1:9/callback"
USERNAME = "faults"
PASSWORD = "faults-password-0123456789"
SECRET_KEY = "fault-test-secret-key-not-for-production-0123456789abcdef"
# Registration is rate limited per IP: the load registers each client from its own
# loopback address, the shared-limit check from yet another one.
REGISTRATION_LIMIT = 5
WEIGHTS = {
    "client_credentials": 30,
    "refresh": 10,
    "introspection": 18,
    "userinfo": 17,
    "jwks": 10,
    "discovery": 13,
    "registration": 2,
}


# --- The PostgreSQL cluster --------------------------------------------------------


def unavailable(reason: str):
    if os.environ.get("REQUIRE_FAULT_TESTS") == "1":
        pytest.fail(f"fault test required (REQUIRE_FAULT_TESTS=1) but {reason}")
    pytest.skip(reason)


def run(*command: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


class Cluster:
    """A Debian postgresql-common cluster of our own: `faults` on port 5433."""

    def __init__(self):
        conf = Path("/etc/postgresql")
        versions = sorted(os.listdir(conf), key=float) if conf.is_dir() else []
        if not shutil.which("pg_createcluster") or not versions:
            unavailable("PostgreSQL's Debian cluster tools (postgresql-common) are not installed")
        self.version = versions[-1]

    def ensure(self) -> None:
        listed = run("pg_lsclusters", "--no-header").stdout.split("\n")
        line = next((row.split() for row in listed if row.split()[:2] == [self.version, CLUSTER]), None)
        if line is None:
            created = run(
                "pg_createcluster", self.version, CLUSTER, "--port", str(PG_PORT), "--", "--auth=trust"
            )
            if created.returncode != 0:
                unavailable(f"pg_createcluster {self.version} {CLUSTER} failed: {created.stderr.strip()}")
        elif line[2] != str(PG_PORT):
            unavailable(f"cluster {self.version}/{CLUSTER} exists on port {line[2]}, not {PG_PORT}")
        self.start()

    def ready(self) -> bool:
        return run("pg_isready", "-q", "-h", "127.0.0.1", "-p", str(PG_PORT)).returncode == 0

    def start(self) -> None:
        if not self.ready():
            started = self.ctl("start")
            if started.returncode != 0 and not self.ready():
                unavailable(f"the {CLUSTER} cluster does not start: {started.stderr.strip()}")
        for _ in range(300):
            if self.ready():
                return
            time.sleep(0.1)
        unavailable(f"the {CLUSTER} cluster does not accept connections")

    def stop(self) -> None:
        stopped = self.ctl("stop")
        assert stopped.returncode == 0, stopped.stderr
        assert not self.ready()

    def ctl(self, action: str) -> subprocess.CompletedProcess:
        return run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, CLUSTER, action)


def connect(dbname: str = DATABASE):
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=PG_PORT, user="postgres", dbname=dbname, autocommit=True)


def recreate_database() -> None:
    with connect("postgres") as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def count(sql: str, *params) -> int:
    with connect() as conn:
        return conn.execute(sql, params).fetchone()[0]


def rows(model: str, application_pk: int) -> int:
    """DOT's rows (grant, accesstoken, refreshtoken) of one client."""
    return count(f"SELECT count(*) FROM oauth2_provider_{model} WHERE application_id = %s", application_pk)  # noqa: S608


# --- The two nodes -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(issuer: str, redis_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CONN_MAX_AGE", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(
        DJANGO_SETTINGS_MODULE="authserver.settings",
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        ISSUER=issuer,  # one issuer: the address clients know, whichever node answers
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{PG_PORT}/{DATABASE}",
        REDIS_URL=redis_url,
        RATELIMIT_REGISTER=f"{REGISTRATION_LIMIT}/h",
        # The load comes from 127.0.0.1 (one client address, a few clients): a trusted range
        # no run exhausts. Registrations, and the shared-limit check, come from other
        # loopback addresses and meet the ordinary limits.
        RATELIMIT_TRUSTED_RANGES="127.0.0.1/32",
        RATELIMIT_TRUSTED_FACTOR="1000000",
        GUNICORN_WORKERS="2",
        LOG_LEVEL="INFO",
    )
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


SEED = f"""
import json
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model
from oauth_clients.services import create_client
Client = get_application_model()
get_user_model().objects.create_user({USERNAME!r}, "faults@example.com", {PASSWORD!r})
scopes = ["openid", "profile", "email", "offline_access", "mcp:tools"]
def public(name):
    return create_client(name=name, client_type=Client.CLIENT_PUBLIC, redirect_uris=[{REDIRECT_URI!r}],
                         grant_type=Client.GRANT_AUTHORIZATION_CODE, allowed_scopes=scopes).client
def service(name, scopes):
    issued = create_client(name=name, grant_type=Client.GRANT_CLIENT_CREDENTIALS, allowed_scopes=scopes)
    return {{"pk": issued.client.pk, "client_id": issued.client.client_id, "secret": issued.secret}}
seeded = {{name: {{"pk": c.pk, "client_id": c.client_id}}
          for name, c in (("codes", public("load codes")), ("chains", public("load refresh")),
                          ("static", public("load userinfo")))}}
seeded["service"] = service("load service", ["mcp:tools"])
seeded["resource_server"] = service("load resource server", [])
print("SEED" + json.dumps(seeded))
"""


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def start_node(name: str, env: dict, log_dir: Path) -> Node:
    port = free_port()
    log = log_dir / f"node-{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "authserver.wsgi"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    node = Node(name, port, process, log)
    for _ in range(300):
        try:
            if httpx.get(f"{node.base}/readyz", timeout=2).status_code == 200:
                return node
        except httpx.HTTPError:
            pass
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.1)
    raise AssertionError(f"node {name} did not become ready: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Two nodes (A and B) on the `faults` cluster and the shared Redis, seeded."""
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001 (any failure: no Redis to share)
        unavailable(f"Redis at {redis_url} does not answer: {error}")
    cluster = Cluster()
    cluster.ensure()
    recreate_database()
    port_a = free_port()
    env = server_env(f"http://127.0.0.1:{port_a}", redis_url)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")  # DEBUG off: the manifest
    seeded = json.loads(manage(env, "shell", "-c", SEED).split("SEED", 1)[1])
    log_dir = tmp_path_factory.mktemp("nodes")
    nodes = []
    try:
        nodes.append(start_node("A", env, log_dir))
        nodes.append(start_node("B", env, log_dir))
        yield cluster, nodes, seeded
    finally:
        for node in nodes:
            node.process.terminate()
        for node in nodes:
            try:
                node.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                node.process.kill()
        cluster.start()  # never leave it stopped


# --- Codes and tokens through the real pages ----------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def mint_codes(base: str, client_id: str, count: int, challenge: str) -> list[str]:
    """Sign in, consent once, then collect `count` codes (the consent is remembered)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        page = await http.get("/accounts/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        await http.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": csrf, "username": USERNAME, "password": PASSWORD, "next": "/"},
        )
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email offline_access mcp:tools",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        codes = []
        for n in range(count):
            query = urlencode({**params, "state": f"s{n}"})
            answer = await http.get(f"/oauth/authorize?{query}")
            if answer.status_code == 200:  # the consent page, the first time
                fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text)
                form = {name: unescape(value) for name, value in fields}
                answer = await http.post(f"/oauth/authorize?{query}", data={**form, "allow": "true"})
            assert answer.status_code == 302, answer.text[:500]
            codes.append(parse_qs(urlsplit(answer.headers["location"]).query)["code"][0])
        return codes


def code_body(client_id: str, code: str, verifier: str) -> dict:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "code_verifier": verifier,
    }


async def exchange_all(base: str, client_id: str, codes: list[str], verifier: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        tokens = []
        for code in codes:
            response = await http.post("/oauth/token", data=code_body(client_id, code, verifier))
            assert response.status_code == 200, response.text
            tokens.append(response.json())
        return tokens


# --- The load ------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    node: str
    sent: float
    done: float
    status: int = 0  # 0: no HTTP answer
    content_type: str = ""
    body: object = None
    error: str = ""
    key: str = ""


@dataclass
class Outage:
    started: float = 0.0  # `pg_ctlcluster stop` called
    stopped: float = 0.0  # PostgreSQL down
    restarted: float = 0.0  # `pg_ctlcluster start` called
    ended: float = 0.0  # PostgreSQL accepts connections again

    def overlaps(self, outcome: Outcome) -> bool:
        return outcome.sent <= self.ended and outcome.done >= self.started


EXPECTED = {
    "client_credentials": (200, "access_token"),
    "code": (200, "refresh_token"),
    "refresh": (200, "refresh_token"),
    "introspection": (200, "active"),
    "userinfo": (200, "sub"),
    "jwks": (200, "keys"),
    "discovery": (200, "issuer"),
    "registration": (201, "client_id"),
}


@dataclass
class Load:
    nodes: list[Node]
    seeded: dict
    verifier: str
    static_tokens: list[str]
    chains: list[dict]
    rng: random.Random
    outcomes: list[Outcome] = field(default_factory=list)
    clients: list[httpx.AsyncClient] = field(default_factory=list)
    ip_prefix: str = ""
    registrations: int = 0

    async def request(self, kind: str, item: str = "") -> Outcome:
        index = self.rng.randrange(len(self.nodes))
        http = self.clients[index]
        outcome = Outcome(kind, self.nodes[index].name, time.monotonic(), 0.0, key=item)
        chain = None
        try:
            if kind == "client_credentials":
                service = self.seeded["service"]
                response = await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials", "scope": "mcp:tools"},
                    auth=(service["client_id"], service["secret"]),
                )
            elif kind == "code":
                body = code_body(self.seeded["codes"]["client_id"], item, self.verifier)
                response = await http.post("/oauth/token", data=body)
            elif kind == "refresh":
                chain = self.chains.pop()
                body = {
                    "grant_type": "refresh_token",
                    "refresh_token": chain["refresh_token"],
                    "client_id": self.seeded["chains"]["client_id"],
                }
                response = await http.post("/oauth/token", data=body)
            elif kind == "introspection":
                server = self.seeded["resource_server"]
                response = await http.post(
                    "/oauth/introspect",
                    data={"token": self.rng.choice(self.static_tokens)},
                    auth=(server["client_id"], server["secret"]),
                )
            elif kind == "userinfo":
                token = self.rng.choice(self.static_tokens)
                response = await http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
            elif kind == "jwks":
                response = await http.get("/oauth/jwks")
            elif kind == "discovery":
                name = self.rng.choice(["oauth-authorization-server", "openid-configuration"])
                response = await http.get(f"/.well-known/{name}")
            else:  # registration, from an address of its own
                self.registrations += 1
                n = self.registrations
                address = f"{self.ip_prefix}.{n // 250}.{n % 250 + 1}"
                transport = httpx.AsyncHTTPTransport(local_address=address)
                async with httpx.AsyncClient(base_url=self.nodes[index].base, transport=transport) as own:
                    response = await own.post(
                        "/oauth/register",
                        json={"client_name": f"load registration {n}", "redirect_uris": [REDIRECT_URI]},
                        timeout=60,
                    )
            outcome.status = response.status_code
            outcome.content_type = response.headers.get("content-type", "")
            try:
                outcome.body = response.json()
            except ValueError:
                outcome.body = response.text[:300]
            if chain is not None and response.status_code == 200:
                chain = {**chain, "refresh_token": response.json()["refresh_token"]}
        except httpx.HTTPError as error:
            outcome.error = f"{type(error).__name__}: {error}"
        finally:
            if chain is not None:
                self.chains.append(chain)
        outcome.done = time.monotonic()
        self.outcomes.append(outcome)
        return outcome

    async def run(self, plan: list[tuple[str, str]], cluster: Cluster) -> Outage:
        outage = Outage()
        split = int(len(plan) * (1 - SECOND_PHASE))
        first, second = plan[:split], plan[split:]
        queue: asyncio.Queue = asyncio.Queue()
        for item in first:
            queue.put_nowait(item)
        halfway = asyncio.Event()
        recovered = asyncio.Event()

        async def worker() -> None:
            while True:
                try:
                    kind, item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    if recovered.is_set() and queue.empty():
                        return
                    await asyncio.sleep(0.05)
                    continue
                await self.request(kind, item)
                if len(self.outcomes) >= len(plan) * OUTAGE_AFTER:
                    halfway.set()

        async def fault() -> None:
            await halfway.wait()
            outage.started = time.monotonic()
            await asyncio.to_thread(cluster.stop)
            outage.stopped = time.monotonic()
            await asyncio.sleep(OUTAGE_SECONDS)
            outage.restarted = time.monotonic()
            await asyncio.to_thread(cluster.start)
            outage.ended = time.monotonic()
            for item in second:
                queue.put_nowait(item)
            recovered.set()

        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        self.clients = [httpx.AsyncClient(base_url=n.base, timeout=60, limits=limits) for n in self.nodes]
        try:
            await asyncio.gather(fault(), *(worker() for _ in range(CONCURRENCY)))
        finally:
            for http in self.clients:
                await http.aclose()
        return outage


def make_plan(rng: random.Random, codes: list[str]) -> list[tuple[str, str]]:
    kinds = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=TOTAL_REQUESTS - len(codes))
    plan = [(kind, "") for kind in kinds]
    for code in codes:
        plan.insert(rng.randrange(len(plan) + 1), ("code", code))
    return plan


def is_expected(outcome: Outcome) -> bool:
    status, key = EXPECTED[outcome.kind]
    if outcome.status != status or not isinstance(outcome.body, dict) or key not in outcome.body:
        return False
    return outcome.kind != "introspection" or outcome.body["active"] is True


def is_json_503(outcome: Outcome) -> bool:
    return (
        outcome.status == 503
        and outcome.content_type.startswith("application/json")
        and isinstance(outcome.body, dict)
        and outcome.body.get("error") == "temporarily_unavailable"
    )


# --- Two nodes, one service ------------------------------------------------------------


def assert_token_is_shared(node_a: Node, node_b: Node, seeded: dict, verifier: str, challenge: str) -> None:
    """Issued at A, valid at B, revoked at B, refused at A."""
    client_id = seeded["static"]["client_id"]
    (code,) = asyncio.run(mint_codes(node_a.base, client_id, 1, challenge))
    issued = httpx.post(f"{node_a.base}/oauth/token", data=code_body(client_id, code, verifier))
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    server = (seeded["resource_server"]["client_id"], seeded["resource_server"]["secret"])

    assert httpx.get(f"{node_b.base}/oauth/userinfo", headers=bearer).status_code == 200
    at_b = httpx.post(f"{node_b.base}/oauth/introspect", data={"token": token}, auth=server)
    assert at_b.status_code == 200 and at_b.json()["active"] is True

    revoked = httpx.post(f"{node_b.base}/oauth/revoke", data={"token": token, "client_id": client_id})
    assert revoked.status_code == 200, revoked.text

    refused = httpx.get(f"{node_a.base}/oauth/userinfo", headers=bearer)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    at_a = httpx.post(f"{node_a.base}/oauth/introspect", data={"token": token}, auth=server)
    assert at_a.status_code == 200 and at_a.json() == {"active": False}


def assert_registration_limit_is_shared(nodes: list[Node], address: str) -> list[int]:
    """RATELIMIT_REGISTER counts one address's registrations on both nodes together: the
    registrations after the limit are refused whichever node gets them."""
    statuses = []
    for n in range(REGISTRATION_LIMIT + 2):
        node = nodes[n % len(nodes)]
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=node.base, transport=transport, timeout=30) as http:
            response = http.post(
                "/oauth/register", json={"client_name": f"limit {n}", "redirect_uris": [REDIRECT_URI]}
            )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["error"] == "slow_down"
    assert statuses == [201] * REGISTRATION_LIMIT + [429, 429], statuses
    return statuses


# --- The test --------------------------------------------------------------------------


def test_load_with_a_database_outage_on_two_nodes(deployment, capsys, caplog):
    caplog.set_level(logging.WARNING, logger="httpx")  # 10,000 request lines otherwise
    cluster, nodes, seeded = deployment
    node_a, node_b = nodes
    began = time.monotonic()
    rng = random.Random(7)
    verifier, challenge = pkce_pair()

    def tokens_for(node: Node, client: str, n: int) -> list[dict]:
        client_id = seeded[client]["client_id"]
        minted = asyncio.run(mint_codes(node.base, client_id, n, challenge))
        return asyncio.run(exchange_all(node.base, client_id, minted, verifier))

    codes = asyncio.run(mint_codes(node_a.base, seeded["codes"]["client_id"], CODES, challenge))
    chains = tokens_for(node_b, "chains", CHAINS)
    static = tokens_for(node_a, "static", STATIC_TOKENS)
    workers_before = {node.name: node.workers() for node in nodes}

    load = Load(
        nodes=nodes,
        seeded=seeded,
        verifier=verifier,
        static_tokens=[t["access_token"] for t in static],
        chains=[{"refresh_token": t["refresh_token"]} for t in chains],
        rng=rng,
        ip_prefix=f"127.{random.randrange(2, 250)}",
    )
    load_started = time.monotonic()
    outage = asyncio.run(load.run(make_plan(rng, codes), cluster))
    load_seconds = time.monotonic() - load_started
    outcomes = load.outcomes

    # Every request got an HTTP answer; 5xx only during the outage, and then JSON 503s.
    assert len(outcomes) == TOTAL_REQUESTS
    assert not [o for o in outcomes if o.error][:5]
    server_errors = [o for o in outcomes if o.status >= 500]
    during = [o for o in server_errors if outage.overlaps(o)]
    assert [(o.kind, o.status, o.body) for o in server_errors if not outage.overlaps(o)][:5] == []
    assert [(o.kind, o.status, o.content_type, o.body) for o in during if not is_json_503(o)][:5] == []
    assert during, "the outage was not noticed: no request got a 503"
    assert all(o.body["error_description"] for o in during)
    # Anything else is the answer the request deserves (no 4xx from a half-broken node).
    odd = [o for o in outcomes if o.status < 500 and not is_expected(o)]
    assert [(o.kind, o.node, o.status, o.body) for o in odd][:5] == []

    # Recovery without a restart: the same gunicorn processes answer everything after it.
    after = [o for o in outcomes if o.sent > outage.ended]
    assert len(after) >= TOTAL_REQUESTS * SECOND_PHASE
    assert all(is_expected(o) for o in after)
    for node in nodes:
        assert node.process.poll() is None
        assert node.workers() == workers_before[node.name]

    # Codes: each pre-minted code is exchanged once; one refused during the outage is
    # still there and is exchanged now; a second exchange is refused.
    exchanged = Counter(o.key for o in outcomes if o.kind == "code" and o.status == 200)
    assert max(exchanged.values()) == 1
    retried = [code for code in codes if code not in exchanged]
    client_id = seeded["codes"]["client_id"]

    def exchange(code: str) -> httpx.Response:
        return httpx.post(f"{rng.choice(nodes).base}/oauth/token", data=code_body(client_id, code, verifier))

    for code in retried:
        answer = exchange(code)
        assert answer.status_code == 200, f"a code refused during the outage is lost: {answer.text}"
    codes_pk = seeded["codes"]["pk"]
    assert rows("grant", codes_pk) == 0
    assert rows("accesstoken", codes_pk) == CODES
    assert rows("refreshtoken", codes_pk) == CODES
    replayed = rng.sample(codes, 10)
    for code in replayed:
        again = exchange(code)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: a replayed code also revokes the tokens issued for it.
    assert rows("accesstoken", codes_pk) == CODES - len(replayed)

    # Rows match answers: one token per 200, one client per 201, one rotation per refresh.
    def successes(kind: str) -> int:
        return sum(1 for o in outcomes if o.kind == kind and is_expected(o))

    service_pk = seeded["service"]["pk"]
    tokens = rows("accesstoken", service_pk)
    assert tokens == successes("client_credentials")
    registered = count("SELECT count(*) FROM oauth_clients_client WHERE name LIKE 'load registration %%'")
    assert registered == successes("registration")
    chains_pk = seeded["chains"]["pk"]
    live = count(
        "SELECT count(*) FROM oauth2_provider_refreshtoken WHERE application_id = %s AND revoked IS NULL",
        chains_pk,
    )
    rotated = count(
        "SELECT count(*) FROM oauth2_provider_refreshtoken WHERE application_id = %s AND revoked IS NOT NULL",
        chains_pk,
    )
    assert live == CHAINS
    assert rotated == successes("refresh")

    # Two nodes, one service.
    assert_token_is_shared(node_a, node_b, seeded, verifier, challenge)
    limit = assert_registration_limit_is_shared(nodes, f"127.{load.ip_prefix.split('.')[1]}.255.254")

    # The outage was logged as warnings, never as tracebacks.
    logs = "".join(node.log.read_text() for node in nodes)
    assert "Traceback" not in logs
    warnings = logs.count('"event": "database_unavailable"')
    assert warnings >= 1

    figures = {
        "requests": len(outcomes),
        "by kind": dict(Counter(o.kind for o in outcomes)),
        "5xx": len(server_errors),
        "5xx outside the outage": len(server_errors) - len(during),
        "503 JSON during the outage": len(during),
        "outage seconds (stop called .. accepting again)": round(outage.ended - outage.started, 2),
        "database down seconds (stopped .. start called)": round(outage.restarted - outage.stopped, 2),
        "load seconds": round(load_seconds, 1),
        "req/s": round(len(outcomes) / load_seconds, 1),
        "codes exchanged once": CODES,
        "codes refused during the outage, exchanged after": len(retried),
        "client_credentials tokens = 200s": tokens,
        "registrations = 201s": registered,
        "refresh rotations = 200s": rotated,
        "registration limit across nodes": limit,
        "outage warnings logged": warnings,
        "test seconds": round(time.monotonic() - began, 1),
    }
    with capsys.disabled():
        print("\nfault test figures: " + json.dumps(figures, indent=2))
