# SPDX-License-Identifier: Apache-2.0
"""Receipts: POST /rooms/{roomId}/receipt/{receiptType}/{eventId} (receipts.yaml).

Public `m.read` receipts reach the room's members as `m.receipt` ephemeral events;
private `m.read.private` receipts reach only their sender; `m.fully_read` moves the
read marker instead. Threaded receipts carry their `thread_id`.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import (
    account_data_has, expect_error, joined_to, receipt_in,
)


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def room_with_member(hs):
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    return alice, bob, room


def receipts_in(body: dict, room: str) -> list[dict]:
    """The contents of every `m.receipt` event for the room in one sync answer."""
    joined = body.get("rooms", {}).get("join", {}).get(room, {})
    events = joined.get("ephemeral", {}).get("events", [])
    return [event.get("content", {}) for event in events if event.get("type") == "m.receipt"]


def test_read_receipt_is_shown_to_other_members(hs):
    """An `m.read` receipt reaches the room's other members through /sync.

    Spec: client-server-api/#receipts — receipts are listed under the room's `ephemeral`
    events in /sync as `m.receipt`, keyed by event ID, receipt type and user.
    """
    alice, bob, room = room_with_member(hs)
    event_id = alice.send(room, text("did you read this?"))
    bob.receipt(room, event_id, "m.read")
    alice.sync_until(receipt_in(room, event_id, bob, "m.read"))


def test_private_read_receipt_is_shown_only_to_its_sender(hs):
    """An `m.read.private` receipt reaches its sender but never another member.

    Spec: client-server-api/#private-read-receipts — servers MUST NOT send an
    `m.read.private` receipt to any user other than the one who sent it. Bob's later
    public receipt marks the point by which Alice would have seen the private one.
    """
    alice, bob, room = room_with_member(hs)
    first = alice.send(room, text("one"))
    second = alice.send(room, text("two"))
    bob.receipt(room, first, "m.read.private")
    bob.sync_until(receipt_in(room, first, bob, "m.read.private"))
    bob.receipt(room, second, "m.read")
    seen_by_alice: list[dict] = []

    def public_receipt_arrived(body: dict) -> str | None:
        seen_by_alice.extend(receipts_in(body, room))
        return receipt_in(room, second, bob, "m.read")(body)
    alice.sync_until(public_receipt_arrived)
    leaked = [content for content in seen_by_alice
              if any("m.read.private" in by_type for by_type in content.values())]
    assert not leaked, f"alice was sent a private receipt: {leaked}"


def test_newer_receipt_replaces_the_older_one(hs):
    """A user holds one receipt per type: a new `m.read` replaces the previous one.

    Spec: client-server-api/#receipts (Events) — each user, receipt type and thread
    categorisation is associated with a single event ID.
    """
    alice, bob, room = room_with_member(hs)
    first = alice.send(room, text("first"))
    second = alice.send(room, text("second"))
    bob.receipt(room, first, "m.read")
    bob.receipt(room, second, "m.read")
    fresh = alice.new_device()
    body = fresh.sync_until(receipt_in(room, second, bob, "m.read"))
    stale = [content for content in receipts_in(body, room)
             if bob.user_id in content.get(first, {}).get("m.read", {})]
    assert not stale, f"bob's replaced receipt for {first} is still reported: {stale}"


def test_threaded_receipt_carries_its_thread_id(hs):
    """A receipt sent with `thread_id` is reported with that `thread_id`.

    Spec: client-server-api/#threaded-read-receipts — a threaded receipt names the
    thread (`main` for the main timeline) in its `thread_id`.
    """
    alice, bob, room = room_with_member(hs)
    event_id = alice.send(room, text("in the main timeline"))
    response = bob.do("POST", ["rooms", room, "receipt", "m.read", event_id],
                      json={"thread_id": "main"})
    assert response.status_code == 200, f"a threaded receipt was refused: {response.text}"

    def threaded_receipt(body: dict) -> str | None:
        for content in receipts_in(body, room):
            receipt = content.get(event_id, {}).get("m.read", {}).get(bob.user_id)
            if receipt is not None:
                if receipt.get("thread_id") == "main":
                    return None
                return f"bob's receipt has no thread_id 'main': {receipt}"
        return f"no m.read receipt by {bob.user_id} for {event_id} yet"
    alice.sync_until(threaded_receipt)


def test_unknown_receipt_type_is_rejected(hs):
    """Receipt types other than `m.read`, `m.read.private`, `m.fully_read` are refused.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreceiptreceipttypeeventid —
    `receiptType` is one of those three values; any other makes the request invalid (400).
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("hello"))
    response = alice.do("POST", ["rooms", room, "receipt", "m.bogus", event_id], json={})
    expect_error(response, 400)


@pytest.mark.parametrize("receipt_type,thread_id", [
    pytest.param("m.read", "", id="empty-thread-id"),
    pytest.param("m.read", 7, id="thread-id-not-a-string"),
    pytest.param("m.fully_read", "main", id="thread-id-on-fully-read"),
])
def test_invalid_thread_id_is_rejected(hs, receipt_type, thread_id):
    """A `thread_id` that is empty, not a string, or given for `m.fully_read` is a 400.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreceiptreceipttypeeventid —
    400 when `thread_id` is not a string, is empty, or is provided for an incompatible
    receipt type. The spec's example code is M_INVALID_PARAM; M_BAD_JSON (a malformed
    body) is also accepted.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("hello"))
    response = alice.do("POST", ["rooms", room, "receipt", receipt_type, event_id],
                        json={"thread_id": thread_id})
    error = expect_error(response, 400)
    assert error.get("errcode") in {"M_INVALID_PARAM", "M_BAD_JSON"}, (
        f"expected M_INVALID_PARAM or M_BAD_JSON: {error}")


def test_fully_read_receipt_moves_the_read_marker(hs):
    """A receipt of type `m.fully_read` sets the `m.fully_read` room account data.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreceiptreceipttypeeventid —
    `m.fully_read` acts as /read_markers would, and never appears under `m.receipt`.
    """
    alice, bob, room = room_with_member(hs)
    event_id = alice.send(room, text("read up to here"))
    bob.receipt(room, event_id, "m.fully_read")
    body = bob.sync_until(account_data_has(
        "m.fully_read", room, lambda e: e["content"].get("event_id") == event_id))
    marked = [content for content in receipts_in(body, room)
              if "m.fully_read" in content.get(event_id, {})]
    assert not marked, f"m.fully_read must not appear in m.receipt: {marked}"
