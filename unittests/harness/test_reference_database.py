# SPDX-License-Identifier: Apache-2.0
"""MATRIX_REFERENCE_DATABASE picks the embedded reference server's store: SQLite unless it
names a PostgreSQL server, where every server the suite starts gets a database of its own."""
from __future__ import annotations

import pytest

from tests.harness.reference_database import ENV, database_for_new_server


@pytest.mark.parametrize("value", [None, "", "sqlite"])
def test_sqlite_is_the_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    assert database_for_new_server() is None


def test_each_server_gets_its_own_database_on_the_named_server(monkeypatch):
    monkeypatch.setenv(ENV, "postgresql://suite:pw@127.0.0.1:5433/postgres?sslmode=disable")
    first, second = database_for_new_server(), database_for_new_server()
    assert first.name != second.name
    assert first.url == f"postgresql://suite:pw@127.0.0.1:5433/{first.name}?sslmode=disable"


def test_another_scheme_is_refused(monkeypatch):
    monkeypatch.setenv(ENV, "mysql://suite@127.0.0.1/db")
    with pytest.raises(ValueError, match=ENV):
        database_for_new_server()
