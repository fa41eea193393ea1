# SPDX-License-Identifier: Apache-2.0
"""Soft failure: an event allowed where it sits in the DAG but not by the room's current
state is kept, yet never shown to clients nor built upon.

A local user's room with a peer's users `bob` and `carol` joined; the local user bans
bob, and bob's server then sends an event of bob's whose prev events lie before the ban.

Spec: server-server-api/#soft-failure, #checks-performed-on-receipt-of-a-pdu (step 6),
#rejection.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, state_has, timeline_has, without
from tests.harness.federation_scenes import PeerInRoom, peer_in_room


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def with_carol(scene: PeerInRoom) -> str:
    """Joins the peer's second user (so the peer stays in the room once bob is banned);
    returns the join's event ID."""
    carol = scene.peer.user_id("carol")
    join = scene.remote.join(carol)
    join_id = scene.remote.event_id(join)
    answer = scene.federation.send_transaction([join])
    assert "error" not in answer["pdus"].get(join_id, {}), answer
    # Processed (a server may answer first): the local user's next event then builds on it.
    scene.alice.sync_until(state_has(scene.room, "m.room.member", carol))
    return join_id


def evading_the_ban(scene: PeerInRoom) -> tuple[dict, str]:
    """Carol joins, the local user bans bob, and bob's server builds a message of bob's
    whose parent is carol's join, before the ban: the PDU (not sent yet) and its ID."""
    before_ban = with_carol(scene)
    scene.alice.ban(scene.room, scene.bob)
    evading = scene.remote.build_event("m.room.message", text("evading the ban"),
                                       sender=scene.bob, prev_events=[before_ban])
    return evading, scene.remote.event_id(evading)


def send_then_barrier(scene: PeerInRoom, pdus: list[dict]) -> tuple[dict, str]:
    """Sends `pdus`, then in a second transaction a message of carol's built on the ban
    (not on `pdus`); returns the first answer and carol's message's ID.

    A server may deal with PDUs after answering their transaction, but deals with a
    room's PDUs in order: once its clients see carol's message, `pdus` have been
    processed, so a test can look at what became of them.
    """
    answer = scene.federation.send_transaction(pdus)
    barrier = scene.remote.build_event("m.room.message", text("barrier"),
                                       sender=scene.peer.user_id("carol"),
                                       prev_events=[ban_reaching_peer(scene)])
    scene.federation.send_transaction([barrier])
    return answer, scene.remote.event_id(barrier)


def ban_reaching_peer(scene: PeerInRoom) -> str:
    """Waits until the target's ban of bob is in the peer's copy of the room; its ID."""
    def ban_id() -> str | None:
        if scene.remote.membership(scene.bob) != "ban":
            return None
        return scene.remote.state_map()[("m.room.member", scene.bob)]
    return scene.peer.wait_until(ban_id, what="the ban of bob reaching the peer")


def test_an_event_evading_a_ban_is_soft_failed(hs, fake_homeserver):
    """A banned user's event pointing before the ban is accepted but hidden from clients.

    Spec: server-server-api/#soft-failure — an event that passes the auth rules on the
    state before it but not on the current state is soft failed, not rejected: it
    should not be relayed to clients (the spec's example: a user banned in the current
    state sends an event whose parent precedes the ban).
    """
    scene = peer_in_room(hs, fake_homeserver)
    evading, evading_id = evading_the_ban(scene)

    answer, barrier = send_then_barrier(scene, [evading])

    assert "error" not in answer["pdus"].get(evading_id, {}), (
        f"the event passes the auth rules at its place in the DAG, so it is soft failed, "
        f"not rejected; the target answered {answer}")
    scene.alice.sync_until(without(timeline_has(scene.room, barrier),
                                   timeline_has(scene.room, evading_id)))
    shown = [e.get("event_id") for e in scene.alice.messages(scene.room, limit=50)["chunk"]]
    assert evading_id not in shown, f"/messages shows the soft-failed event: {shown}"


def test_a_soft_failed_event_is_not_served_to_clients_by_id(hs, fake_homeserver):
    """GET /rooms/{roomId}/event/{eventId} does not return a soft-failed event.

    Spec: server-server-api/#soft-failure — a soft-failed event should not be relayed
    to clients; client-server-api/#get_matrixclientv3roomsroomideventeventid — 404
    M_NOT_FOUND when the event is not found or the user may not see it.
    """
    scene = peer_in_room(hs, fake_homeserver)
    evading, evading_id = evading_the_ban(scene)
    answer, barrier = send_then_barrier(scene, [evading])
    assert "error" not in answer["pdus"].get(evading_id, {}), answer
    scene.alice.sync_until(timeline_has(scene.room, barrier))

    expect_error(scene.alice.do("GET", ["rooms", scene.room, "event", evading_id]),
                 404, "M_NOT_FOUND")


def test_new_events_do_not_reference_a_soft_failed_event(hs, fake_homeserver):
    """The target's next event does not list a soft-failed event among its prev_events.

    Spec: server-server-api/#soft-failure — a soft-failed event should not be
    referenced by new events the server creates (it is not added to the room's
    forward extremities).
    """
    scene = peer_in_room(hs, fake_homeserver)
    evading, evading_id = evading_the_ban(scene)
    _, barrier = send_then_barrier(scene, [evading])
    scene.alice.sync_until(timeline_has(scene.room, barrier))

    marker = scene.alice.send(scene.room, text("after the evading event"))

    prev_events = scene.federation.get_event(marker)["prev_events"]
    assert evading_id not in prev_events, (
        f"the local event {marker} references the soft-failed event {evading_id}: "
        f"prev_events {prev_events}")


def test_a_soft_failed_event_is_still_served_over_federation(hs, fake_homeserver):
    """GET /event returns a soft-failed event to a server in the room.

    Spec: server-server-api/#soft-failure — a soft failed event should be returned in
    response to federation requests where appropriate (e.g. in /event/<event_id>).
    """
    scene = peer_in_room(hs, fake_homeserver)
    evading, evading_id = evading_the_ban(scene)
    _, barrier = send_then_barrier(scene, [evading])
    scene.alice.sync_until(timeline_has(scene.room, barrier))

    served = scene.federation.get_event(evading_id)

    assert scene.remote.event_id(served) == evading_id, served


def after_the_ban(scene: PeerInRoom) -> tuple[dict, str]:
    """Carol joins, the local user bans bob, and bob's server builds a message of bob's
    after the ban that names bob's old join among its auth events: the PDU and its ID."""
    before_ban = with_carol(scene)
    scene.alice.ban(scene.room, scene.bob)
    ban_id = ban_reaching_peer(scene)
    content = text("after the ban")
    auth_events = scene.remote.select_auth_events(scene.remote.state_map([before_ban]),
                                                  "m.room.message", scene.bob, None, content)
    event = scene.remote.build_event("m.room.message", content, sender=scene.bob,
                                     prev_events=[ban_id], auth_events=auth_events)
    return event, scene.remote.event_id(event)


def test_an_event_not_allowed_by_the_state_before_it_is_rejected(hs, fake_homeserver):
    """An event after the ban, claiming the sender's old join as auth, is not shown.

    Spec: server-server-api/#checks-performed-on-receipt-of-a-pdu — step 5: an event
    that fails the auth rules on the state before it is rejected (its auth events
    alone are not enough); #rejection — it is not relayed to clients.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event, event_id = after_the_ban(scene)

    _, barrier = send_then_barrier(scene, [event])

    scene.alice.sync_until(without(timeline_has(scene.room, barrier),
                                   timeline_has(scene.room, event_id)))


def test_the_transaction_result_of_a_rejected_event_holds_an_error(hs, fake_homeserver):
    """/send answers an error for a PDU that fails the auth rules on the state before it.

    Spec: server-server-api/#put_matrixfederationv1sendtxnid — the result for each PDU
    holds `error` when processing it failed: "If no error is present, the PDU can be
    considered successfully handled"; #checks-performed-on-receipt-of-a-pdu — step 5
    rejects this event.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event, event_id = after_the_ban(scene)

    answer = scene.federation.send_transaction([event])

    assert "error" in answer["pdus"].get(event_id, {}), (
        f"the result for {event_id}, sent after the sender's ban, holds no error: {answer}")


@pytest.mark.appservice
def test_a_soft_failed_event_is_not_pushed_to_application_services(hs, fake_homeserver,
                                                                   appservice):
    """An application service interested in the room never receives a soft-failed event.

    Spec: server-server-api/#soft-failure — a soft-failed event is not relayed to
    clients; application-service-api/#pushing-events — a service gets the events a
    client of its users would see, here the local event that follows instead.
    """
    scene = peer_in_room(hs, fake_homeserver)
    watcher = appservice.register_user()
    watcher.join(scene.room)
    evading, evading_id = evading_the_ban(scene)
    _, barrier = send_then_barrier(scene, [evading])
    scene.alice.sync_until(timeline_has(scene.room, barrier))

    marker = scene.alice.send(scene.room, text("after the evading event"))

    appservice.wait_for_event(scene.room, "m.room.message", lambda e: e["event_id"] == marker)
    pushed = [e.get("event_id") for t in appservice.transactions_about(room_id=scene.room)
              for e in t.events]
    assert evading_id not in pushed, f"the soft-failed {evading_id} was pushed: {pushed}"
