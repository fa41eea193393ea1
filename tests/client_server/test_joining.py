# SPDX-License-Identifier: Apache-2.0
"""Joining rooms: POST /rooms/{roomId}/join and POST /join/{roomIdOrAlias}.

Spec: client-server-api/#joining-rooms (api/client-server/joining.yaml).
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.checks import expect_error, expect_ok, joined_to

# The two join endpoints; both take a room ID.
JOIN_PATHS = [
    pytest.param(lambda room: ["rooms", room, "join"], id="rooms-roomId-join"),
    pytest.param(lambda room: ["join", room], id="join-roomIdOrAlias"),
]


@pytest.mark.parametrize("path", JOIN_PATHS)
def test_join_public_room_by_id(hs, path):
    """Anyone can join a public room by its ID; the answer names the room joined.

    Spec: client-server-api/#post_matrixclientv3roomsroomidjoin and
    client-server-api/#post_matrixclientv3joinroomidoralias — 200 with the joined `room_id`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    body = expect_ok(bob.do("POST", path(room), json={}), f"join {room}")
    assert body["room_id"] == room, f"joined {body['room_id']}, asked for {room}"
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "join"


def test_join_public_room_by_alias(hs):
    """POST /join/{alias} joins the room the alias points to and answers its ID.

    Spec: client-server-api/#post_matrixclientv3joinroomidoralias — the room may be named
    by alias; the joined room ID must be returned in `room_id`.
    """
    alice, bob = hs.register(), hs.register()
    localpart = f"joinable-{secrets.token_hex(6)}"
    room = alice.create_room(preset="public_chat", room_alias_name=localpart)
    joined = bob.join(f"#{localpart}:{hs.server_name}")
    assert joined == room, f"joining the alias answered {joined}, the room is {room}"
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "join"


@pytest.mark.parametrize("path", JOIN_PATHS)
def test_join_invite_only_room_without_invite_is_forbidden(hs, path):
    """Joining an invite-only room without an invite fails with 403 M_FORBIDDEN.

    Spec: client-server-api/#post_matrixclientv3roomsroomidjoin — 403 when the room is
    invite-only and the user was not invited.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    expect_error(bob.do("POST", path(room), json={}), 403, "M_FORBIDDEN")


def test_join_invite_only_room_after_invite(hs):
    """An invited user can join an invite-only room.

    Spec: client-server-api/#room-membership — `invite` join rule: the room can only be
    joined if you were invited.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.invite(room, bob)
    assert bob.join(room) == room
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "join"


def test_join_unknown_alias_is_not_found(hs):
    """Joining through an alias that does not exist fails with 404.

    Spec: client-server-api/#post_matrixclientv3joinroomidoralias — the alias must resolve
    to a room (api/ documents 404 for an unknown alias; the spec names no errcode).
    """
    bob = hs.register()
    alias = f"#no-such-room-{secrets.token_hex(6)}:{hs.server_name}"
    expect_error(bob.do("POST", ["join", alias], json={}), 404)


def test_joining_again_is_idempotent(hs):
    """Joining a room one is already in succeeds and leaves one joined membership.

    Spec: client-server-api/#post_matrixclientv3roomsroomidjoin — 200 with the room ID;
    rooms/v11#authorization-rules — join allowed when the sender is already joined.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    assert bob.join(room) == room
    assert bob.join(room) == room
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "join"
    listed = expect_ok(bob.do("GET", ["joined_rooms"]), "list joined rooms")["joined_rooms"]
    assert listed.count(room) == 1, f"/joined_rooms: {listed}"


def test_join_reason_is_in_member_event(hs):
    """The `reason` given to join is the `reason` of the resulting member event.

    Spec: client-server-api/#post_matrixclientv3roomsroomidjoin — `reason` (added in 1.1)
    is included on the membership event.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    expect_ok(bob.do("POST", ["rooms", room, "join"], json={"reason": "Here to help"}),
              f"join {room} with a reason")
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member.get("reason") == "Here to help", f"member event content: {member}"


def test_joined_room_appears_in_sync(hs):
    """After joining, the room is listed under `rooms.join` in /sync.

    Spec: client-server-api/#post_matrixclientv3joinroomidoralias — after a join the room
    appears in the /sync response.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))


def test_joined_member_event_carries_profile(hs):
    """A join event made by the join endpoint carries the joiner's display name.

    Spec: client-server-api/#events-on-change-of-profile-information — servers SHOULD
    include the display name in membership events they emit for their own users.
    """
    alice, bob = hs.register(), hs.register()
    bob.set_displayname("Bob the Builder")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member.get("displayname") == "Bob the Builder", f"member event content: {member}"
