# SPDX-License-Identifier: Apache-2.0
"""A PDU whose prev events the target never got: the target closes the gap and accepts it.

A local user's room with a peer's user `bob` joined. The peer adds an event B to its
copy of the room without sending it, then sends C, whose parent is B.

Spec: server-server-api/#backfilling-and-retrieving-missing-events — a server missing
events of the graph may use /get_missing_events to acquire them; #retrieving-events —
when a gap cannot be filled that way, /state_ids (/state) and /event give the state of
the room at the missing event. Using the state at a gap is optional (a server may
instead refuse a pushed event whose gap /get_missing_events does not fill): that test is
marked `optional`.
"""
from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.harness.checks import timeline_has, without
from tests.harness.federation_handlers import handle_event, handle_get_missing_events, \
    handle_state, handle_state_ids
from tests.harness.federation_scenes import peer_in_room


def test_missing_prev_events_are_fetched_and_shown_in_order(hs, fake_homeserver):
    """The target asks the peer for the missing B; B and then C reach local members.

    Spec: server-server-api/#backfilling-and-retrieving-missing-events — a server that
    lacks events of the room's graph may use /get_missing_events (latest_events: the
    event it received) to acquire them; the events it then accepts are relayed to
    clients like any other, in the graph's order.
    """
    scene = peer_in_room(hs, fake_homeserver)
    scene.peer.allow(handle_get_missing_events())
    b = scene.remote.message("B, never pushed", sender=scene.bob)
    c = scene.remote.message("C, pushed", sender=scene.bob)
    b_id, c_id = scene.remote.event_id(b), scene.remote.event_id(c)

    answer = scene.federation.send_transaction([c])

    assert "error" not in answer["pdus"].get(c_id, {}), answer
    # A server may process the transaction after answering it: wait for C to be shown.
    scene.alice.sync_until(timeline_has(scene.room, c_id))
    assert scene.peer.requests_to("POST", "get_missing_events"), (
        f"the target never asked the peer for the events before {c_id}: {scene.peer.requests}")
    shown = [e.get("event_id") for e in scene.alice.messages(scene.room, limit=20)["chunk"]]
    assert b_id in shown and c_id in shown and shown.index(c_id) < shown.index(b_id), (
        f"/messages (newest first) should show C {c_id} after B {b_id}: {shown}")


@pytest.mark.optional
def test_a_gap_not_filled_by_get_missing_events_is_closed_with_the_state_at_it(
        hs, fake_homeserver):
    """With B withheld, the target gets the state at B and accepts C, which needs it.

    B is the join of a new peer user dave, and C is dave's message: C is allowed only in
    a state that holds B, so the target must learn the state at the gap to accept it.
    Optional: a server may instead refuse C.

    Spec: server-server-api/#retrieving-events — a server missing an event or
    information about the room that backfilling does not give may get the state at
    an event (/state_ids, /state) and the events themselves (/event);
    #checks-performed-on-receipt-of-a-pdu — C then passes the auth rules on the state
    before it (dave joined).
    """
    scene = peer_in_room(hs, fake_homeserver)
    dave = scene.peer.user_id("dave")
    b = scene.remote.join(dave)
    b_id = scene.remote.event_id(b)
    scene.peer.allow(handle_get_missing_events(withhold=[b_id]), handle_state_ids(),
                     handle_state(), handle_event())
    c = scene.remote.message("C, after a join the target never got", sender=dave)
    c_id = scene.remote.event_id(c)

    answer = scene.federation.send_transaction([c])

    assert "error" not in answer["pdus"].get(c_id, {}), answer
    scene.alice.sync_until(timeline_has(scene.room, c_id))
    asked = [unquote(target) for endpoint in ("state_ids", "state")
             for target in scene.peer.requests_to("GET", endpoint)]
    assert any(b_id in target for target in asked), (
        f"the target never asked for the state at the missing {b_id}: {scene.peer.requests}")


def test_a_rejected_event_at_a_gap_does_not_count_in_the_state_after_it(hs, fake_homeserver):
    """With B withheld and B not allowed, C that relies on B is rejected.

    B is bob giving himself power he does not have; C is bob's topic change, which only
    that power would allow. The target learns the state at B from the peer, but B
    itself fails the auth rules and so must not enter the state before C.

    Spec: server-server-api/#rejection — the state used in the checks is calculated as
    normal, except not updating with a rejected state event;
    #checks-performed-on-receipt-of-a-pdu — C fails the auth rules on the state before
    it and is rejected.
    """
    scene = peer_in_room(hs, fake_homeserver)
    before_b = list(scene.remote.extremities)
    levels_id = scene.remote.state_map()[("m.room.power_levels", "")]
    levels = dict(scene.remote.pdu(levels_id)["content"])
    levels["users"] = {**levels.get("users", {}), scene.bob: 100}
    b = scene.remote.send_state("m.room.power_levels", levels, sender=scene.bob)
    scene.peer.allow(handle_get_missing_events(withhold=[scene.remote.event_id(b)]),
                     handle_state_ids(), handle_state(), handle_event())
    c = scene.remote.send_state("m.room.topic", {"topic": "by the powerless"},
                                sender=scene.bob)
    c_id = scene.remote.event_id(c)
    # bob may still talk: a later message of his, built on what the target already has,
    # shows when the target has dealt with C (a room's PDUs are dealt with in order).
    marker = scene.remote.build_event("m.room.message", {"msgtype": "m.text",
                                                         "body": "after the topic"},
                                      sender=scene.bob, prev_events=before_b)

    scene.federation.send_transaction([c, marker])

    scene.alice.sync_until(without(timeline_has(scene.room, scene.remote.event_id(marker)),
                                   timeline_has(scene.room, c_id)))
    topic = scene.alice.do("GET", ["rooms", scene.room, "state", "m.room.topic", ""])
    assert topic.status_code == 404 or topic.json().get("topic") != "by the powerless", (
        f"{c_id} is allowed only by the rejected power levels event before it, yet the "
        f"room's topic is now its: {topic.text}")
