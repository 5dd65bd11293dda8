"""Local JWT access-token validations per second on one core (resource_server kit).

Usage: python bench/kit_jwt_validate.py [--seconds 2] [--compare] [--json PATH]

Measures ``JWTVerifier.verify`` against a JWKS served in-process (no network):
  * uncached  - verified-token cache disabled: full signature + claims check every call
  * cached    - default cache, one token presented repeatedly (a client reusing its token)
  * pool-1000 - default cache, 1000 distinct live tokens in rotation
``--compare`` adds PyJWT and jwcrypto doing the same ES256 check, for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from jwcrypto import jwk, jwt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from resource_server import ResourceServerConfig, build_verifier  # noqa: E402

ISSUER = "https://auth.example.com"
RESOURCE = "https://mcp.example.com/mcp"


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu{cpu}"
    return "unpinned"


def mint(key: jwk.JWK, alg: str, jti: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "user-42",
        "aud": RESOURCE,
        "client_id": "client-7",
        "scope": "mcp:tools",
        "exp": now + 3600,
        "iat": now,
        "jti": jti,
    }
    token = jwt.JWT(header={"alg": alg, "kid": key.get("kid"), "typ": "at+jwt"}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def rate(fn: Callable[[str], object], tokens: list[str], seconds: float) -> float:
    for token in tokens[:50]:  # warm up (JWKS fetch, caches)
        fn(token)
    count, n = 0, len(tokens)
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for i in range(1000):
            fn(tokens[(count + i) % n])
        count += 1000
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--compare", action="store_true", help="also measure PyJWT and jwcrypto")
    parser.add_argument("--json", type=Path, help="write results to this file")
    args = parser.parse_args()
    core = pin_to_one_core()

    keys = {
        "ES256": jwk.JWK.generate(kty="EC", crv="P-256", kid="ec"),
        "RS256": jwk.JWK.generate(kty="RSA", size=2048, kid="rsa"),
    }
    jwks = {"keys": [json.loads(k.export_public()) for k in keys.values()]}
    metadata = {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/oauth/jwks"}

    def handler(request: httpx.Request) -> httpx.Response:
        body = jwks if request.url.path == "/oauth/jwks" else metadata
        return httpx.Response(200, json=body, headers={"Cache-Control": "max-age=3600"})

    def verifier(cache_size: int):  # noqa: ANN202
        config = ResourceServerConfig(issuer=ISSUER, resource=RESOURCE, mode="jwt", jwt_cache_size=cache_size)
        return build_verifier(config, transport=httpx.MockTransport(handler))

    results: dict[str, float] = {}
    for alg, key in keys.items():
        distinct = [mint(key, alg, str(i)) for i in range(1000)]
        results[f"{alg} uncached"] = rate(verifier(0).verify, distinct, args.seconds)
        results[f"{alg} cached"] = rate(verifier(10_000).verify, distinct[:1], args.seconds)
        results[f"{alg} pool-1000 cached"] = rate(verifier(10_000).verify, distinct, args.seconds)

    if args.compare:
        ec = keys["ES256"]
        distinct = [mint(ec, "ES256", str(i)) for i in range(1000)]
        try:
            import jwt as pyjwt

            public = ec.get_op_key("verify")
            results["ES256 PyJWT decode (reference)"] = rate(
                lambda t: pyjwt.decode(t, public, algorithms=["ES256"], audience=RESOURCE, issuer=ISSUER),
                distinct,
                args.seconds,
            )
        except ImportError:
            pass
        public_jwk = jwk.JWK.from_json(ec.export_public())
        results["ES256 jwcrypto JWT (reference)"] = rate(
            lambda t: jwt.JWT(jwt=t, key=public_jwk, algs=["ES256"]), distinct, args.seconds
        )

    print(f"python {platform.python_version()} on {platform.machine()}, one thread pinned to {core}")
    for name, value in results.items():
        print(f"  {name:34s} {value:>12,.0f} validations/s")
    if args.json:
        args.json.write_text(json.dumps({"core": core, "results": results}, indent=2))


if __name__ == "__main__":
    main()
