# SPDX-License-Identifier: Apache-2.0
"""What the plugin's federation fixtures are made of: the target and a peer factory.

`fake_homeserver(...)` in a test is a `PeerFactory`: every peer it makes serves HTTPS
with a certificate from the run's CA, looks up the keys of whoever calls it at the
target's federation URL (and at the other peers of the same test), and is stopped when
the test ends; faults no failure has shown yet fail the test then.
"""
from __future__ import annotations

import socket
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
        peer = FakeHomeserver(*handlers, ca=self.ca, keys=self.keys, target=self.target,
                              **options)
        # Peers of one test may call each other: each knows where the others are.
        self.keys.locations[peer.server_name] = peer.base_url
        self.peers.append(peer.start())
        return peer

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
