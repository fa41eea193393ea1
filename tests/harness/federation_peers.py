# SPDX-License-Identifier: Apache-2.0
"""What the plugin's federation fixtures are made of: the target and a peer factory.

`fake_homeserver(...)` in a test is a `PeerFactory`: every peer it makes serves HTTPS
with a certificate from the run's CA, looks up the keys of whoever calls it at the
target's federation URL (and at the other peers of the same test), and is stopped when
the test ends; faults no failure has shown yet fail the test then.
"""
from __future__ import annotations

import fcntl
import socket
import time
from typing import Any

import pytest

from tests.harness.federation_auth import KeyFetcher
from tests.harness.federation_client import (
    FederationTarget,
    federation_url_for,
    tls_verification,
)
from tests.harness.federation_server import FakeHomeserver, Handler
from tests.harness.federation_tls import PeerCA

PORTS_FILE = "peer-ports"  # in the CA directory: "port time" per peer made
PORT_QUARANTINE_S = 3600.0  # longer than a target's retry backoff, shorter than a day


def make_target(server_name: str, federation_url: str | None,
                verify_option: str | None) -> FederationTarget:
    """The target's federation address: given, else resolved from its server name."""
    url = federation_url or federation_url_for(
        server_name, verify=tls_verification(verify_option, f"https://{server_name}"))
    return FederationTarget(url.rstrip("/"), server_name, tls_verification(verify_option, url))


class PeerFactory:
    """`fake_homeserver(*handlers, **options)`: started peers, all stopped at teardown."""

    def __init__(self, ca: PeerCA, target: FederationTarget, *, bind: str | None = None,
                 public_host: str | None = None) -> None:
        self.ca = ca
        self.target = target
        self.bind = bind or "127.0.0.1"
        self.public_host = public_host
        self.peers: list[FakeHomeserver] = []
        # Trust the target as configured, and this run's CA for the other peers.
        verify = ca.client_context(system_roots=True) if target.verify is True else target.verify
        self.keys = KeyFetcher(fallback=target.base_url, verify=verify)

    def __call__(self, *handlers: Handler, **options: Any) -> FakeHomeserver:
        options.setdefault("bind", self.bind)
        options.setdefault("public_host", self.public_host)
        options.setdefault("port", self._fresh_port(options["bind"]))
        peer = FakeHomeserver(*handlers, ca=self.ca, keys=self.keys, target=self.target,
                              **options)
        # Peers of one test may call each other: each knows where the others are.
        self.keys.locations[peer.server_name] = peer.base_url
        self.peers.append(peer.start())
        return peer

    def _fresh_port(self, bind: str) -> int:
        """A free port no peer of this run (in any worker) has had in the last hour.

        A target keeps retrying transactions to peers that are gone; a new peer on an
        old peer's port would get them, and fail its test with requests it never asked
        for. The ports handed out are listed in the CA directory, which all workers share.
        """
        host = bind.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        now = time.time()
        probes: list[socket.socket] = []
        with open(self.ca.directory / PORTS_FILE, "a+") as registry:
            fcntl.flock(registry, fcntl.LOCK_EX)
            registry.seek(0)
            used = {int(port) for port, when in
                    (line.split() for line in registry if line.strip())
                    if now - float(when) < PORT_QUARANTINE_S}
            try:
                while True:  # keep the probes open, so that the OS offers other ports
                    probes.append(socket.socket(family))
                    probes[-1].bind((host, 0))
                    port = probes[-1].getsockname()[1]
                    if port not in used:
                        break
                registry.write(f"{port} {now}\n")
            finally:
                for probe in probes:
                    probe.close()
        return port

    def close(self) -> None:
        """Stops every peer, then fails the test with the faults not yet shown."""
        for peer in self.peers:
            peer.stop()
        report = [peer.unreported_faults() for peer in self.peers]
        if any(report):
            pytest.fail("\n".join(text for text in report if text), pytrace=False)


def unreachable_server_name(host: str = "127.0.0.1") -> str:
    """A server name where nothing listens (a port just freed): nobody can fetch its keys."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return f"{host}:{probe.getsockname()[1]}"
