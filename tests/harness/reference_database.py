# SPDX-License-Identifier: Apache-2.0
"""Where the embedded reference server keeps its data: SQLite in its data directory by
default, or a fresh PostgreSQL database per server when MATRIX_REFERENCE_DATABASE names
a PostgreSQL server.

MATRIX_REFERENCE_DATABASE=postgresql://USER@HOST:PORT/DBNAME names a database the role
can connect to and CREATE DATABASE from. Each reference server the suite starts gets its
own database there (servers must not share one), dropped when the server stops.
`python -m tools.postgres_cluster -- COMMAND` sets it to a throwaway cluster.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from urllib.parse import urlsplit

ENV = "MATRIX_REFERENCE_DATABASE"
_counter = itertools.count(1)


class DatabaseSetupError(Exception):
    """The database for a reference server could not be created; the message says why."""


class FreshPostgresDatabase:
    """One database of its own on the PostgreSQL server at `admin_url`."""

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        self.name = f"matrix_ref_{os.getpid()}_{next(_counter)}_{secrets.token_hex(3)}"
        self.url = urlsplit(admin_url)._replace(path="/" + self.name).geturl()
        self._created = False

    def create(self) -> None:
        if not self._created:
            self._admin(f'CREATE DATABASE "{self.name}" TEMPLATE template0')
            self._created = True

    def drop(self) -> None:
        """Best effort: a database left behind on a dead server is not the test's failure."""
        if self._created:
            self._created = False
            with contextlib.suppress(DatabaseSetupError):
                self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        import psycopg  # only runs against PostgreSQL need the driver

        try:
            with psycopg.connect(self._admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(statement)
        except psycopg.Error as error:
            raise DatabaseSetupError(f"{statement.split(' ')[0]} DATABASE on {ENV}="
                                     f"{self._admin_url} failed: {error}") from None


def database_for_new_server() -> FreshPostgresDatabase | None:
    """A database for the next reference server, or None for the default (SQLite)."""
    url = os.environ.get(ENV, "").strip()
    if not url or url == "sqlite":
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"{ENV} must be a postgresql:// URL or 'sqlite', not {url!r}")
    return FreshPostgresDatabase(url)
