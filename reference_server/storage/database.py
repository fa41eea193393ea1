# SPDX-License-Identifier: Apache-2.0
"""The database connection, its schema migrations, and the one way to write: a transaction.

SQLite by default, PostgreSQL when asked (see engines.py for what differs). Calls are
synchronous and short on one connection; the server is single-threaded under trio, so a
transaction that contains no `await` is atomic with respect to every other request.
Outside a transaction every statement commits on its own.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .engines import DatabaseUnavailable, Engine, PostgresEngine, SqliteEngine
from .schema import MIGRATIONS

__all__ = ["Database", "DatabaseUnavailable", "open_database"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_database(target: Path | str) -> Database:
    """A database from a SQLite path or a `postgresql://` URL; DatabaseUnavailable if
    the URL is malformed or the server cannot be reached."""
    if isinstance(target, str) and target.startswith(POSTGRES_SCHEMES):
        return Database(PostgresEngine(target))
    return Database(target)


class Database:
    def __init__(self, target: Path | str | Engine) -> None:
        """`target`: a SQLite file (or ":memory:"), or an engine (see open_database)."""
        self._engine: Engine = (SqliteEngine(target) if isinstance(target, (str, Path))
                                else target)
        self._depth = 0
        self._rollback_listeners: list[Callable[[], None]] = []
        self._migrate()

    def on_rollback(self, listener: Callable[[], None]) -> None:
        """Call `listener` after a transaction rolls back: caches filled inside it may
        hold rows that no longer exist (and whose IDs SQLite hands out again)."""
        self._rollback_listeners.append(listener)

    @property
    def engine(self) -> str:
        """"sqlite" or "postgresql"."""
        return self._engine.name

    def _migrate(self) -> None:
        self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = self.scalar("SELECT version FROM schema_version") or 0
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            if isinstance(script, dict):
                script = script[self._engine.name]
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.execute(self._engine.schema_sql(statement))
                self.execute("DELETE FROM schema_version")
                self.execute("INSERT INTO schema_version VALUES (?)", (version,))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One logical write: everything inside commits together or not at all."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._engine.execute(self._engine.begin, ())
        self._depth = 1
        try:
            yield
        except BaseException:
            self._engine.execute("ROLLBACK", ())
            for listener in self._rollback_listeners:
                listener()
            raise
        else:
            self._engine.execute("COMMIT", ())
        finally:
            self._depth = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Runs one statement; the cursor tells `rowcount`."""
        return self._engine.execute(sql, params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row (by name and by index), or None."""
        cursor = self._engine.execute(sql, params)
        row = cursor.fetchone()
        cursor.close()  # a statement left open would hold SQLite's implicit transaction
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._engine.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (also of `INSERT ... RETURNING`), or None."""
        row = self.one(sql, params)
        return row[0] if row else None

    def next_stream_id(self) -> int:
        """The next position of the one stream that orders everything /sync reports."""
        return self.scalar("UPDATE stream_position SET position = position + 1 RETURNING position")

    def current_stream_id(self) -> int:
        return self.scalar("SELECT position FROM stream_position")

    def close(self) -> None:
        self._engine.close()
