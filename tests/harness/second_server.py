# SPDX-License-Identifier: Apache-2.0
"""The second homeserver of two-server tests, when the suite runs its own servers.

A user who names the first target names the second too (`--second-server-url`). When
the suite starts the first reference server itself, it also starts a second one, but
only in a run holding a test that asks for `hs2`. Both trust the run's CA, present
certificates from it and are named by their federation addresses, on two loopback
hosts (127.0.0.1 and 127.0.0.2): server ACLs ignore ports, so a test can deny one
server only if their hosts differ.

Under xdist the controller owns the second server, since it outlives every worker:
each worker that collected a test using `hs2` leaves a note in the run's directory
($MATRIX_SECOND_SERVER_DIR, exported before the workers spawn); the controller hears
of each worker's collection before it schedules any test, starts the server, and
writes where it listens (or why it could not start) into `server.json` there. Without
xdist the only process starts it when the first such test asks.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from tests.harness.federation_tls import PeerCA
from tests.harness.server import ReferenceServer, ServerError

DIR_ENV = "MATRIX_SECOND_SERVER_DIR"
SECOND_HOST = "127.0.0.2"  # the first server's federation host is 127.0.0.1
STATE_FILE = "server.json"


class SecondServer:
    """The run's second reference server: its notes and state directory, and the process
    when this process owns it."""

    def __init__(self, directory: Path, *, owned: bool) -> None:
        self.directory = directory
        self._owned = owned
        self._server: ReferenceServer | None = None

    @classmethod
    def create(cls) -> SecondServer:
        """A new run directory, owned by this process (the controller, or the only one)."""
        return cls(Path(tempfile.mkdtemp(prefix="matrix-second-server-")), owned=True)

    @classmethod
    def shared(cls, directory: str) -> SecondServer:
        """The controller's run directory, as a worker sees it."""
        return cls(Path(directory), owned=False)

    def want(self, worker: str) -> None:
        """Notes that this worker will run a test asking for the second server."""
        (self.directory / f"wanted-{worker}").touch()

    def wanted(self) -> bool:
        return any(self.directory.glob("wanted-*"))

    def start(self, ca: PeerCA) -> None:
        """Starts the server once; records its URL, or the error, for every process."""
        if self._server is not None or (self.directory / STATE_FILE).exists():
            return
        self._server = ReferenceServer(server_name=None, ca=ca, federation_host=SECOND_HOST)
        try:
            state = {"url": self._server.start()}
        except ServerError as error:
            state = {"error": f"the second reference server could not start: {error}"}
        (self.directory / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    def url(self) -> str | None:
        """Its client-server URL, None if it was not started; ServerError if it failed."""
        path = self.directory / STATE_FILE
        if not path.exists():
            return None
        state = json.loads(path.read_text(encoding="utf-8"))
        if "error" in state:
            raise ServerError(state["error"])
        return state["url"]

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)
