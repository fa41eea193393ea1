# SPDX-License-Identifier: Apache-2.0
"""A throwaway PostgreSQL cluster on loopback, for tests and benchmarks.

`initdb` into a temporary directory, `pg_ctl start` on a free 127.0.0.1 port with trust
authentication, and everything removed on stop. `initdb` refuses to run as root, so as
root the cluster belongs to the `postgres` user (Debian's package creates it) and the
binaries run through `runuser`.

The cluster trades durability for speed (`fsync=off`, `synchronous_commit=off`; not with
`--durable`): it only has to outlive the server processes under test, never the machine.

    python -m tools.postgres_cluster [--export NAME]... -- COMMAND...

runs COMMAND with the cluster's URL in MATRIX_TEST_POSTGRES_URL (the unit tests' PostgreSQL)
or in the variables named, e.g. MATRIX_REFERENCE_DATABASE (the suite then gives each
reference server it starts a fresh database there), and stops the cluster afterwards.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin")
UNPRIVILEGED_USER = "postgres"
DEFAULT_EXPORT = "MATRIX_TEST_POSTGRES_URL"


class ClusterUnavailable(Exception):
    """No PostgreSQL binaries, or no way to run them; the message says which."""


def find_bin_dir() -> Path:
    """The directory holding initdb, pg_ctl and postgres (PATH first, newest version)."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    versions = sorted(glob.glob(_SEARCH[0]), key=_version_key, reverse=True)
    candidates += [Path(p) for p in (*versions, *_SEARCH[1:])]
    for directory in candidates:
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise ClusterUnavailable("no PostgreSQL binaries (initdb, pg_ctl, postgres) found on "
                             "PATH or in /usr/lib/postgresql/*/bin; install the "
                             "`postgresql` package")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in Path(path).parent.name.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayCluster:
    """One cluster in its own temporary directory; `start()` returns its URL."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.bin_dir = find_bin_dir()
        self.directory = Path(tempfile.mkdtemp(prefix="matrix-pg-"))
        self.data = self.directory / "data"
        self.port = 0
        self._as_user: list[str] = []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        self._drop_root()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")
        for _ in range(3):  # a port picked free may be taken before the server binds it
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={self.port}"
                       f" -c unix_socket_directories={self.directory} -c max_connections=200")
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "log"),
                          "-o", options, "-w", "-t", "60", "start")
                return self.url
            except ClusterUnavailable as error:
                if "could not bind" not in self.log_tail():
                    raise error
        raise ClusterUnavailable("no free port for PostgreSQL:\n" + self.log_tail())

    def stop(self) -> None:
        if self.port and (self.data / "postmaster.pid").exists():
            with contextlib.suppress(ClusterUnavailable):  # already down: nothing to stop
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = (self.directory / "log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _drop_root(self) -> None:
        """As root, hand the directory to the unprivileged user and run tools as them."""
        if os.geteuid() != 0:
            return
        try:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
        except KeyError:
            raise ClusterUnavailable(f"running as root and there is no {UNPRIVILEGED_USER!r} "
                                     "user to run initdb as (initdb refuses root)") from None
        os.chown(self.directory, user.pw_uid, user.pw_gid)
        self._as_user = ["runuser", "-u", UNPRIVILEGED_USER, "--"]

    def _run(self, tool: str, *args: str) -> None:
        command = [*self._as_user, str(self.bin_dir / tool), *args]
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              cwd=self.directory, timeout=120)
        if done.returncode != 0:
            raise ClusterUnavailable(f"{tool} failed ({done.returncode}): "
                                     f"{(done.stderr or done.stdout).strip()[-1500:]}")

    def __enter__(self) -> ThrowawayCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.postgres_cluster",
        description="Run COMMAND with a throwaway PostgreSQL cluster on loopback.")
    parser.add_argument("--export", action="append", metavar="NAME",
                        help="environment variable to set to the cluster's URL (repeatable; "
                             f"default {DEFAULT_EXPORT})")
    parser.add_argument("--durable", action="store_true",
                        help="keep fsync and synchronous_commit on (for benchmarks)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no COMMAND given")
    try:
        cluster = ThrowawayCluster(durable=args.durable)
        cluster.__enter__()
    except ClusterUnavailable as error:
        print(f"postgres_cluster: {error}", file=sys.stderr)
        return 1
    try:
        print(f"postgres_cluster: PostgreSQL at {cluster.url}", file=sys.stderr, flush=True)
        env = dict(os.environ, **{name: cluster.url for name in args.export or [DEFAULT_EXPORT]})
        return subprocess.run(command, env=env).returncode
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
