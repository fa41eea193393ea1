# SPDX-License-Identifier: Apache-2.0
"""Read markers: POST /rooms/{roomId}/read_markers (read_markers.yaml).

The fully read marker lives in the room's `m.fully_read` account data, which only this
API (or a `m.fully_read` receipt) may change; `m.read` and `m.read.private` in the same
body act exactly as receipts would.
"""
from __future__ import annotations

from tests.harness.checks import account_data_has, expect_error, joined_to, receipt_in


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def set_markers(client, room: str, body: dict) -> None:
    """POST /read_markers with this body; fails the test unless it is accepted."""
    response = client.do("POST", ["rooms", room, "read_markers"], json=body)
    assert response.status_code == 200, f"setting read markers {body} failed: {response.text}"


def fully_read_at(event_id: str):
    return lambda event: event.get("content", {}).get("event_id") == event_id


def test_fully_read_marker_lands_in_room_account_data(hs):
    """Setting `m.fully_read` stores the event ID in the room's `m.fully_read` account data.

    Spec: client-server-api/#fully-read-markers — the marker is kept as an `m.fully_read`
    event in the room's account data, readable like other account data.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("read to here"))
    set_markers(alice, room, {"m.fully_read": event_id})
    stored = alice.get_account_data("m.fully_read", room=room)
    assert stored.get("event_id") == event_id, f"m.fully_read should point at {event_id}: {stored}"


def test_fully_read_marker_update_comes_down_sync(hs):
    """A moved read marker is sent to the client through /sync.

    Spec: client-server-api/#fully-read-markers (server behaviour) — after updating
    `m.fully_read` the server MUST send the updated account data event via /sync.
    """
    alice = hs.register()
    room = alice.create_room()
    first = alice.send(room, text("first"))
    second = alice.send(room, text("second"))
    set_markers(alice, room, {"m.fully_read": first})
    alice.sync_until(account_data_has("m.fully_read", room, fully_read_at(first)))
    set_markers(alice, room, {"m.fully_read": second})
    alice.sync_until(account_data_has("m.fully_read", room, fully_read_at(second)))


def test_read_in_body_acts_as_a_public_receipt(hs):
    """`m.read` in the body sets a public read receipt that other members see.

    Spec: client-server-api/#fully-read-markers (server behaviour) — `m.read` in a
    /read_markers request MUST be treated as a /receipt/m.read request would.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    event_id = alice.send(room, text("hello bob"))
    set_markers(bob, room, {"m.fully_read": event_id, "m.read": event_id})
    alice.sync_until(receipt_in(room, event_id, bob, "m.read"))


def test_read_private_in_body_acts_as_a_private_receipt(hs):
    """`m.read.private` in the body sets a private receipt its sender sees.

    Spec: client-server-api/#fully-read-markers (server behaviour) — `m.read.private` in
    a /read_markers request MUST be treated as a /receipt/m.read.private request would.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    event_id = alice.send(room, text("quietly read"))
    set_markers(bob, room, {"m.read.private": event_id})
    bob.sync_until(receipt_in(room, event_id, bob, "m.read.private"))


def test_fully_read_cannot_be_set_as_plain_account_data(hs):
    """Writing `m.fully_read` through the room account data API is refused (405 M_BAD_JSON).

    Spec: client-server-api/#fully-read-markers (server behaviour) — the server MUST
    prevent clients from setting `m.fully_read` directly in room account data; the
    account data API answers 405 M_BAD_JSON for server-controlled types.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("hello"))
    response = alice.do("PUT", ["user", alice.user_id, "rooms", room, "account_data",
                                "m.fully_read"], json={"event_id": event_id})
    expect_error(response, 405, "M_BAD_JSON")


def test_fully_read_marker_must_be_an_event_of_the_room(hs):
    """A read marker pointing at another room's event is refused and changes nothing.

    Spec: client-server-api/#post_matrixclientv3roomsroomidread_markers — the
    `m.fully_read` event MUST belong to the room. The spec names no error for this, so
    400 (an invalid parameter) and 404 (no such event here) are both accepted.
    """
    alice = hs.register()
    room, elsewhere = alice.create_room(), alice.create_room()
    here = alice.send(room, text("in this room"))
    other = alice.send(elsewhere, text("in another room"))
    set_markers(alice, room, {"m.fully_read": here})
    response = alice.do("POST", ["rooms", room, "read_markers"], json={"m.fully_read": other})
    assert response.status_code in (400, 404), (
        f"a marker at another room's event should be refused: {response.status_code} "
        f"{response.text}")
    stored = alice.get_account_data("m.fully_read", room=room)
    assert stored.get("event_id") == here, f"the refused request moved the marker: {stored}"
