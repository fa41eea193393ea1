# SPDX-License-Identifier: Apache-2.0
"""Leaving and forgetting rooms: POST /rooms/{roomId}/leave and /forget.

Spec: client-server-api/#leaving-rooms (api/client-server/leaving.yaml).
"""
from __future__ import annotations

from tests.harness.checks import expect_error, expect_ok, invited_to, joined_to, left

INCLUDE_LEAVE = {"room": {"include_leave": True}}


def test_leave_sets_membership_to_leave(hs):
    """After leaving, the user's membership in the room is `leave`, with the reason given.

    Spec: client-server-api/#post_matrixclientv3roomsroomidleave — the user stops
    participating; `reason` (added in 1.1) is included on the membership event.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    expect_ok(bob.do("POST", ["rooms", room, "leave"], json={"reason": "Off to bed"}),
              f"leave {room}")
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member["membership"] == "leave", f"member event content: {member}"
    assert member.get("reason") == "Off to bed", f"member event content: {member}"


def test_leaving_rejects_an_invite(hs):
    """Leaving a room one is only invited to rejects the invite.

    Spec: client-server-api/#post_matrixclientv3roomsroomidleave — if the user was invited
    but had not joined, the call rejects the invite.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.invite(room, bob)
    bob.leave(room)
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "leave"
    expect_error(bob.do("POST", ["rooms", room, "join"], json={}), 403, "M_FORBIDDEN")


def test_rejected_invite_shows_as_left_in_sync(hs):
    """After rejecting an invite, the invitee's /sync lists the room under `rooms.leave`.

    Spec: client-server-api/#get_matrixclientv3sync — `rooms.leave` holds rooms the user
    has left; client-server-api/#leaving-rooms — leaving an invited room rejects the invite.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.invite(room, bob)
    bob.sync_until(invited_to(room))
    bob.leave(room)
    bob.sync_until(left(room))


def test_left_user_needs_new_invite_to_rejoin_invite_only_room(hs):
    """Someone who left an invite-only room must be invited again to rejoin it.

    Spec: client-server-api/#post_matrixclientv3roomsroomidleave — if the room requires an
    invite to join, they will need to be re-invited before they can re-join.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.invite(room, bob)
    bob.join(room)
    bob.leave(room)
    expect_error(bob.do("POST", ["rooms", room, "join"], json={}), 403, "M_FORBIDDEN")
    alice.invite(room, bob)
    bob.join(room)


def test_left_room_is_not_in_joined_rooms(hs):
    """A room the user has left is no longer in /joined_rooms.

    Spec: client-server-api/#get_matrixclientv3joined_rooms — only rooms where the user's
    membership is `join` are listed.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.leave(room)
    rooms = expect_ok(bob.do("GET", ["joined_rooms"]), "list joined rooms")["joined_rooms"]
    assert room not in rooms, f"/joined_rooms still lists {room}: {rooms}"


def test_left_room_shows_in_sync_leave_section(hs):
    """After leaving, an incremental /sync lists the room under `rooms.leave`.

    Spec: client-server-api/#get_matrixclientv3sync — `rooms.leave`: the rooms the user
    has left or been banned from.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    bob.leave(room)
    bob.sync_until(left(room))


def test_forgotten_room_is_gone_from_sync_even_with_include_leave(hs):
    """A left room shows in /sync with `include_leave` until it is forgotten, then never.

    Spec: client-server-api/#leaving-rooms — left rooms appear in /sync only when the
    filter sets `include_leave`; forgotten rooms never appear until rejoined or re-invited;
    client-server-api/#post_matrixclientv3roomsroomidforget.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.leave(room)
    # A different filter than the one below, so a server's short-lived cache of
    # identical /sync requests cannot answer the second request with this one's reply.
    before = bob.sync(filter={"room": {"include_leave": True, "timeline": {"limit": 5}}})
    assert room in before.get("rooms", {}).get("leave", {}), (
        f"with include_leave, /sync lists no left room {room}: {before.get('rooms')}")
    bob.forget(room)
    after = bob.sync(filter=INCLUDE_LEAVE)
    for section in ("join", "invite", "leave"):
        assert room not in after.get("rooms", {}).get(section, {}), (
            f"the forgotten room {room} is still in rooms.{section}")


def test_forget_while_joined_is_refused(hs):
    """Forgetting a room one is still joined to fails with 400.

    Spec: client-server-api/#post_matrixclientv3roomsroomidforget — the user must leave
    first; 400 when the user has not left. The errcode appears only in an example
    (M_UNKNOWN), so only the status is required.
    """
    alice = hs.register()
    room = alice.create_room()
    expect_error(alice.do("POST", ["rooms", room, "forget"], json={}), 400)
    assert alice.get_state(room, "m.room.member", alice.user_id)["membership"] == "join"


def test_rejoining_after_forget_brings_the_room_back(hs):
    """A forgotten public room can be joined again and shows up in /sync as joined.

    Spec: client-server-api/#leaving-rooms — a forgotten room stays out of /sync until the
    user re-joins, is re-invited, or knocks.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.leave(room)
    bob.forget(room)
    bob.join(room)
    bob.sync_until(joined_to(room))
