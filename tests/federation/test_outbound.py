# SPDX-License-Identifier: Apache-2.0
"""What the target sends to a server that joined one of its rooms: transactions.

A fake peer joins a room of the target (make_join/send_join), then receives the room's
new events and its users' typing notifications and read receipts in transactions
(PUT /_matrix/federation/v1/send/{txnId}). The peer checks every request's X-Matrix
signature against the key the target publishes, and every PDU's content hash and
signature, as a real server does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness.checks import state_has
from tests.harness.client import Client
from tests.harness.crypto import compute_event_id, content_hash, encode_base64, \
    verify_event_signature
from tests.harness.federation_handlers import handle_keys, handle_transactions
from tests.harness.federation_server import FakeHomeserver

SEND_PREFIX = "/_matrix/federation/v1/send/"


@dataclass
class PeerInRoom:
    """A local room with a fake peer's user joined, and what the peer has received."""

    peer: FakeHomeserver
    alice: Client
    room_id: str
    version: str
    pdus: list[dict]
    edus: list[dict]
    transactions: list[dict]

    def sends(self) -> list[Any]:
        return [r for r in self.peer.requests
                if r.method == "PUT" and r.target.startswith(SEND_PREFIX)]

    def pdu(self, event_id: str) -> dict:
        """Waits for the PDU of a local event to reach the peer."""
        return self.peer.wait_until(
            lambda: next((p for p in self.pdus
                          if compute_event_id(p, self.version) == event_id), None),
            what=f"the PDU of {event_id}")

    def receipts(self, receipt_type: str) -> list[tuple[str, str]]:
        """(user, event) pairs of this type in the m.receipt EDUs received so far."""
        found = []
        for edu in self.edus:
            if edu.get("edu_type") == "m.receipt":
                users = (edu["content"].get(self.room_id) or {}).get(receipt_type) or {}
                found += [(user, event_id) for user, receipt in users.items()
                          for event_id in receipt.get("event_ids", [])]
        return found


def _peer_joins_local_room(hs, fake_homeserver, version: str = "12",
                           **transactions: Any) -> PeerInRoom:
    """Alice's public room, joined by @bob of a fresh peer (`transactions`: options of
    `handle_transactions`)."""
    pdus: list[dict] = []
    edus: list[dict] = []
    received: list[dict] = []
    peer = fake_homeserver(handle_keys(), handle_transactions(
        on_pdu=pdus.append, on_edu=edus.append, on_transaction=received.append,
        **transactions))
    alice = hs.register()
    room_id = alice.create_room(preset="public_chat", room_version=version)
    bob = peer.user_id("bob")
    peer.client().join(room_id, bob)
    alice.sync_until(state_has(room_id, "m.room.member", bob))
    return PeerInRoom(peer, alice, room_id, version, pdus, edus, received)


@pytest.mark.parametrize("version", [pytest.param(v, id=f"v{v}") for v in ("10", "11", "12")])
def test_local_events_reach_the_peer_hashed_and_signed_by_the_target(
        hs, fake_homeserver, version):
    """Messages, state events and redactions reach the peer with a correct content hash
    and the target's signature.

    Spec: server-server-api/#adding-hashes-and-signatures-to-outgoing-events — the
    content hash is set, then the redacted event is signed with the server's key;
    server-server-api/#transactions — events are pushed to the servers in the room.
    """
    world = _peer_joins_local_room(hs, fake_homeserver, version)
    alice, room_id = world.alice, world.room_id
    message = alice.send(room_id, {"msgtype": "m.text", "body": "fog on the bar"})
    topic = alice.send_state(room_id, "m.room.topic", {"topic": "Pilotage"})
    redaction = alice.redact(room_id, message, reason="wrong channel")
    keys = world.peer.client().target_keys()

    for event_id in (message, topic, redaction):
        pdu = world.pdu(event_id)
        assert pdu["hashes"]["sha256"] == encode_base64(content_hash(pdu)), event_id
        verify_event_signature(pdu, hs.server_name, keys, version)


def test_a_transaction_holds_at_most_50_pdus(hs, fake_homeserver):
    """However many events wait for the peer, no transaction carries more than 50 PDUs.

    Spec: server-server-api/#transactions — a transaction has at most 50 PDUs. The
    peer fails the first two transactions, so that events pile up while the target
    waits to retry.
    """
    world = _peer_joins_local_room(hs, fake_homeserver, failures=2)

    event_ids = [world.alice.send(world.room_id, {"msgtype": "m.text", "body": f"buoy {n}"})
                 for n in range(60)]

    for event_id in event_ids:
        world.pdu(event_id)
    sizes = [len(t["pdus"]) for t in world.transactions]
    assert max(sizes) <= 50, f"transactions carried {sizes} PDUs"


def test_a_failed_transaction_is_retried_with_the_same_id(hs, fake_homeserver):
    """After a failure the target sends the same transaction again before any other.

    Spec: server-server-api/#put_matrixfederationv1sendtxnid — the sending server must
    wait and retry for a 200 answer before sending a transaction with a different
    `txnId`. A second event is sent while the first transaction waits for its retry.
    """
    world = _peer_joins_local_room(hs, fake_homeserver, failures=1)
    first = world.alice.send(world.room_id, {"msgtype": "m.text", "body": "first"})
    world.peer.wait_until(lambda: world.sends(), what="a transaction")

    second = world.alice.send(world.room_id, {"msgtype": "m.text", "body": "second"})

    world.pdu(first)
    world.pdu(second)
    sends = world.sends()
    assert sends[0].status == 500
    assert sends[1].target == sends[0].target, [str(s) for s in sends]
    assert sends[1].status == 200


def test_each_new_transaction_has_a_new_id(hs, fake_homeserver):
    """Events sent one after the other, each after the last was delivered, all arrive,
    in transactions with different IDs.

    Spec: server-server-api/#put_matrixfederationv1sendtxnid — a new transaction (one
    not being retried) goes out under a different `txnId`; the receiver takes a
    repeated ID for a retry of what it already has.
    """
    world = _peer_joins_local_room(hs, fake_homeserver)

    for body in ("one bell", "two bells", "three bells"):
        world.pdu(world.alice.send(world.room_id, {"msgtype": "m.text", "body": body}))

    targets = [s.target for s in world.sends()]
    assert len(set(targets)) == len(targets), targets


def test_typing_notifications_reach_the_peer(hs, fake_homeserver):
    """A local user starting and stopping typing is told to the peer as m.typing EDUs.

    Spec: server-server-api/#typing-notifications — a server sends its users' typing
    notifications to the other servers in the room, as `m.typing` EDUs naming the
    room, the user and whether they are typing.
    """
    world = _peer_joins_local_room(hs, fake_homeserver)
    alice, room_id = world.alice, world.room_id

    def typing(value: bool):
        wanted = {"room_id": room_id, "user_id": alice.user_id, "typing": value}
        return lambda: any(e.get("edu_type") == "m.typing" and e["content"] == wanted
                           for e in world.edus)

    alice.typing(room_id, True, timeout=20000)
    world.peer.wait_until(typing(True), what="m.typing with typing true")
    alice.typing(room_id, False)
    world.peer.wait_until(typing(False), what="m.typing with typing false")


def test_public_read_receipts_reach_the_peer(hs, fake_homeserver):
    """A local user's m.read receipt is sent to the peer as an m.receipt EDU.

    Spec: client-server-api/#receipts — receipts travel over federation as `m.receipt`
    EDUs, with the `m.read` type; server-server-api/#receipts.
    """
    world = _peer_joins_local_room(hs, fake_homeserver)
    carol = hs.register()
    carol.join(world.room_id)
    event_id = carol.send(world.room_id, {"msgtype": "m.text", "body": "read me"})

    world.alice.receipt(world.room_id, event_id, "m.read")

    world.peer.wait_until(lambda: (world.alice.user_id, event_id) in world.receipts("m.read"),
                          what=f"an m.read receipt by {world.alice.user_id} for {event_id}")


def test_private_read_receipts_never_reach_the_peer(hs, fake_homeserver):
    """An m.read.private receipt stays on the target; a later m.read still goes out.

    Spec: client-server-api/#private-read-receipts — servers MUST NOT send an
    `m.read.private` receipt to anyone but its sender; client-server-api/#receipts —
    it MUST NOT appear in the federated `m.receipt` EDU. The public receipt sent
    afterwards shows that the target had sent what it would.
    """
    world = _peer_joins_local_room(hs, fake_homeserver)
    carol = hs.register()
    carol.join(world.room_id)
    private = carol.send(world.room_id, {"msgtype": "m.text", "body": "between us"})
    public = carol.send(world.room_id, {"msgtype": "m.text", "body": "for all"})
    alice = world.alice

    alice.receipt(world.room_id, private, "m.read.private")
    alice.receipt(world.room_id, public, "m.read")

    world.peer.wait_until(lambda: (alice.user_id, public) in world.receipts("m.read"),
                          what=f"the m.read receipt for {public}")
    assert world.receipts("m.read.private") == []
    assert (alice.user_id, private) not in world.receipts("m.read")


def test_requests_to_the_peer_are_signed_with_the_targets_published_key(hs, fake_homeserver):
    """Each transaction carries an X-Matrix header that verifies against the target's key.

    Spec: server-server-api/#request-authentication — every request between servers is
    signed by the origin with a key it publishes, naming origin and destination. The
    peer fetches the target's key from /_matrix/key/v2/server and refuses (and records)
    a request that does not verify.
    """
    world = _peer_joins_local_room(hs, fake_homeserver)

    world.pdu(world.alice.send(world.room_id, {"msgtype": "m.text", "body": "signed"}))

    sends = world.sends()
    assert sends and all(s.origin == hs.server_name and s.status == 200 for s in sends), \
        [f"{s} from {s.origin}" for s in sends]
