# SPDX-License-Identifier: Apache-2.0
"""Events that reach the target after an event built on them.

A local user's room with a peer's user `bob` joined. The peer adds B to its copy of the
room, then C after B, and pushes C while withholding B from /get_missing_events: the
target closes the gap with the state at B and fetches B itself only to check C (what an
implementation keeps aside, not in the room's timeline). B reaches the target for real
later: pushed in a transaction, or given by /get_missing_events before another event.

Spec: server-server-api/#pdus — a server populates prev_events with the events of the
room for which it has not yet seen a child; #checks-performed-on-receipt-of-a-pdu —
every PDU received is checked and, once accepted, relayed to clients like any other;
#backfilling-and-retrieving-missing-events, #retrieving-events. Optional: closing a gap
with the state at it is allowed, not required (a server may refuse C instead).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.harness.checks import timeline_has
from tests.harness.federation_handlers import handle_event, handle_get_missing_events, \
    handle_state, handle_state_ids
from tests.harness.federation_scenes import PeerInRoom, peer_in_room


pytestmark = pytest.mark.optional


@dataclass(frozen=True)
class ChildFirst:
    """C is accepted by the target, which has seen B only as C's missing parent."""

    scene: PeerInRoom
    b: dict
    b_id: str
    c_id: str
    withheld: set[str]  # empty it to have /get_missing_events give B


def child_first(hs, fake_homeserver) -> ChildFirst:
    scene = peer_in_room(hs, fake_homeserver)
    b = scene.remote.message("B, withheld at first", sender=scene.bob)
    b_id = scene.remote.event_id(b)
    withheld = {b_id}
    scene.peer.allow(handle_get_missing_events(withhold=withheld), handle_state_ids(),
                     handle_state(), handle_event())
    c = scene.remote.message("C, after B", sender=scene.bob)
    c_id = scene.remote.event_id(c)
    answer = scene.federation.send_transaction([c])
    assert "error" not in answer["pdus"].get(c_id, {}), answer
    scene.alice.sync_until(timeline_has(scene.room, c_id))
    return ChildFirst(scene, b, b_id, c_id, withheld)


def test_an_event_pushed_after_its_child_reaches_local_members(hs, fake_homeserver):
    """B, pushed after the target accepted its child C, is shown to local members too.

    Spec: server-server-api/#checks-performed-on-receipt-of-a-pdu — a PDU received in
    a transaction is checked and, when it passes, is part of the room and relayed to
    clients; having fetched B earlier only to check C does not make B a duplicate.
    """
    late = child_first(hs, fake_homeserver)

    answer = late.scene.federation.send_transaction([late.b])

    assert "error" not in answer["pdus"].get(late.b_id, {}), answer
    late.scene.alice.sync_until(timeline_has(late.scene.room, late.b_id))


def test_an_event_given_by_get_missing_events_after_its_child_reaches_local_members(
        hs, fake_homeserver):
    """B, first withheld, then given by /get_missing_events before D, is shown to clients.

    D is a second child of B (a fork beside C). The target asks for the events before
    D, gets B this time, and accepts B and then D.

    Spec: server-server-api/#backfilling-and-retrieving-missing-events — the events a
    server acquires with /get_missing_events are received like any other, so B reaches
    local members as well as D.
    """
    late = child_first(hs, fake_homeserver)
    scene = late.scene
    late.withheld.clear()
    d = scene.remote.build_event("m.room.message", {"msgtype": "m.text", "body": "D, after B"},
                                 sender=scene.bob, prev_events=[late.b_id])
    scene.remote.add(d)
    d_id = scene.remote.event_id(d)

    answer = scene.federation.send_transaction([d])

    assert "error" not in answer["pdus"].get(d_id, {}), answer
    scene.alice.sync_until(timeline_has(scene.room, late.b_id), timeline_has(scene.room, d_id))


def test_a_local_event_does_not_build_on_an_event_that_already_has_a_child(
        hs, fake_homeserver):
    """After B arrives behind its child C, the target's next event has C alone as parent.

    Spec: server-server-api/#pdus — the sending server should populate prev_events with
    all the events of the room for which it has not yet seen a child: C, not B, whose
    child C the target holds.
    """
    late = child_first(hs, fake_homeserver)
    scene = late.scene
    answer = scene.federation.send_transaction([late.b])
    assert "error" not in answer["pdus"].get(late.b_id, {}), answer

    sent_id = scene.alice.send(scene.room, {"msgtype": "m.text", "body": "after B and C"})

    sent = scene.peer.wait_until(lambda: scene.remote.events.get(sent_id),
                                 what=f"the target's event {sent_id} reaching the peer")
    assert sent["prev_events"] == [late.c_id], (
        f"the target's event after C and then B should have C {late.c_id} alone as its "
        f"parent (B {late.b_id} has a child): prev_events {sent['prev_events']}")
