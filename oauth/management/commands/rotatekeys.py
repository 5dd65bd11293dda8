"""`manage.py rotatekeys`: publish new signing keys now; they sign after KEY_ACTIVATION_DELAY."""

import json
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from jwcrypto import jwk

from oauth import keys


class Command(BaseCommand):
    help = (
        "Create a new signing key per algorithm, published in the JWKS at once and used to sign "
        "after --delay seconds; the current key retires then and stays published until every "
        "token it signed has expired. Keys no token needs any more are deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--algorithm",
            choices=keys.ALGORITHMS,
            action="append",
            help="Rotate only this algorithm (repeatable). Default: every algorithm in use.",
        )
        parser.add_argument(
            "--delay",
            type=int,
            default=None,
            help="Seconds before the new key signs (default KEY_ACTIVATION_DELAY).",
        )
        parser.add_argument(
            "--from-pem",
            type=Path,
            help="Use this PEM private key (from your secret store) instead of generating one.",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        delay = settings.KEY_ACTIVATION_DELAY if options["delay"] is None else options["delay"]
        if delay < 0:
            raise CommandError("--delay must be 0 or more.")
        private = None
        if options["from_pem"]:
            try:
                private = jwk.JWK.from_pem(options["from_pem"].read_bytes())
                algorithms = [keys.algorithm_of(private)]
            except (OSError, ValueError, TypeError) as error:
                raise CommandError(f"Cannot use {options['from_pem']}: {error}") from error
            if options["algorithm"] and options["algorithm"] != algorithms:
                raise CommandError(f"The PEM holds an {algorithms[0]} key.")
        else:
            algorithms = options["algorithm"] or keys.required_algorithms()
        created = []
        for algorithm in algorithms:
            if algorithm not in keys.keyring().active and private is None:
                keys.bootstrap(algorithm)  # nothing signs yet: the first key is active at once
                key = keys.keyring().active[algorithm]
            else:
                try:
                    key = keys.rotate(algorithm, timedelta(seconds=delay), private)
                except IntegrityError as error:
                    raise CommandError("That key is already stored (same kid).") from error
            created.append(key)
        pruned = keys.prune()
        if options["json"]:
            rows = [
                {"kid": k.kid, "algorithm": k.algorithm, "activates_at": k.activates_at.isoformat()}
                for k in created
            ]
            self.stdout.write(json.dumps({"created": rows, "deleted": pruned}))
            return
        for key in created:
            self.stdout.write(
                f"{key.algorithm} key {key.kid}: published now, "
                f"signs from {key.activates_at:%Y-%m-%d %H:%M:%S %Z}"
            )
        for kid in pruned:
            self.stdout.write(f"Deleted expired key {kid}")
