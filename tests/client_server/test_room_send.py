# SPDX-License-Identifier: Apache-2.0
"""Sending message events: PUT /rooms/{roomId}/send/{eventType}/{txnId} (room_send.yaml).

Covers the answer (an event ID), idempotency by transaction ID and its scope (one device,
one endpoint path), delivery to other members, who may send (membership, power levels),
the event size limit, and `unsigned.transaction_id` for the sending device only.
"""
from __future__ import annotations

from tests.harness.checks import expect_error, timeline_has


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def update_power_levels(client, room: str, **changes) -> None:
    """Rewrites the room's power levels with these top-level keys changed."""
    levels = client.get_state(room, "m.room.power_levels")
    levels.update(changes)
    client.send_state(room, "m.room.power_levels", levels)


def timeline_event(body: dict, room: str, event_id: str) -> dict:
    """The event with this ID in a sync answer's timeline of the room."""
    events = body["rooms"]["join"][room]["timeline"]["events"]
    return next(event for event in events if event["event_id"] == event_id)


def test_send_answers_with_the_new_event_id(hs):
    """A sent message gets an event ID under which the server serves that very event.

    Spec: client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid — the 200
    answer carries the `event_id` of the event the request created.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("hello"))
    event = alice.event(room, event_id)
    assert event["event_id"] == event_id, f"GET /event/{event_id} served {event}"
    assert event["type"] == "m.room.message", f"the event has the wrong type: {event}"
    assert event["sender"] == alice.user_id, f"the event has the wrong sender: {event}"
    assert event["content"] == text("hello"), f"the content was not kept as sent: {event}"


def test_retried_transaction_on_same_device_returns_the_same_event(hs):
    """Repeating a send with the same transaction ID from one device creates one event.

    Spec: client-server-api/#transaction-identifiers — a request with the same transaction
    ID and path from the same device is a retransmission: the server answers as before
    (the original `event_id`) and does not send a second event.
    """
    alice = hs.register()
    room = alice.create_room()
    first = alice.send(room, text("only once"), txn_id="same-txn")
    again = alice.send(room, text("only once"), txn_id="same-txn")
    assert again == first, f"the retry created {again}; the original event was {first}"
    chunk = alice.messages(room, dir="b", limit=50)["chunk"]
    copies = [e["event_id"] for e in chunk if e.get("content", {}).get("body") == "only once"]
    assert copies == [first], f"the room holds {copies} for one logical send"


def test_same_transaction_id_on_another_device_is_a_new_event(hs):
    """A transaction ID is scoped to one device: another device's use of it is a new send.

    Spec: client-server-api/#transaction-identifiers — the scope of a transaction ID is a
    single device and a single endpoint, so two devices of one user never collide.
    """
    alice = hs.register()
    other_device = alice.new_device()
    room = alice.create_room()
    first = alice.send(room, text("from the first device"), txn_id="shared-txn")
    second = other_device.send(room, text("from the second device"), txn_id="shared-txn")
    assert second != first, f"both devices' sends were answered with {first}"
    assert other_device.event(room, second)["content"]["body"] == "from the second device"


def test_same_transaction_id_in_another_room_is_a_new_event(hs):
    """A transaction ID reused on a different path (another room) is not a retransmission.

    Spec: client-server-api/#transaction-identifiers — a retransmission has the same
    transaction ID *and* the same request path; a different room is a different path.
    """
    alice = hs.register()
    first_room, second_room = alice.create_room(), alice.create_room()
    first = alice.send(first_room, text("in the first room"), txn_id="txn-1")
    second = alice.send(second_room, text("in the second room"), txn_id="txn-1")
    assert second != first, f"the send to another room was answered with {first}"
    assert alice.event(second_room, second)["content"]["body"] == "in the second room"


def test_sent_event_reaches_other_members(hs):
    """Another member of the room receives the sent event, as sent, through /sync.

    Spec: client-server-api/#syncing — new events visible to a user appear in the
    timeline of their incremental /sync.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    event_id = alice.send(room, text("hello bob"))
    body = bob.sync_until(timeline_has(room, event_id))
    event = timeline_event(body, room, event_id)
    assert event["sender"] == alice.user_id, f"bob sees the wrong sender: {event}"
    assert event["content"] == text("hello bob"), f"bob sees altered content: {event}"


def test_non_member_cannot_send(hs):
    """A user who never joined the room cannot send to it.

    Spec: client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid and
    rooms/v11 authorization rules — a sender must be joined; the refusal is 403
    M_FORBIDDEN.
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    response = mallory.do("PUT", ["rooms", room, "send", "m.room.message", "txn-x"],
                          json=text("let me in"))
    expect_error(response, 403, "M_FORBIDDEN")


def test_former_member_cannot_send(hs):
    """A user who has left the room can no longer send to it.

    Spec: rooms/v11 authorization rules — an event's sender must currently be joined;
    the client-server refusal is 403 M_FORBIDDEN.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.leave(room)
    response = bob.do("PUT", ["rooms", room, "send", "m.room.message", "txn-y"],
                      json=text("still here?"))
    expect_error(response, 403, "M_FORBIDDEN")


def test_event_over_64_kib_is_refused(hs):
    """An event whose canonical JSON would exceed 65536 bytes is refused with 413.

    Spec: client-server-api/#size-limits — a complete event MUST NOT be larger than 65536
    bytes; M_TOO_LARGE is the spec's code for an entity that is too large (the answer
    api/room_send.yaml documents as 413).
    """
    alice = hs.register()
    room = alice.create_room()
    response = alice.do("PUT", ["rooms", room, "send", "m.room.message", "txn-big"],
                        json=text("x" * 70000))
    expect_error(response, 413, "M_TOO_LARGE")


def test_sender_below_events_default_cannot_send(hs):
    """Raising `events_default` above a member's level stops them sending messages.

    Spec: rooms/v11 authorization rules (power levels) — an event whose type has no entry
    in `events` needs `events_default`; a sender below it is refused (403 M_FORBIDDEN).
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    update_power_levels(alice, room, events_default=50)
    response = bob.do("PUT", ["rooms", room, "send", "m.room.message", "txn-low"],
                      json=text("can I speak?"))
    expect_error(response, 403, "M_FORBIDDEN")
    alice.send(room, text("moderators still can"))


def test_per_type_level_applies_only_to_that_type(hs):
    """A level in `events` for one type blocks that type only; others use the default.

    Spec: rooms/v11 authorization rules (power levels) — the required level is the
    event type's entry in `events` when present, else `events_default`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    levels = alice.get_state(room, "m.room.power_levels")
    alice.send_state(room, "m.room.power_levels",
                     {**levels, "events": {**levels.get("events", {}), "m.room.message": 50}})
    response = bob.do("PUT", ["rooms", room, "send", "m.room.message", "txn-msg"],
                      json=text("blocked"))
    expect_error(response, 403, "M_FORBIDDEN")
    bob.send(room, {"note": "other types are open"}, event_type="org.example.note")


def test_transaction_id_is_echoed_to_the_sending_device_only(hs):
    """The sending device sees `unsigned.transaction_id` on its event; other users do not.

    Spec: client-server-api/#get_matrixclientv3sync (ClientEventWithoutRoomID, unsigned)
    — `transaction_id` is present only when the client given the event is the one that
    sent it.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    event_id = alice.send(room, text("with a txn"), txn_id="echo-me")
    mine = timeline_event(alice.sync_until(timeline_has(room, event_id)), room, event_id)
    theirs = timeline_event(bob.sync_until(timeline_has(room, event_id)), room, event_id)
    assert mine.get("unsigned", {}).get("transaction_id") == "echo-me", (
        f"the sending device should see transaction_id 'echo-me': {mine}")
    assert "transaction_id" not in theirs.get("unsigned", {}), (
        f"another user must not see the sender's transaction_id: {theirs}")


def test_transaction_id_is_not_shown_to_the_senders_other_devices(hs):
    """Another device of the sender does not get the sending device's transaction ID.

    Spec: client-server-api/#get_matrixclientv3sync (ClientEventWithoutRoomID, unsigned)
    and #transaction-identifiers — transaction IDs belong to one device (since v1.7), and
    `transaction_id` is shown only to the client that sent the event.
    """
    alice = hs.register()
    other_device = alice.new_device()
    room = alice.create_room()
    event_id = alice.send(room, text("from device one"), txn_id="device-one-txn")
    seen = timeline_event(other_device.sync_until(timeline_has(room, event_id)), room, event_id)
    assert "transaction_id" not in seen.get("unsigned", {}), (
        f"another device of the sender must not see its transaction_id: {seen}")
