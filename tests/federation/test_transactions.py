# SPDX-License-Identifier: Apache-2.0
"""PUT /send/{txnId}: PDUs and EDUs a peer pushes into a room the target is in.

In each test a peer user has joined a local user's room (make_join, send_join); the
peer then sends transactions, and the local user's /sync shows what got through.
What must not get through is followed by something that must, sent after it, so a test
waits for the latter and fails if the former ever showed up.

Spec: server-server-api/#transactions, #checks-performed-on-receipt-of-a-pdu, #edus.
"""
from __future__ import annotations

import time

from tests.harness.checks import receipt_in, timeline_has, typing_in, without
from tests.harness.crypto import SigningKey, sign_event
from tests.harness.federation_scenes import peer_in_room


def body_is(text: str):
    return lambda event: (event.get("content") or {}).get("body") == text


def unsigned_copy(pdu: dict) -> dict:
    return {k: v for k, v in pdu.items() if k not in ("hashes", "signatures")}


def now_ms() -> int:
    return int(time.time() * 1000)


# -- PDUs ----------------------------------------------------------------------------------


def test_a_peer_members_message_reaches_local_members(hs, fake_homeserver):
    """A message PDU from a joined peer user is accepted and shown to local members.

    Spec: server-server-api/#put_matrixfederationv1sendtxnid — each PDU in the
    transaction is processed and its result listed under its event ID; an event that
    passes the checks on receipt is relayed to clients.
    """
    scene = peer_in_room(hs, fake_homeserver)
    pdu = scene.remote.message("hello from the peer", sender=scene.bob)
    event_id = scene.remote.event_id(pdu)

    answer = scene.federation.send_transaction([pdu])

    assert event_id in answer["pdus"] and "error" not in answer["pdus"][event_id], answer
    scene.alice.sync_until(timeline_has(scene.room, event_id,
                                        predicate=body_is("hello from the peer")))


def test_a_pdu_with_a_bad_signature_is_dropped(hs, fake_homeserver):
    """A PDU whose origin signature does not verify is dropped, with an error result.

    Spec: server-server-api/#checks-performed-on-receipt-of-a-pdu — an event that fails
    the signature checks is dropped (never relayed to clients); the transaction's
    result for it describes the error encountered.
    """
    scene = peer_in_room(hs, fake_homeserver)
    genuine = scene.remote.build_event("m.room.message", {"msgtype": "m.text", "body": "forged"},
                                       sender=scene.bob)
    impostor = SigningKey.generate(scene.federation.key.key_id.split(":", 1)[1])
    forged = sign_event(unsigned_copy(genuine), scene.federation.origin, impostor,
                        scene.remote.version)
    forged_id = scene.remote.event_id(forged)
    sentinel = scene.remote.message("after the forgery", sender=scene.bob)

    answer = scene.federation.send_transaction([forged, sentinel])

    assert "error" in answer["pdus"].get(forged_id, {}), (
        f"the result for the forged PDU {forged_id} holds no error: {answer}")
    scene.alice.sync_until(without(timeline_has(scene.room, scene.remote.event_id(sentinel)),
                                   timeline_has(scene.room, forged_id)))


def test_a_pdu_whose_content_hash_does_not_match_is_kept_redacted(hs, fake_homeserver):
    """A PDU whose content does not match its content hash is redacted before use.

    Spec: server-server-api/#checks-performed-on-receipt-of-a-pdu — an event failing
    the hash check is redacted before being processed further;
    #validating-hashes-and-signatures-on-received-events — the receiver uses the
    redacted copy (for m.room.message, without any content).
    """
    scene = peer_in_room(hs, fake_homeserver)
    pdu = scene.remote.message("what was signed", sender=scene.bob)
    tampered = {**pdu, "content": {"msgtype": "m.text", "body": "what was sent"}}
    event_id = scene.remote.event_id(tampered)  # the ID covers the redacted event only

    scene.federation.send_transaction([tampered])

    body = scene.alice.sync_until(timeline_has(scene.room, event_id))
    event = next(e for e in body["rooms"]["join"][scene.room]["timeline"]["events"]
                 if e.get("event_id") == event_id)
    assert event["content"] == {}, (
        f"the event failing its content hash reached the client with content "
        f"{event['content']}, not redacted")


def test_a_pdu_from_a_sender_not_in_the_room_is_rejected(hs, fake_homeserver):
    """A message from a peer user who never joined fails the auth rules and is rejected.

    Spec: server-server-api/#checks-performed-on-receipt-of-a-pdu — an event failing
    the authorization rules is rejected; #rejection — a rejected event is not relayed
    to clients, and does not make the transaction fail.
    """
    scene = peer_in_room(hs, fake_homeserver)
    carol = scene.peer.user_id("carol")
    intruding = scene.remote.build_event("m.room.message",
                                         {"msgtype": "m.text", "body": "not a member"},
                                         sender=carol)
    sentinel = scene.remote.message("from a member", sender=scene.bob)

    answer = scene.federation.send_transaction([intruding, sentinel])

    sentinel_id = scene.remote.event_id(sentinel)
    assert "error" not in answer["pdus"].get(sentinel_id, {}), answer
    scene.alice.sync_until(without(timeline_has(scene.room, sentinel_id),
                                   timeline_has(scene.room, scene.remote.event_id(intruding))))


def test_a_pdu_for_an_unknown_room_does_not_spoil_the_transaction(hs, fake_homeserver):
    """A PDU of a room the target is not in is ignored; the rest of the transaction counts.

    Spec: server-server-api/#put_matrixfederationv1sendtxnid — each PDU is processed on
    its own and the transaction answers 200 with per-PDU results; #rejection — a PDU
    that is not accepted does not make the transaction fail.
    """
    scene = peer_in_room(hs, fake_homeserver)
    elsewhere = scene.peer.create_room()
    stray = elsewhere.message("in a room the target is not in")
    pdu = scene.remote.message("in the shared room", sender=scene.bob)

    answer = scene.federation.send_transaction([stray, pdu])

    event_id = scene.remote.event_id(pdu)
    assert "error" not in answer["pdus"].get(event_id, {}), answer
    scene.alice.sync_until(timeline_has(scene.room, event_id))


def test_a_retried_transaction_is_answered_the_same(hs, fake_homeserver):
    """Sending a transaction again under the same ID is answered as the first time.

    Spec: server-server-api/#put_matrixfederationv1sendtxnid — a sender retries a
    transaction under the same `txnId` until it gets a 200; the retry must not turn a
    PDU that was accepted into an error.
    """
    scene = peer_in_room(hs, fake_homeserver)
    pdu = scene.remote.message("sent twice", sender=scene.bob)
    txn_id = f"retried{now_ms()}"

    first = scene.federation.send_transaction([pdu], txn_id=txn_id)
    second = scene.federation.send_transaction([pdu], txn_id=txn_id)

    assert second == first, f"the retry was answered {second}, the first try {first}"
    scene.alice.sync_until(timeline_has(scene.room, scene.remote.event_id(pdu)))


def test_a_retried_transaction_does_not_duplicate_its_events(hs, fake_homeserver):
    """A PDU sent again in a retried transaction appears once in the room's history.

    Spec: server-server-api/#put_matrixfederationv1sendtxnid — a sender retries the
    same transaction until it is answered, so the receiver sees it more than once;
    #pdus — an event is one node of the room's graph, however often it arrives.
    """
    scene = peer_in_room(hs, fake_homeserver)
    pdu = scene.remote.message("sent twice", sender=scene.bob)
    event_id = scene.remote.event_id(pdu)
    txn_id = f"retried{now_ms()}"
    scene.federation.send_transaction([pdu], txn_id=txn_id)
    scene.federation.send_transaction([pdu], txn_id=txn_id)

    marker = scene.remote.message("after the retry", sender=scene.bob)
    scene.federation.send_transaction([marker])

    scene.alice.sync_until(timeline_has(scene.room, scene.remote.event_id(marker)))
    shown = [e.get("event_id") for e in scene.alice.messages(scene.room, limit=50)["chunk"]]
    assert shown.count(event_id) == 1, (
        f"/messages shows {event_id} {shown.count(event_id)} times: {shown}")


# -- EDUs ----------------------------------------------------------------------------------


def typing_edu(room: str, user_id: str, typing: bool = True) -> dict:
    return {"edu_type": "m.typing",
            "content": {"room_id": room, "user_id": user_id, "typing": typing}}


def receipt_edu(room: str, receipts: dict[str, str]) -> dict:
    """An m.receipt EDU of `m.read` receipts, {user ID: event ID}."""
    return {"edu_type": "m.receipt", "content": {room: {"m.read": {
        user_id: {"event_ids": [event_id], "data": {"ts": now_ms()}}
        for user_id, event_id in receipts.items()}}}}


def test_a_peer_users_typing_reaches_local_members(hs, fake_homeserver):
    """A typing EDU for a joined peer user shows the user typing to local members.

    Spec: server-server-api/#typing-notifications — typing EDUs tell the other servers'
    users who is typing; client-server-api/#typing-notifications — clients get them
    as `m.typing` in the room's ephemeral events.
    """
    scene = peer_in_room(hs, fake_homeserver)

    scene.federation.send_transaction(edus=[typing_edu(scene.room, scene.bob)])

    scene.alice.sync_until(typing_in(scene.room, [scene.bob]))


def test_a_peer_user_stops_typing(hs, fake_homeserver):
    """A typing EDU with `typing: false` takes the peer user off the typing list.

    Spec: server-server-api/#typing-notifications — `typing` says whether the user is
    typing; the typing list then no longer holds them.
    """
    scene = peer_in_room(hs, fake_homeserver)
    scene.federation.send_transaction(edus=[typing_edu(scene.room, scene.bob)])
    scene.alice.sync_until(typing_in(scene.room, [scene.bob]))

    scene.federation.send_transaction(edus=[typing_edu(scene.room, scene.bob, typing=False)])

    scene.alice.sync_until(typing_in(scene.room, []))


def test_a_peer_users_read_receipt_reaches_local_members(hs, fake_homeserver):
    """A receipt EDU from a joined peer user shows their read receipt to local members.

    Spec: server-server-api/#receipts — receipt EDUs carry other servers' users' read
    receipts; client-server-api/#receipts — clients get them as `m.receipt` ephemeral
    events.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event_id = scene.alice.send(scene.room, {"msgtype": "m.text", "body": "read me"})

    scene.federation.send_transaction(edus=[receipt_edu(scene.room, {scene.bob: event_id})])

    scene.alice.sync_until(receipt_in(scene.room, event_id, scene.bob))


def test_a_typing_edu_for_a_user_of_another_server_is_ignored(hs, fake_homeserver):
    """A typing EDU about a user who is not on the sending server changes nothing.

    Spec: server-server-api/#typing-notifications — the receiver should check that the
    user belongs to the sending server (and is in the room); here the peer claims a
    local member is typing, before reporting its own user.
    """
    scene = peer_in_room(hs, fake_homeserver)
    carol = hs.register()
    carol.join(scene.room)

    scene.federation.send_transaction(edus=[typing_edu(scene.room, carol.user_id),
                                            typing_edu(scene.room, scene.bob)])

    scene.alice.sync_until(typing_in(scene.room, [scene.bob]))


def test_a_receipt_edu_for_a_user_of_another_server_is_ignored(hs, fake_homeserver):
    """A receipt EDU about a user who is not on the sending server is not applied.

    Spec: server-server-api/#receipts — receipts are a server's own users' markers;
    here the peer sends one for a local member along with one for its own user.
    """
    scene = peer_in_room(hs, fake_homeserver)
    carol = hs.register()
    carol.join(scene.room)
    event_id = scene.alice.send(scene.room, {"msgtype": "m.text", "body": "read me"})

    scene.federation.send_transaction(
        edus=[receipt_edu(scene.room, {carol.user_id: event_id, scene.bob: event_id})])

    scene.alice.sync_until(without(receipt_in(scene.room, event_id, scene.bob),
                                   receipt_in(scene.room, event_id, carol)))
