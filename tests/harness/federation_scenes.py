# SPDX-License-Identifier: Apache-2.0
"""Starting points of federation scenarios, which a test builds itself when it needs one.

    scene = peer_in_room(hs, fake_homeserver)
    pdu = scene.remote.message("hi", sender=scene.bob)
    scene.federation.send_transaction([pdu])
    scene.alice.sync_until(timeline_has(scene.room, scene.remote.event_id(pdu)))

Not fixtures: each test calls this and gets fresh users, a fresh room and a fresh peer.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.harness.client import Client
from tests.harness.federation_client import FederationClient
from tests.harness.federation_handlers import handle_keys, handle_transactions
from tests.harness.federation_room import FakeRoom
from tests.harness.federation_server import FakeHomeserver

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class PeerInRoom:
    """A local user's room with a fake peer's user joined to it (make_join, send_join)."""

    alice: Client  # the local creator of the room
    room: str
    peer: FakeHomeserver
    federation: FederationClient  # the peer's signed client of the target
    remote: FakeRoom  # the peer's copy of the room, to build its user's events
    bob: str  # the peer's joined user
    join_id: str  # the event ID of bob's join


def peer_in_room(hs: Any, fake_homeserver: Callable[..., FakeHomeserver], *,
                 on_pdu: Callable[[JsonDict], Any] | None = None,
                 on_edu: Callable[[JsonDict], Any] | None = None,
                 **room: Any) -> PeerInRoom:
    """A fresh local user's room (public unless `room` says otherwise) that a fresh peer's
    user `bob` has joined; the peer accepts the target's transactions."""
    peer = fake_homeserver(handle_keys(), handle_transactions(on_pdu=on_pdu, on_edu=on_edu))
    federation = peer.client()
    alice = hs.register()
    room_id = alice.create_room(**{"preset": "public_chat", **room})
    bob = peer.user_id("bob")
    joined = federation.join(room_id, bob)
    remote = peer.track(joined)
    return PeerInRoom(alice, room_id, peer, federation, remote, bob, joined.event_id)
