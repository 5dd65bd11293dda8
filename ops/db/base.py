"""Django's PostgreSQL backend, with a connection health check that needs no round trip.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request
on a persistent connection: on the token endpoints that is one round trip in four to ten.
A connection the server has ended while it sat idle (a restart or shutdown,
`pg_terminate_backend`, a pooler's idle timeout) has the server's goodbye, or the end of
the stream, waiting on its socket. So the socket is polled first, locally: nothing waiting
means the connection is as usable as `SELECT 1` would have found it a moment later, and
only a socket with something on it (or a connection psycopg already knows is broken) gets
Django's real check.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            waiting = poller.poll(0)
        except (OSError, ValueError):
            return False
        if waiting:
            # A notice, or the server's "terminating connection" and the end of the stream.
            return super().is_usable()
        return True
