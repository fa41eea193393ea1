# SPDX-License-Identifier: Apache-2.0
"""The second reference server's bookkeeping, and servers named by their address."""
from __future__ import annotations

import json
import sys

import pytest

from tests.harness.second_server import STATE_FILE, SecondServer
from tests.harness.server import ReferenceServer, ServerError
from unittests.harness.stub_versions import versions_stub


def test_a_workers_wish_reaches_the_owner_and_the_run_directory_goes_with_it():
    owner = SecondServer.create()
    worker = SecondServer.shared(str(owner.directory))
    assert not owner.wanted()
    worker.want("gw1")
    assert owner.wanted() and worker.url() is None
    worker.close()
    assert owner.directory.exists()  # a worker never removes the controller's directory
    owner.close()
    assert not owner.directory.exists()


def test_every_process_reads_where_the_server_is_or_why_it_is_not():
    owner = SecondServer.create()
    try:
        worker = SecondServer.shared(str(owner.directory))
        (owner.directory / STATE_FILE).write_text(json.dumps({"url": "http://127.0.0.1:9"}))
        assert worker.url() == "http://127.0.0.1:9"
        (owner.directory / STATE_FILE).write_text(json.dumps({"error": "no database"}))
        with pytest.raises(ServerError, match="no database"):
            worker.url()
    finally:
        owner.close()


class _PortTakenOnce(ReferenceServer):
    """Fails its first start as if another process took the port; then starts."""

    def __init__(self, url: str) -> None:
        super().__init__(server_name=None, federation_host="127.0.0.2")
        self.script_url = url
        self.names: list[str] = []

    def command(self, config_path):
        if self.server_name not in self.names:
            self.names.append(self.server_name)
        if len(self.names) == 1:
            script = ("import sys; sys.stderr.write('OSError: [Errno 98] Address already in "
                      "use\\n'); sys.exit(1)")
        else:
            script = (f"import time; print('listening on {self.script_url} as x', flush=True); "
                      "time.sleep(60)")
        return [sys.executable, "-c", script]


def test_a_server_named_by_its_address_tries_another_port_when_its_own_was_taken():
    with versions_stub() as url:
        server = _PortTakenOnce(url)
        try:
            assert server.start() == url
            assert len(server.names) == 2 and all(n.startswith("127.0.0.2:") for n in server.names)
            assert server.server_name == server.names[-1]
        finally:
            server.stop()
