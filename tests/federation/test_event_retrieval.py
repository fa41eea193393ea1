# SPDX-License-Identifier: Apache-2.0
"""Reading a room's events and state over federation, once a peer's user has joined.

A local user's room, a peer user joined to it; the local user then writes history and
the peer reads it back with /event, /state, /state_ids, /event_auth, /backfill and
/get_missing_events.

Spec: server-server-api/#retrieving-events, #backfilling-and-retrieving-missing-events,
#retrieving-event-authorisation-information.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.crypto import SignatureError, compute_event_id, content_hash, \
    encode_base64, verify_event_signature
from tests.harness.federation_handlers import handle_keys
from tests.harness.federation_scenes import peer_in_room


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def ids_of(scene, pdus: list[dict]) -> list[str]:
    return [compute_event_id(pdu, scene.remote.version) for pdu in pdus]


def three_messages(scene) -> list[str]:
    """Three messages from the local user, one after the other: their event IDs."""
    return [scene.alice.send(scene.room, text(f"message {n}")) for n in (1, 2, 3)]


def test_get_event_returns_the_event(hs, fake_homeserver):
    """GET /event returns the requested event, intact and signed by its server.

    Spec: server-server-api/#get_matrixfederationv1eventeventid — a transaction holding
    the one PDU asked for; #validating-hashes-and-signatures-on-received-events.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event_id = scene.alice.send(scene.room, text("fetch me"))

    pdu = scene.federation.get_event(event_id)

    assert compute_event_id(pdu, scene.remote.version) == event_id, pdu
    assert (pdu["type"], pdu["sender"], pdu["room_id"], pdu["content"]) == \
        ("m.room.message", scene.alice.user_id, scene.room, text("fetch me")), pdu
    assert pdu["hashes"]["sha256"] == encode_base64(content_hash(pdu)), pdu
    try:
        verify_event_signature(pdu, hs.server_name, scene.federation.target_keys(),
                               scene.remote.version)
    except SignatureError as error:
        pytest.fail(f"GET /event/{event_id}: {error}", pytrace=False)


@pytest.mark.parametrize("endpoint", [pytest.param("state", id="state"),
                                      pytest.param("state_ids", id="state_ids")])
def test_room_state_is_the_state_before_the_event(hs, fake_homeserver, endpoint):
    """The state at an event is the state before it: a topic change shows the old topic.

    Spec: server-server-api/#get_matrixfederationv1state_idsroomid — the fully resolved
    state prior to any state change the requested event induces (/state gives the same
    as full PDUs).
    """
    scene = peer_in_room(hs, fake_homeserver)
    old = scene.alice.send_state(scene.room, "m.room.topic", {"topic": "before"})
    new = scene.alice.send_state(scene.room, "m.room.topic", {"topic": "after"})

    if endpoint == "state":
        state_ids = ids_of(scene, scene.federation.get_state(scene.room, new)["pdus"])
    else:
        state_ids = scene.federation.get_state_ids(scene.room, new)["pdu_ids"]

    assert old in state_ids and new not in state_ids, (
        f"the state at the topic change {new} should hold the previous topic {old}, not "
        f"the change itself; it holds {state_ids}")


def test_room_state_holds_the_rooms_state_and_its_auth_chain(hs, fake_homeserver):
    """/state lists the room's state events and the auth chain of that state.

    Spec: server-server-api/#get_matrixfederationv1stateroomid — `pdus` is the resolved
    state at the event, `auth_chain` the authorization events of that state and
    theirs, recursively.
    """
    scene = peer_in_room(hs, fake_homeserver)
    topic = scene.alice.send_state(scene.room, "m.room.topic", {"topic": "stated"})
    event_id = scene.alice.send(scene.room, text("after the topic"))

    answer = scene.federation.get_state(scene.room, event_id)

    state = {(pdu["type"], pdu["state_key"]): compute_event_id(pdu, scene.remote.version)
             for pdu in answer["pdus"]}
    assert state.get(("m.room.topic", "")) == topic, f"the state lacks the topic: {state}"
    assert ("m.room.create", "") in state and ("m.room.member", scene.bob) in state, state
    chain = set(ids_of(scene, answer["auth_chain"]))
    for pdu in answer["pdus"] + answer["auth_chain"]:
        missing = set(pdu["auth_events"]) - chain
        assert not missing, f"auth events {missing} of {pdu['type']} are not in auth_chain"


def test_state_ids_match_the_full_state(hs, fake_homeserver):
    """/state_ids names exactly the events /state returns, state and auth chain alike.

    Spec: server-server-api/#get_matrixfederationv1state_idsroomid — the same function
    as /state, with event IDs instead of events.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event_id = scene.alice.send(scene.room, text("a point in time"))

    full = scene.federation.get_state(scene.room, event_id)
    ids = scene.federation.get_state_ids(scene.room, event_id)

    assert sorted(ids["pdu_ids"]) == sorted(ids_of(scene, full["pdus"])), (full, ids)
    assert sorted(ids["auth_chain_ids"]) == sorted(ids_of(scene, full["auth_chain"])), \
        (full, ids)


def test_event_auth_returns_the_events_auth_chain(hs, fake_homeserver):
    """/event_auth returns the event's auth events and theirs, recursively.

    Spec: server-server-api/#get_matrixfederationv1event_authroomideventid — the
    complete auth chain of the event.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event_id = scene.alice.send(scene.room, text("authorised"))
    event = scene.federation.get_event(event_id)

    chain = expect_ok(scene.federation.do("GET", ["event_auth", scene.room, event_id]),
                      f"get the auth chain of {event_id}")["auth_chain"]
    chain_ids = set(ids_of(scene, chain))
    for pdu in [event, *chain]:
        missing = set(pdu["auth_events"]) - chain_ids
        assert not missing, f"auth events {missing} of {pdu['type']} are not in the chain"
    assert event_id not in chain_ids, "the auth chain of an event does not hold the event"


def test_backfill_returns_the_given_events_and_those_before_them(hs, fake_homeserver):
    """/backfill from an event returns it and the events before it, up to the limit.

    Spec: server-server-api/#get_matrixfederationv1backfillroomid — starting from the
    events in `v`, those events and the ones that preceded them are retrieved up to
    `limit` in total.
    """
    scene = peer_in_room(hs, fake_homeserver)
    first, second, third = three_messages(scene)

    pdus = scene.federation.backfill(scene.room, [third], limit=3)

    assert sorted(ids_of(scene, pdus)) == sorted([first, second, third]), (
        f"backfill from {third} with limit 3 returned {ids_of(scene, pdus)}, not the three "
        f"messages {[first, second, third]}")


def test_get_missing_events_returns_the_events_between(hs, fake_homeserver):
    """/get_missing_events returns the events before `latest_events`, skipping the
    `earliest_events` the caller has.

    Spec: server-server-api/#post_matrixfederationv1get_missing_eventsroomid — a
    breadth-first walk of the `prev_events` of `latest_events`, excluding any
    `earliest_events`.
    """
    scene = peer_in_room(hs, fake_homeserver)
    first, second, third = three_messages(scene)

    events = ids_of(scene, scene.federation.get_missing_events(scene.room, [first], [third]))

    assert second in events and first not in events and third not in events, (
        f"between {first} and {third} the missing event is {second}; the answer holds "
        f"{events}")


def test_get_missing_events_stops_at_the_limit(hs, fake_homeserver):
    """/get_missing_events returns no more than `limit` events, nearest first.

    Spec: server-server-api/#post_matrixfederationv1get_missing_eventsroomid — the
    breadth-first walk from `latest_events` stops at the `limit`.
    """
    scene = peer_in_room(hs, fake_homeserver)
    first, second, third = three_messages(scene)

    events = scene.federation.get_missing_events(scene.room, [scene.join_id], [third], limit=1)

    assert ids_of(scene, events) == [second], (
        f"with limit 1 the walk back from {third} finds {second} first; the answer holds "
        f"{ids_of(scene, events)}")


def test_a_server_not_in_the_room_may_not_read_its_state(hs, fake_homeserver):
    """/state_ids from a server with no user in the room answers 403 M_FORBIDDEN.

    Spec: server-server-api/#get_matrixfederationv1state_idsroomid — 403 when the
    requesting server is not in the room.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event_id = scene.alice.send(scene.room, text("members only"))
    stranger = fake_homeserver(handle_keys()).client()

    response = stranger.do("GET", ["state_ids", scene.room], params={"event_id": event_id})

    expect_error(response, 403, "M_FORBIDDEN")
