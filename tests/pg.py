"""PostgreSQL for the tests: `pg_server` (a server URL, once per session) and `pg_url` (a fresh schema per test).

The server: $SLAPOLICY_TEST_PG when set (CI starts one with `.ci/postgres.sh start`); else a throwaway
cluster started here with the same script (Debian's initdb/pg_ctl, as a non-root user) and stopped at
the end of the session; else the tests that need it skip, with the reason. With CI=true nothing skips:
a PostgreSQL that cannot be had fails those tests.

Use it from a test file with `from pg import pg_server, pg_url  # noqa: F401` (fixtures by import);
`url` gives a store URL on each database (SQLite, PostgreSQL).
"""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "postgres.sh"
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI (CI=true) and could not be had: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


def _start_cluster():
    """(url, directory) of a cluster started by .ci/postgres.sh, or (None, reason)."""
    try:
        proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{SCRIPT.name} start: {exc}"
    if proc.returncode != 0:
        return None, f"{SCRIPT.name} start exited {proc.returncode}: {proc.stderr.strip()[-1500:]}"
    exports = dict(line[len("export "):].split("=", 1) for line in proc.stdout.splitlines()
                   if line.startswith("export ") and "=" in line)
    if "SLAPOLICY_TEST_PG" not in exports:
        return None, f"{SCRIPT.name} start printed no SLAPOLICY_TEST_PG: {proc.stdout!r}"
    return exports["SLAPOLICY_TEST_PG"], exports.get("SLAPOLICY_PG_DIR")


def _stop_cluster(directory):
    if directory:
        subprocess.run(["bash", str(SCRIPT), "stop", directory], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def pg_server():
    try:
        import psycopg
    except ImportError as exc:
        unavailable(f"psycopg 3 is not installed ({exc}); pip install 'psycopg[binary]'")
    url, directory = os.environ.get("SLAPOLICY_TEST_PG"), None
    if not url:
        url, directory = _start_cluster()
        if url is None:
            unavailable(directory)
        print(f"\npg.py: started a throwaway PostgreSQL cluster in {directory}: {url}")
    try:
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.Error as exc:
        _stop_cluster(directory)
        unavailable(f"cannot connect to {url}: {str(exc).strip()}")
    yield url
    _stop_cluster(directory)


def with_search_path(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url(pg_server):
    """A URL whose tables land in a schema of their own (search_path), dropped after the test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield with_search_path(pg_server, schema)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """A monitor store URL on each real database: a SQLite file, a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/monitor.db"  # tmp_path is absolute: sqlite:////tmp/...
    return request.getfixturevalue("pg_url")
