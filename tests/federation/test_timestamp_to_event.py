# SPDX-License-Identifier: Apache-2.0
"""GET /timestamp_to_event over federation, both ways.

Inbound: a peer in a local room asks the target for the event nearest a time.
Outbound: the target joined a room on the peer and lacks its earlier history; asked by
its user about a time before the join, it asks the peer and fetches the event.

Spec: server-server-api/#get_matrixfederationv1timestamp_to_eventroomid;
client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event.
"""
from __future__ import annotations

import time

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.federation_handlers import handle_event, handle_keys, \
    handle_make_send_join, handle_state, handle_state_ids, handle_transactions
from tests.harness.federation_history import closest, handle_timestamp_to_event
from tests.harness.federation_scenes import peer_in_room

pytestmark = pytest.mark.spec("1.6")
CLIENT_V1 = "/_matrix/client/v1"
AN_HOUR_MS = 3600 * 1000


def _ask(federation, room_id: str, ts: int, direction: str):
    return federation.do("GET", ["timestamp_to_event", room_id],
                         params={"ts": ts, "dir": direction})


@pytest.mark.parametrize("direction", ["f", "b"])
def test_a_peer_gets_the_nearest_event_in_the_direction(hs, fake_homeserver, direction):
    """The target answers a peer in the room with its nearest event in that direction.

    Spec: server-server-api/#get_matrixfederationv1timestamp_to_eventroomid — the event
    closest to `ts` in the direction `dir`, with its `origin_server_ts`.
    """
    scene = peer_in_room(hs, fake_homeserver)
    for n in range(3):
        scene.alice.send(scene.room, {"msgtype": "m.text", "body": f"tide {n}"})
    timeline = {e["event_id"]: e for e in
                scene.alice.messages(scene.room, dir="b", limit=100)["chunk"]}
    times = sorted(e["origin_server_ts"] for e in timeline.values())
    ts = times[len(times) // 2] + (1 if direction == "f" else -1)

    answer = expect_ok(_ask(scene.federation, scene.room, ts, direction),
                       f"ask for the event {direction} of {ts}")

    wanted = timeline[closest(timeline, ts, forwards=direction == "f")]
    assert answer["origin_server_ts"] == wanted["origin_server_ts"], (answer, wanted)
    assert timeline[answer["event_id"]]["origin_server_ts"] == wanted["origin_server_ts"]


def test_no_event_after_the_time_is_not_found(hs, fake_homeserver):
    """Asking forwards from a time after every event answers 404 M_NOT_FOUND.

    Spec: server-server-api/#get_matrixfederationv1timestamp_to_eventroomid — 404 when
    no event was found.
    """
    scene = peer_in_room(hs, fake_homeserver)

    response = _ask(scene.federation, scene.room, int(time.time() * 1000) + AN_HOUR_MS, "f")

    expect_error(response, 404, "M_NOT_FOUND")


def test_history_from_before_a_remote_join_is_asked_of_the_peer(hs, fake_homeserver):
    """For a time before the target joined, the target asks the peer and answers with
    the event the peer found, after fetching it.

    Spec: client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event — a server
    without the room's history near that time can ask other servers with the
    federation endpoint; server-server-api/#get_matrixfederationv1timestamp_to_eventroomid
    — a closer remote event should be fetched with GET /event/{eventId}.
    """
    # Fetching the event, a server may also ask for the state at it (/state_ids).
    peer = fake_homeserver(handle_keys(), handle_make_send_join(), handle_transactions(),
                           handle_timestamp_to_event(), handle_event(), handle_state_ids(),
                           handle_state())
    room = peer.create_room("12")
    an_hour_ago = int(time.time() * 1000) - AN_HOUR_MS
    old = room.send("m.room.message", {"msgtype": "m.text", "body": "before you came"},
                    origin_server_ts=an_hour_ago)
    alice = hs.register()
    alice.join(room.room_id, via=[peer.server_name])

    response = alice.do("GET", ["rooms", room.room_id, "timestamp_to_event"],
                        params={"ts": an_hour_ago + 1000, "dir": "b"}, prefix=CLIENT_V1)

    answer = expect_ok(response, "find the event from before the join")
    assert answer == {"event_id": room.event_id(old), "origin_server_ts": an_hour_ago}
    asked = [r.target for r in peer.requests if "/timestamp_to_event/" in r.target]
    assert asked, f"the target never asked the peer: {[str(r) for r in peer.requests]}"
