# SPDX-License-Identifier: Apache-2.0
"""Ephemeral data pushed to the application service: typing and receipts (MSC2409, v1.13).

The suite's registration sets `receive_ephemeral` (and MSC2409's unstable name), so the
homeserver adds `ephemeral` to its transactions: `m.typing` and `m.receipt` of rooms
the service is interested in, each with the `room_id` it belongs to. Private read
receipts go only to a service whose namespace holds the reader.

Spec: application-service-api/#pushing-ephemeral-data.
"""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.appservice, pytest.mark.spec("1.13")]

UNSTABLE_EPHEMERAL = "de.sorunome.msc2409.ephemeral"


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def room_with_namespaced_member(hs, appservice, *, exclusive: bool = True):
    """Alice's public room, joined by a namespaced user: (alice, room, user).

    The user is registered by the service (exclusive namespace) or registers normally
    inside the non-exclusive one.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    if exclusive:
        user = appservice.register_user()
    else:
        user = hs.register(appservice.fresh_user_localpart(exclusive=False))
    user.join(room)
    appservice.wait_for_event(room, "m.room.member", lambda e: e["state_key"] == user.user_id)
    return alice, room, user


def receipt_of(item: dict, event_id: str, receipt_type: str, user_id: str) -> dict | None:
    """The receipt data of `user_id` in an m.receipt item, if it has one."""
    return ((item.get("content") or {}).get(event_id) or {}).get(receipt_type, {}).get(user_id)


def typists(item: dict) -> list:
    return (item.get("content") or {}).get("user_ids") or []


# -- typing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("typist", [pytest.param("alice", id="ordinary-member"),
                                    pytest.param("user", id="namespaced-user")])
def test_typing_is_pushed_with_its_room(hs, appservice, typist):
    """Typing in a room the service is interested in arrives as m.typing with its room_id.

    Spec: application-service-api/#pushing-ephemeral-data — m.typing MUST be sent under
    the same rules as room events, in the client format plus a top-level room_id.
    """
    alice, room, user = room_with_namespaced_member(hs, appservice)
    who = {"alice": alice, "user": user}[typist]

    who.typing(room, True, timeout=30000)

    item = appservice.wait_for_ephemeral("m.typing", room_id=room,
                                         predicate=lambda i: who.user_id in typists(i))
    assert item["room_id"] == room, item


def test_typing_stopped_is_pushed(hs, appservice):
    """When a member stops typing, an m.typing without them follows.

    Spec: application-service-api/#pushing-ephemeral-data — typing data MUST be sent as
    in the client API, where m.typing lists the users typing now.
    """
    alice, room, _ = room_with_namespaced_member(hs, appservice)
    alice.typing(room, True, timeout=30000)
    appservice.wait_for_ephemeral("m.typing", room_id=room,
                                  predicate=lambda i: alice.user_id in typists(i))

    alice.typing(room, False)

    item = appservice.wait_for_ephemeral("m.typing", room_id=room,
                                         predicate=lambda i: alice.user_id not in typists(i))
    assert item["room_id"] == room, item


@pytest.mark.msc(2409)
def test_ephemeral_is_also_sent_under_the_unstable_key(hs, appservice):
    """A server advertising MSC2409 also sends the list under `de.sorunome.msc2409.ephemeral`.

    Spec: MSC2409 "Unstable prefix" — the transaction body uses
    de.sorunome.msc2409.ephemeral for the ephemeral list.
    """
    alice, room, _ = room_with_namespaced_member(hs, appservice)

    alice.typing(room, True, timeout=30000)

    appservice.wait_for_ephemeral("m.typing", room_id=room,
                                  predicate=lambda i: alice.user_id in typists(i))
    carrier = next(t for t in appservice.transactions_about(room_id=room)
                   if any(i["type"] == "m.typing" for i in t.ephemeral))
    unstable = carrier.body.get(UNSTABLE_EPHEMERAL)
    assert isinstance(unstable, list), f"no {UNSTABLE_EPHEMERAL} list in {carrier.body}"
    assert any(i.get("type") == "m.typing" and i.get("room_id") == room
               and alice.user_id in typists(i) for i in unstable), unstable


# -- receipts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [pytest.param("alice", id="ordinary-member"),
                                    pytest.param("user", id="namespaced-user")])
def test_read_receipt_is_pushed_with_its_room(hs, appservice, reader):
    """An m.read receipt in a room the service is interested in arrives as m.receipt
    with its room_id.

    Spec: application-service-api/#pushing-ephemeral-data — m.receipt MUST be sent
    under the same rules as room events, with a top-level room_id; normal read receipts
    are always sent.
    """
    alice, room, user = room_with_namespaced_member(hs, appservice)
    who = {"alice": alice, "user": user}[reader]
    event_id = alice.send(room, text("read me"))

    who.receipt(room, event_id, "m.read")

    item = appservice.wait_for_ephemeral(
        "m.receipt", room_id=room,
        predicate=lambda i: receipt_of(i, event_id, "m.read", who.user_id) is not None)
    assert item["room_id"] == room, item
    assert isinstance(receipt_of(item, event_id, "m.read", who.user_id).get("ts"), int), item


def test_threaded_read_receipt_is_pushed(hs, appservice):
    """A threaded read receipt arrives with its thread_id.

    Spec: application-service-api/#pushing-ephemeral-data — threaded read receipts are
    always sent, in the client format (client-server-api/#threaded-read-receipts).
    """
    alice, room, _ = room_with_namespaced_member(hs, appservice)
    event_id = alice.send(room, text("read me in the main timeline"))

    response = alice.do("POST", ["rooms", room, "receipt", "m.read", event_id],
                        json={"thread_id": "main"})
    assert response.status_code == 200, response.text

    item = appservice.wait_for_ephemeral(
        "m.receipt", room_id=room,
        predicate=lambda i: receipt_of(i, event_id, "m.read", alice.user_id) is not None)
    assert receipt_of(item, event_id, "m.read", alice.user_id).get("thread_id") == "main", item


@pytest.mark.parametrize("exclusive", [pytest.param(True, id="exclusive-namespace"),
                                       pytest.param(False, id="non-exclusive-namespace")])
def test_private_receipt_of_a_namespaced_user_is_pushed(hs, appservice, exclusive):
    """A namespaced user's m.read.private receipt reaches the service.

    Spec: application-service-api/#pushing-ephemeral-data — private read receipts are
    sent for users matching one of the service's namespaces.
    """
    alice, room, user = room_with_namespaced_member(hs, appservice, exclusive=exclusive)
    event_id = alice.send(room, text("read me privately"))

    user.receipt(room, event_id, "m.read.private")

    item = appservice.wait_for_ephemeral(
        "m.receipt", room_id=room,
        predicate=lambda i: receipt_of(i, event_id, "m.read.private", user.user_id) is not None)
    assert item["room_id"] == room, item


def test_private_receipt_of_another_member_is_not_pushed(hs, appservice):
    """An ordinary member's m.read.private receipt never reaches the service.

    Checked once the same member's later public receipt has arrived.

    Spec: application-service-api/#pushing-ephemeral-data — private read receipts MUST
    only be sent for users matching one of the service's namespaces.
    """
    alice, room, _ = room_with_namespaced_member(hs, appservice)
    first = alice.send(room, text("private"))
    second = alice.send(room, text("public"))
    alice.receipt(room, first, "m.read.private")

    alice.receipt(room, second, "m.read")

    appservice.wait_for_ephemeral(
        "m.receipt", room_id=room,
        predicate=lambda i: receipt_of(i, second, "m.read", alice.user_id) is not None)
    leaked = [i for t in appservice.transactions_about(room_id=room) for i in t.ephemeral
              if i["type"] == "m.receipt"
              and any("m.read.private" in by_type for by_type in i["content"].values())]
    assert not leaked, f"a private receipt of {alice.user_id} was pushed: {leaked}"


def test_receipts_of_a_room_without_interest_are_not_pushed(hs, appservice):
    """A receipt sent while no namespaced user was in the room is not pushed later on.

    Checked once a receipt sent after a namespaced user joined has arrived.

    Spec: application-service-api/#pushing-ephemeral-data — receipts follow the same
    interest rules as room events.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    before = alice.send(room, text("nobody's bridge is here"))
    alice.receipt(room, before, "m.read")
    user = appservice.register_user()
    user.join(room)
    after = alice.send(room, text("now the bridge is here"))

    alice.receipt(room, after, "m.read")

    appservice.wait_for_ephemeral(
        "m.receipt", room_id=room,
        predicate=lambda i: receipt_of(i, after, "m.read", alice.user_id) is not None)
    early = [i for t in appservice.transactions_about(room_id=room) for i in t.ephemeral
             if i["type"] == "m.receipt" and before in i["content"]]
    assert not early, f"a receipt from before the service's interest was pushed: {early}"


def test_presence_of_a_namespaced_user_is_pushed(hs, appservice):
    """A namespaced user's presence change reaches the service as m.presence.

    Spec: application-service-api/#pushing-ephemeral-data (MSC2409) — m.presence is sent
    for users in the service's namespace (and those sharing a room with them), in the
    client format.
    """
    _, _, user = room_with_namespaced_member(hs, appservice)
    user.do("PUT", ["presence", user.user_id, "status"], json={"presence": "online"})
    item = appservice.wait_for_ephemeral(
        "m.presence", user_id=user.user_id,
        predicate=lambda i: i.get("sender") == user.user_id)
    assert item["content"]["presence"] == "online", item
