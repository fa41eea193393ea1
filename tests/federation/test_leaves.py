# SPDX-License-Identifier: Apache-2.0
"""Leaving a room the target is resident in: make_leave and send_leave from a peer.

A peer user first joins a local user's room (make_join, send_join), then leaves it
through the same kind of handshake.

Spec: server-server-api/#leaving-rooms-rejecting-invites.
"""
from __future__ import annotations

import time

import pytest

from tests.harness.assertions import expect_error, expect_ok, expect_one_error
from tests.harness.checks import state_has
from tests.harness.crypto import compute_event_id, sign_event
from tests.harness.federation_routes import FEDERATION_V2
from tests.harness.federation_scenes import peer_in_room


def membership_is(membership: str):
    return lambda event: (event.get("content") or {}).get("membership") == membership


def make_leave(federation, room: str, user_id: str) -> dict:
    return expect_ok(federation.do("GET", ["make_leave", room, user_id]),
                     f"make_leave {user_id} in {room}")


def signed_leave(federation, room: str, user_id: str, **changes) -> tuple[dict, str]:
    """make_leave's template, changed as asked, completed and signed by the peer."""
    answer = make_leave(federation, room, user_id)
    version = answer["room_version"]
    event = {**answer["event"], "origin": federation.origin,
             "origin_server_ts": int(time.time() * 1000), **changes}
    return sign_event(event, federation.origin, federation.key, version), version


def send_leave(federation, room: str, event: dict, version: str, event_id: str | None = None):
    return federation.do("PUT", ["send_leave", room, event_id or compute_event_id(event, version)],
                         json=event, prefix=FEDERATION_V2)


def expect_refused(response) -> None:
    """A refused send_leave: 400 (no code mandated; M_INVALID_PARAM recommended) or 403."""
    if response.status_code == 403:
        expect_error(response, 403, "M_FORBIDDEN")
    else:
        expect_error(response, 400)


def test_make_leave_answers_a_template_for_a_joined_user(hs, fake_homeserver):
    """make_leave answers the room's version and a leave template for the user.

    Spec: server-server-api/#get_matrixfederationv1make_leaveroomiduserid — the
    template is an `m.room.member` event in the room whose `sender` and `state_key` are
    the user, with membership `leave` (the leaving server MUST check exactly these).
    """
    scene = peer_in_room(hs, fake_homeserver)

    answer = make_leave(scene.federation, scene.room, scene.bob)

    assert answer.get("room_version") == scene.federation.room_versions[scene.room], answer
    event = answer["event"]
    wrong = {key: event.get(key) for key, want in
             {"type": "m.room.member", "room_id": scene.room, "sender": scene.bob,
              "state_key": scene.bob}.items()
             if event.get(key) != want}
    assert not wrong and membership_is("leave")(event), (
        f"the template has wrong fields {wrong}: {event}")


def test_a_peer_user_leaves_through_send_leave(hs, fake_homeserver):
    """A leave signed from make_leave's template is accepted and ends the membership.

    Spec: server-server-api/#put_matrixfederationv2send_leaveroomideventid — the
    resident accepts the signed leave into the room's graph and answers an empty
    object; the user's membership is then `leave`.
    """
    scene = peer_in_room(hs, fake_homeserver)
    scene.alice.sync_until(state_has(scene.room, "m.room.member", scene.bob,
                                     predicate=membership_is("join")))
    event, version = signed_leave(scene.federation, scene.room, scene.bob)

    assert expect_ok(send_leave(scene.federation, scene.room, event, version), "send_leave") == {}

    scene.alice.sync_until(state_has(scene.room, "m.room.member", scene.bob,
                                     predicate=membership_is("leave")))


def test_a_server_whose_users_all_left_may_no_longer_read_the_room_state(hs, fake_homeserver):
    """Once the peer's only user has left, the peer's /state_ids requests are refused.

    Spec: server-server-api/#get_matrixfederationv1state_idsroomid — 403 when the
    requesting server is not in the room.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event, version = signed_leave(scene.federation, scene.room, scene.bob)
    expect_ok(send_leave(scene.federation, scene.room, event, version), "send_leave")
    event_id = scene.alice.send(scene.room, {"msgtype": "m.text", "body": "after the peer left"})

    response = scene.federation.do("GET", ["state_ids", scene.room],
                                   params={"event_id": event_id})
    expect_error(response, 403, "M_FORBIDDEN")


def test_send_leave_refuses_an_event_whose_id_is_not_the_path_event_id(hs, fake_homeserver):
    """send_leave answers 400 when the path's event ID is not the event's ID.

    Spec: server-server-api/#put_matrixfederationv2send_leaveroomideventid — the path
    names the leave event; a request that does not match it is invalid (400).
    """
    scene = peer_in_room(hs, fake_homeserver)
    event, version = signed_leave(scene.federation, scene.room, scene.bob)
    other, _ = signed_leave(scene.federation, scene.room, scene.bob, origin_server_ts=1)

    expect_error(send_leave(scene.federation, scene.room, event, version,
                            event_id=compute_event_id(other, version)), 400)


@pytest.mark.parametrize("changes", [
    pytest.param({"content": {"membership": "join"}}, id="membership-not-leave"),
    pytest.param({"state_key": "@carol:{peer}"}, id="state-key-not-sender"),
    pytest.param({"sender": "@mallory:elsewhere.example.org",
                  "state_key": "@mallory:elsewhere.example.org"}, id="sender-not-on-origin"),
])
def test_send_leave_refuses_an_event_that_is_not_the_origins_leave(hs, fake_homeserver,
                                                                   changes):
    """send_leave refuses a signed event that is not a leave of the origin's own user.

    Spec: server-server-api/#put_matrixfederationv2send_leaveroomideventid — the
    resident MUST refuse an event whose membership is not `leave`, whose `state_key` is
    not its `sender`, or whose sender is not on the origin server; it SHOULD answer
    `M_INVALID_PARAM` (400) though no code is mandated, so 403 M_FORBIDDEN is read as
    allowed as well.
    """
    scene = peer_in_room(hs, fake_homeserver)
    changes = {k: v.format(peer=scene.federation.origin) if isinstance(v, str) else v
               for k, v in changes.items()}
    event, version = signed_leave(scene.federation, scene.room, scene.bob, **changes)

    response = send_leave(scene.federation, scene.room, event, version)

    expect_refused(response)


def test_make_leave_refuses_a_user_of_another_server(hs, fake_homeserver):
    """make_leave refuses to make a template for a user who is not on the asking server.

    Spec: server-server-api/#get_matrixfederationv1make_leaveroomiduserid — 403 when
    the request is not authorised; the leaving user is the origin's own user. A
    refusal as an invalid request (400 M_INVALID_PARAM) is read as allowed too.
    """
    scene = peer_in_room(hs, fake_homeserver)
    response = scene.federation.do("GET", ["make_leave", scene.room, scene.alice.user_id])
    expect_one_error(response, (403, "M_FORBIDDEN"), (400, "M_INVALID_PARAM"))
