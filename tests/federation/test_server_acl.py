# SPDX-License-Identifier: Apache-2.0
"""Server ACLs over federation: a room's `m.room.server_acl` shuts a denied server out.

A local user's room; a peer (its user usually joined first) that the room's ACL then
denies. Its requests about the room are refused with 403 M_FORBIDDEN, its PDUs
ignored with an error, its typing and receipt EDUs ignored.

Spec: server-server-api/#server-access-control-lists-acls,
client-server-api/#server-access-control-lists-acls-for-rooms.
"""
from __future__ import annotations

import time

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.checks import receipt_in, timeline_has, typing_in, without
from tests.harness.crypto import compute_event_id, sign_event
from tests.harness.federation_client import SUPPORTED_VERSIONS
from tests.harness.federation_handlers import handle_keys, handle_transactions
from tests.harness.federation_routes import FEDERATION_V2
from tests.harness.federation_scenes import peer_in_room
from tests.harness.rooms import deny_server


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def now_ms() -> int:
    return int(time.time() * 1000)


def signed_membership(federation, room: str, user_id: str, kind: str) -> tuple[dict, str]:
    """A membership event from make_join/make_leave's template, signed by the peer."""
    params = {"ver": list(SUPPORTED_VERSIONS)} if kind == "join" else None
    answer = expect_ok(federation.do("GET", [f"make_{kind}", room, user_id], params=params),
                       f"make_{kind} for {user_id}")
    version = answer["room_version"]
    event = {**answer["event"], "origin": federation.origin, "origin_server_ts": now_ms()}
    return sign_event(event, federation.origin, federation.key, version), version


# -- joining and leaving -------------------------------------------------------------------


def test_a_denied_server_may_not_make_a_join(hs, federation):
    """make_join from a server the room's ACL denies answers 403 M_FORBIDDEN.

    Spec: server-server-api/#server-access-control-lists-acls — make_join MUST be
    protected: a denied server gets 403 with `M_FORBIDDEN`.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    deny_server(alice, room, federation.origin)

    response = federation.do("GET", ["make_join", room, federation.peer.user_id("bob")],
                             params={"ver": list(SUPPORTED_VERSIONS)})

    expect_error(response, 403, "M_FORBIDDEN")


def test_a_denied_server_may_not_send_a_join(hs, fake_homeserver):
    """send_join from a server the ACL came to deny after make_join answers 403 M_FORBIDDEN.

    Spec: server-server-api/#server-access-control-lists-acls — send_join (v1 and v2)
    MUST be protected.
    """
    peer = fake_homeserver(handle_keys(), handle_transactions())
    federation = peer.client()
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    event, version = signed_membership(federation, room, peer.user_id("bob"), "join")
    deny_server(alice, room, federation.origin)

    response = federation.do("PUT", ["send_join", room, compute_event_id(event, version)],
                             json=event, prefix=FEDERATION_V2)

    expect_error(response, 403, "M_FORBIDDEN")


def test_a_denied_server_may_not_make_a_leave(hs, fake_homeserver):
    """make_leave from a denied server answers 403 M_FORBIDDEN, even for its joined user.

    Spec: server-server-api/#server-access-control-lists-acls — make_leave MUST be
    protected.
    """
    scene = peer_in_room(hs, fake_homeserver)
    deny_server(scene.alice, scene.room, scene.federation.origin)

    response = scene.federation.do("GET", ["make_leave", scene.room, scene.bob])

    expect_error(response, 403, "M_FORBIDDEN")


def test_a_denied_server_may_not_send_a_leave(hs, fake_homeserver):
    """send_leave from a server denied after make_leave answers 403 M_FORBIDDEN.

    Spec: server-server-api/#server-access-control-lists-acls — send_leave (v1 and v2)
    MUST be protected.
    """
    scene = peer_in_room(hs, fake_homeserver)
    event, version = signed_membership(scene.federation, scene.room, scene.bob, "leave")
    deny_server(scene.alice, scene.room, scene.federation.origin)

    response = scene.federation.do("PUT", ["send_leave", scene.room,
                                           compute_event_id(event, version)],
                                   json=event, prefix=FEDERATION_V2)

    expect_error(response, 403, "M_FORBIDDEN")


def test_a_denied_server_may_not_invite_into_the_room(hs, fake_homeserver):
    """An invite from a denied server's user to a local user answers 403 M_FORBIDDEN.

    Spec: server-server-api/#server-access-control-lists-acls — invite (v1 and v2)
    MUST be protected.
    """
    scene = peer_in_room(hs, fake_homeserver)
    carol = hs.register()
    deny_server(scene.alice, scene.room, scene.federation.origin)
    invite = scene.remote.invite(carol.user_id, sender=scene.bob)
    version = scene.remote.version.identifier
    state = scene.remote.state_map()
    stripped = [scene.remote.pdu(state[key]) for key in
                [("m.room.create", ""), ("m.room.join_rules", "")]]

    response = scene.federation.do(
        "PUT", ["invite", scene.room, compute_event_id(invite, version)], prefix=FEDERATION_V2,
        json={"event": invite, "room_version": version, "invite_room_state": stripped})

    expect_error(response, 403, "M_FORBIDDEN")


# -- reading the room ------------------------------------------------------------------------


def read_state(scene, event_id):
    return scene.federation.do("GET", ["state", scene.room], params={"event_id": event_id})


def read_state_ids(scene, event_id):
    return scene.federation.do("GET", ["state_ids", scene.room], params={"event_id": event_id})


def read_backfill(scene, event_id):
    return scene.federation.do("GET", ["backfill", scene.room],
                               params={"v": [event_id], "limit": 10})


def read_event_auth(scene, event_id):
    return scene.federation.do("GET", ["event_auth", scene.room, event_id])


def read_missing_events(scene, event_id):
    return scene.federation.do("POST", ["get_missing_events", scene.room],
                               json={"earliest_events": [scene.join_id],
                                     "latest_events": [event_id], "limit": 10})


@pytest.mark.parametrize("read", [
    pytest.param(read_state, id="state"),
    pytest.param(read_state_ids, id="state_ids"),
    pytest.param(read_backfill, id="backfill"),
    pytest.param(read_event_auth, id="event_auth"),
    pytest.param(read_missing_events, id="get_missing_events"),
])
def test_a_denied_server_may_not_read_the_room(hs, fake_homeserver, read):
    """A denied server's requests for the room's state and history answer 403 M_FORBIDDEN.

    Spec: server-server-api/#server-access-control-lists-acls — /state, /state_ids,
    /backfill, /event_auth and /get_missing_events MUST be protected: a denied server
    gets 403 with `M_FORBIDDEN`, though its user is still joined.
    """
    scene = peer_in_room(hs, fake_homeserver)
    deny_server(scene.alice, scene.room, scene.federation.origin)
    event_id = scene.alice.send(scene.room, text("behind the ACL"))

    expect_error(read(scene, event_id), 403, "M_FORBIDDEN")


# -- transactions ----------------------------------------------------------------------------


def test_pdus_from_a_denied_server_are_ignored_with_an_error(hs, fake_homeserver):
    """A PDU from a denied server is ignored, with an error as its result.

    Spec: server-server-api/#server-access-control-lists-acls — ACLs MUST be applied to
    every PDU of a transaction: one from a denied server MUST be ignored, with an error
    in the response for its event ID. A local message sent afterwards shows when the
    PDU had its chance to reach clients.
    """
    scene = peer_in_room(hs, fake_homeserver)
    deny_server(scene.alice, scene.room, scene.federation.origin)
    pdu = scene.remote.message("from behind the ACL", sender=scene.bob)
    event_id = scene.remote.event_id(pdu)

    answer = scene.federation.send_transaction([pdu])
    later = scene.alice.send(scene.room, text("after the denied PDU"))

    assert "error" in answer["pdus"].get(event_id, {}), (
        f"the result for the denied server's PDU {event_id} holds no error: {answer}")
    scene.alice.sync_until(without(timeline_has(scene.room, later),
                                   timeline_has(scene.room, event_id)))


def test_typing_from_a_denied_server_is_ignored(hs, fake_homeserver):
    """A typing EDU from a denied server does not show its user typing.

    Spec: server-server-api/#server-access-control-lists-acls — an `m.typing` EDU from
    a server denied access to its room MUST be ignored. A local user typing afterwards
    shows when the EDU had its chance: the list must then hold that user alone.
    """
    scene = peer_in_room(hs, fake_homeserver)
    carol = hs.register()
    carol.join(scene.room)
    deny_server(scene.alice, scene.room, scene.federation.origin)

    scene.federation.send_transaction(edus=[{"edu_type": "m.typing", "content": {
        "room_id": scene.room, "user_id": scene.bob, "typing": True}}])
    carol.typing(scene.room)

    scene.alice.sync_until(typing_in(scene.room, [carol]))


def test_receipts_from_a_denied_server_are_ignored(hs, fake_homeserver):
    """A receipt EDU from a denied server does not show its user's receipt.

    Spec: server-server-api/#server-access-control-lists-acls — all receipts of an
    `m.receipt` EDU for a room the sending server is denied MUST be ignored. A local
    user's receipt afterwards shows when the EDU had its chance.
    """
    scene = peer_in_room(hs, fake_homeserver)
    carol = hs.register()
    carol.join(scene.room)
    deny_server(scene.alice, scene.room, scene.federation.origin)
    event_id = scene.alice.send(scene.room, text("read me"))

    scene.federation.send_transaction(edus=[{"edu_type": "m.receipt", "content": {
        scene.room: {"m.read": {scene.bob: {"event_ids": [event_id], "data": {"ts": now_ms()}}}}}}])
    carol.receipt(scene.room, event_id)

    scene.alice.sync_until(without(receipt_in(scene.room, event_id, carol),
                                   receipt_in(scene.room, event_id, scene.bob)))
