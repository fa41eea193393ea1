# SPDX-License-Identifier: Apache-2.0
"""A reference server run as a real process for the server's own end-to-end tests, and
the databases to run it (or its storage layer) on: SQLite, and PostgreSQL when one is
available (MATRIX_TEST_POSTGRES_URL, or a throwaway cluster from the local binaries)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness.reference_database import FreshPostgresDatabase
from tools.postgres_cluster import ClusterUnavailable, ThrowawayCluster

ENGINES = ("sqlite", "postgresql")


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    process: subprocess.Popen


def start_server(data_dir: Path, *extra: str, more_config: str = "") -> RunningServer:
    """Start with the test configuration, plus `more_config` (TOML tables) if given."""
    config = data_dir / "config.toml"
    config.write_text("[registration]\nopen = true\n[rate_limits]\nenabled = false\n"
                      "[passwords]\nargon2_time_cost = 1\nargon2_memory_kib = 1024\n"
                      + more_config)
    return _launch(data_dir, *extra)


def _launch(data_dir: Path, *extra: str) -> RunningServer:
    """Start with whatever config.toml the data dir holds."""
    config = data_dir / "config.toml"
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--server-name", "localhost",
         "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--config", str(config), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for line in process.stdout:
        if "listening on http://" in line:
            url = line.split("listening on ", 1)[1].split()[0]
            httpx.get(url + "/_matrix/client/versions", timeout=10).raise_for_status()
            return RunningServer(url, data_dir, process)
    raise RuntimeError("server exited: " + process.stderr.read()[-2000:])


def stop_server(server: RunningServer, *, crash: bool = False) -> None:
    server.process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
    server.process.wait(timeout=15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path)
    yield running
    if running.process.poll() is None:
        stop_server(running)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server to create test databases on, or a skip saying why
    there is none (a failure instead when MATRIX_REQUIRE_POSTGRES=1, as in CI)."""
    url = os.environ.get("MATRIX_TEST_POSTGRES_URL", "").strip()
    if url:
        yield url
        return
    try:
        cluster = ThrowawayCluster()
        url = cluster.start()
    except ClusterUnavailable as error:
        if "cluster" in locals():
            cluster.stop()
        if os.environ.get("MATRIX_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unavailable: {error}")
        pytest.skip(f"PostgreSQL unavailable: {error}")
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture(params=ENGINES)
def database_target(request, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each engine: a SQLite path or a postgresql:// URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "homeserver.db")
        return
    database = FreshPostgresDatabase(request.getfixturevalue("postgres_server"))
    database.create()
    try:
        yield database.url
    finally:
        database.drop()
