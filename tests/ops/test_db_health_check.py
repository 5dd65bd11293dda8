"""The PostgreSQL health check (ops/db/base.py): no round trip for a live idle
connection, and a connection the server ended is still found and replaced."""

import time

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's check"),
    pytest.mark.django_db,
]


@pytest.fixture
def pair():
    """A persistent connection as a worker holds it, and an observer beside it."""
    worker, observer = connections.create_connection("default"), connections.create_connection("default")
    worker.ensure_connection()
    observer.ensure_connection()
    yield worker, observer
    worker.close()
    observer.close()


def last_statement(observer, pid: int) -> str | None:
    with observer.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row[0] if row else None


def test_the_engine_is_ours():
    assert connection.settings_dict["ENGINE"] == "ops.db"


def test_a_live_idle_connection_is_usable_without_a_query(pair):
    worker, observer = pair
    with worker.cursor() as cursor:
        cursor.execute("SELECT 'the last statement before the check'")
    pid = worker.connection.info.backend_pid

    assert worker.is_usable()

    assert last_statement(observer, pid) == "SELECT 'the last statement before the check'"


def test_a_connection_the_server_ended_is_replaced(pair):
    worker, observer = pair
    pid = worker.connection.info.backend_pid
    with observer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while last_statement(observer, pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)

    assert not worker.is_usable()

    # What Django does before a request's first query on a persistent connection.
    worker.health_check_enabled, worker.health_check_done = True, False
    worker.close_if_health_check_failed()
    assert worker.connection is None
    with worker.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_inside_a_transaction_the_real_check_runs(pair):
    worker, observer = pair
    worker.set_autocommit(False)
    with worker.cursor() as cursor:
        cursor.execute("SELECT 'inside a transaction'")
    pid = worker.connection.info.backend_pid

    assert worker.is_usable()

    assert last_statement(observer, pid) == "SELECT 1"
    worker.rollback()
    worker.set_autocommit(True)
