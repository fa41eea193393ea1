# SPDX-License-Identifier: Apache-2.0
"""`--database` takes a SQLite path or a PostgreSQL URL; one the server cannot use stops
start-up with a one-line reason, not a traceback."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_with(tmp_path, database: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reference_server", "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path), "--database", database],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("database", "reason"), [
    pytest.param("mysql://u@127.0.0.1/db", "unsupported database URL", id="unknown-scheme"),
    pytest.param("postgresql://u@127.0.0.1:{port}/db", "cannot connect to PostgreSQL",
                 id="nothing-listening"),
    pytest.param("postgresql://u:secret@127.0.0.1:{port}/db", "u:***@127.0.0.1",
                 id="password-not-shown"),
    pytest.param("postgresql://u@127.0.0.1:{port}/db?password=secret", "password=***",
                 id="password-option-not-shown"),
    pytest.param("postgresql://u@127.0.0.1/db?sslmode=bogus", "PostgreSQL",
                 id="bad-option"),
])
def test_an_unusable_database_stops_start_up_plainly(tmp_path, database, reason):
    done = _start_with(tmp_path, database.format(port=_closed_port()))
    assert done.returncode != 0
    assert reason in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "secret" not in done.stderr, done.stderr
