# SPDX-License-Identifier: Apache-2.0
"""The two database engines behind `Database`: SQLite (the default) and PostgreSQL.

The stores write one SQL dialect that both engines accept: `?` placeholders,
`INSERT ... ON CONFLICT`, `RETURNING`, integers for booleans. What still differs lives
here and nowhere else:

- placeholders: PostgreSQL's driver wants `%s`, so `?` is rewritten (and `%` doubled);
- the schema: migrations are written for SQLite; for PostgreSQL `INTEGER` becomes
  `BIGINT` (timestamps in ms overflow 32 bits), `INTEGER PRIMARY KEY` (SQLite's
  auto-numbered row ID) an identity column, and `TEXT` compares byte-wise
  (`COLLATE "C"`) as in SQLite, whatever the database's locale;
- rows: PostgreSQL rows are read by column name or index, like `sqlite3.Row`;
- a transaction starts with `BEGIN IMMEDIATE` (SQLite takes the write lock up front) or
  `BEGIN`;
- PostgreSQL text cannot hold U+0000: a statement with such a parameter is refused as
  M_INVALID_PARAM (SQLite stores it).

Both run in autocommit mode outside `Database.transaction()`: every statement the server
runs there is committed before it returns, so an acknowledged write survives kill -9.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from .. import errors


class DatabaseUnavailable(Exception):
    """The database URL is malformed, or the database cannot be reached; said plainly."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def close(self) -> None: ...


class Engine(Protocol):
    name: str
    begin: str  # the statement that opens a write transaction

    def execute(self, sql: str, params: Sequence[Any]) -> Cursor: ...
    def schema_sql(self, statement: str) -> str: ...
    def close(self) -> None: ...


class SqliteEngine:
    """A SQLite file in WAL mode with `synchronous=NORMAL`: a committed transaction
    survives the process being killed (only power loss could lose the last commits)."""

    name = "sqlite"
    begin = "BEGIN IMMEDIATE"

    def __init__(self, path: Path | str) -> None:
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")

    def execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        return self._conn.execute(sql, params)

    def schema_sql(self, statement: str) -> str:
        return statement

    def close(self) -> None:
        self._conn.close()


class PostgresEngine:
    """One PostgreSQL connection (psycopg 3), synchronous like the SQLite one."""

    name = "postgresql"
    begin = "BEGIN"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise DatabaseUnavailable("PostgreSQL needs the psycopg package "
                                      "(pip install 'psycopg[binary]')") from None
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as error:
            raise DatabaseUnavailable(f"malformed PostgreSQL URL {redact(url)!r}: "
                                      f"{_first_line(error)}") from None
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10,
                                         row_factory=_row_maker)
        except psycopg.Error as error:
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL at {redact(url)}: "
                                      f"{_first_line(error)}") from None
        self._conn.adapters.register_dumper(bool, _bool_dumper(psycopg))
        self._data_error = psycopg.DataError

    def execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        try:
            return self._conn.execute(_placeholders(sql), params)
        except self._data_error:
            if any(isinstance(p, str) and "\x00" in p for p in params):
                # PostgreSQL text cannot hold U+0000 (SQLite's can): refuse the input
                # rather than fail with a 500. JSON columns are unaffected (json.dumps
                # writes it as the escape \u0000).
                raise errors.invalid_param("Text containing U+0000 cannot be stored.") from None
            raise

    def schema_sql(self, statement: str) -> str:
        return _postgres_schema(statement)

    def close(self) -> None:
        self._conn.close()


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    url = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@lru_cache(maxsize=2048)
def _placeholders(sql: str) -> str:
    """`?` → `%s` outside quoted literals and names; every `%` doubled (psycopg's escape)."""
    parts = re.split(r"""('(?:[^']|'')*'|"[^"]*")""", sql.replace("%", "%%"))
    return "".join(part if part[:1] in ("'", '"') else part.replace("?", "%s")
                   for part in parts)


def _postgres_schema(statement: str) -> str:
    statement = re.sub(r"\bINTEGER PRIMARY KEY\b",
                       "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement)
    statement = re.sub(r"\bINTEGER\b", "BIGINT", statement)
    return re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', statement)


class Row:
    """A result row read by column name or by position, like `sqlite3.Row`."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key.lower()]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values))!r})"


def _row_maker(cursor):
    """psycopg's row factory: one name → position map per result, shared by its rows."""
    index = {column.name.lower(): i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


def _bool_dumper(psycopg):
    """Python booleans go in as 0/1: the schema stores flags as integers, as SQLite does."""
    class BoolAsInt(psycopg.adapt.Dumper):
        oid = psycopg.adapters.types["int8"].oid

        def dump(self, obj: bool) -> bytes:
            return b"1" if obj else b"0"
    return BoolAsInt
