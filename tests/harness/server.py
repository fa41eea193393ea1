# SPDX-License-Identifier: Apache-2.0
"""Runs the reference homeserver as a subprocess, for runs that name no target.

The suite must not import the server (a bug they shared would be invisible), so it
starts it the way a user would: `python -m reference_server`, on port 0, with a
temporary data directory, reading the address it prints. Its stderr goes to a file
so that, if it dies, the failure can quote its last words.
"""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import httpx

from tests.harness.federation_tls import PeerCA
from tests.harness.reference_database import DatabaseSetupError, database_for_new_server

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3  # a port picked free may be taken before the server binds it
_PORT_TAKEN = "Address already in use"
_LISTENING = re.compile(r"listening on (https?://\S+)")
CONFIG = """\
[registration]
open = true
[rate_limits]
enabled = false
# A disposable test server: cheap password hashing, as Synapse's bcrypt_rounds = 4.
[passwords]
argon2_time_cost = 1
argon2_memory_kib = 1024
# A small upload limit, so the suite can send a file just over it.
[media]
max_upload_bytes = 1048576
# Federation with the suite's fake peers, on loopback, whose certificates come from
# the run's CA (added below as ca_file when the harness has one).
[federation]
allow_private_addresses = true
"""


class ServerError(Exception):
    """The reference server did not start, or died; the message quotes its stderr."""


def parse_listening_line(line: str) -> str | None:
    """The base URL from the server's `listening on http://HOST:PORT` line, if it is one."""
    match = _LISTENING.search(line)
    return match.group(1).rstrip("/.,") if match else None


def stderr_tail(path: Path | str | None, lines: int = 25) -> str:
    """The last lines of a log file, indented, or "" if there is none."""
    if not path:
        return ""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = text.splitlines()[-lines:]
    return "\n".join("    " + line for line in tail)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port of `host` that was free a moment ago (bind port 0, ask, close)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host.strip("[]"), 0))
        return probe.getsockname()[1]


class ReferenceServer:
    """One reference server process with its own data directory.

    It trusts the certificates `ca` issues (the fake peers'). Without a server name it
    is named by its federation listener's address, `HOST:PORT`, and presents a
    certificate from `ca` for HOST: another server trusting the CA then reaches and
    verifies it by its name alone, with no DNS (server-server-api/#resolving-server-names,
    steps 1-2: an IP literal with a port is used as is).
    """

    def __init__(self, *, server_name: str | None = "localhost", ca: PeerCA | None = None,
                 federation_host: str = "127.0.0.1") -> None:
        self.named_by_address = server_name is None
        self.server_name = server_name or ""
        self.ca = ca
        self.federation_listen = f"{_bracketed(federation_host)}:0"
        self.tls_files: tuple[Path, Path] | None = None
        self.url: str | None = None
        self.federation_url: str | None = None  # its TLS federation listener
        self.directory = Path(tempfile.mkdtemp(prefix="matrix-reference-"))
        self.stderr_path = self.directory / "server.stderr"
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stdout_tail: deque[str] = deque(maxlen=50)
        self.database = database_for_new_server()  # None: SQLite in the data directory

    def command(self, config_path: Path) -> list[str]:
        command = [sys.executable, "-m", "reference_server", "--server-name", self.server_name,
                   "--listen", "127.0.0.1:0", "--federation-listen", self.federation_listen,
                   "--data-dir", str(self.directory / "data"),
                   "--config", str(config_path)]
        if self.database:
            command += ["--database", self.database.url]
        if self.tls_files:
            command += ["--tls-cert", str(self.tls_files[0]), "--tls-key", str(self.tls_files[1])]
        return command

    def start(self) -> str:
        """Starts the server and returns its base URL once /versions answers 200."""
        if not self.named_by_address:
            return self._start_once()
        for _ in range(PORT_ATTEMPTS - 1):
            self._take_address()
            try:
                return self._start_once()
            except ServerError as error:
                if _PORT_TAKEN not in str(error):
                    raise
        self._take_address()
        return self._start_once()

    def _take_address(self) -> None:
        """Names the server after a port free now on its federation host."""
        host = self.federation_listen.rpartition(":")[0]
        self.server_name = self.federation_listen = f"{host}:{free_port(host)}"
        if self.ca is not None and self.tls_files is None:
            self.tls_files = self.ca.issue_files(self.directory, host)

    def _start_once(self) -> str:
        config_path = self.directory / "config.toml"
        ca_file = self.ca.pem_path if self.ca else None
        ca_line = f"ca_file = {json.dumps(str(ca_file))}\n" if ca_file else ""
        config_path.write_text(CONFIG + ca_line, encoding="utf-8")
        if self.database:
            try:
                self.database.create()
            except DatabaseSetupError as error:
                raise ServerError(f"the reference server has no database: {error}") from None
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
        with self.stderr_path.open("wb") as stderr:
            self._process = subprocess.Popen(self.command(config_path), cwd=PROJECT_ROOT,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                             stderr=stderr, env=env)
        self._lines = queue.Queue()  # this process's lines only, not a failed one's
        threading.Thread(target=self._read_stdout, args=(self._process, self._lines),
                         daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        self.url = self._wait_for_address(deadline)
        self._wait_until_ready(deadline)
        return self.url

    def _read_stdout(self, process: subprocess.Popen[bytes],
                     lines: queue.Queue[str | None]) -> None:
        """Drains stdout for the whole run, so a chatty server never blocks on the pipe."""
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._stdout_tail.append(line)
            lines.put(line)
        lines.put(None)

    def _wait_for_address(self, deadline: float) -> str:
        """The client URL from the first `listening on http…` line and, when the command
        asks for a federation listener, the federation URL from the `https://` one."""
        wants_tls = "--federation-listen" in self.command(self.directory / "config.toml")
        url: str | None = None
        while url is None or (wants_tls and self.federation_url is None):
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                wanted = "http://…" if url is None else "https://… (federation)"
                raise self._failure(f"printed no 'listening on {wanted}' line in "
                                    f"{START_TIMEOUT:.0f} s") from None
            if line is None:  # stdout closed: the process is exiting; collect its status
                self._reap()
                raise self._failure("exited before it printed its address")
            found = parse_listening_line(line)
            if found and found.startswith("https://") and wants_tls:
                self.federation_url = found
            elif found and url is None:
                url = found
        return url

    def _wait_until_ready(self, deadline: float) -> None:
        assert self._process is not None
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.url}/_matrix/client/versions", timeout=2.0)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as error:
                last = f"{type(error).__name__}: {error}"
            try:  # the pause between polls doubles as the check that it is still alive
                self._process.wait(timeout=0.1)
                raise self._failure("exited while starting up")
            except subprocess.TimeoutExpired:
                pass
        raise self._failure(f"did not answer GET /_matrix/client/versions with 200 "
                            f"within {START_TIMEOUT:.0f} s (last: {last})")

    def _reap(self) -> None:
        assert self._process is not None
        try:
            self._process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            pass  # closed stdout but still running: reported as running

    def _failure(self, what: str) -> ServerError:
        code = self._process.poll() if self._process else None
        status = f" (exit status {code})" if code is not None else ""
        stdout = "\n".join("    " + line for line in list(self._stdout_tail)[-10:])
        command = " ".join(self.command(self.directory / "config.toml"))
        return ServerError(
            f"the reference server {what}{status}\n  command: {command}"
            f"\n  stderr (last lines):\n{stderr_tail(self.stderr_path) or '    (empty)'}"
            + (f"\n  stdout (last lines):\n{stdout}" if stdout else ""))

    def diagnose(self) -> str:
        """Why requests may be failing: whether the process is gone, and its stderr tail."""
        code = self._process.poll() if self._process else None
        if code is not None:
            return (f"\n  the reference server has exited (status {code}); stderr:\n"
                    f"{stderr_tail(self.stderr_path) or '    (empty)'}")
        return describe_log(self.stderr_path, alive=True)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; the data directory is removed."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self.database:
            self.database.drop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _bracketed(host: str) -> str:
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


def describe_log(path: Path | str | None, *, alive: bool | None = None) -> str:
    """The text appended to a transport failure when the target is our reference server."""
    tail = stderr_tail(path)
    if not tail:
        return ""
    state = "" if alive is None else (" (still running)" if alive else " (it has exited)")
    return f"\n  reference server stderr{state}:\n{tail}"
