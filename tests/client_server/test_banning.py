# SPDX-License-Identifier: Apache-2.0
"""Banning and unbanning users: POST /rooms/{roomId}/ban and /unban.

Spec: client-server-api/#banning-users-in-a-room (api/client-server/banning.yaml).
"""
from __future__ import annotations

from tests.harness.checks import expect_error, joined_to, left

# The join endpoints ask for "a meaningful errcode" when a banned user tries to join;
# M_FORBIDDEN (not permitted) and M_BAD_STATE (the state change cannot be performed) are
# the standard codes that fit (client-server-api/#standard-error-response).
BANNED_JOIN_ERRCODES = {"M_FORBIDDEN", "M_BAD_STATE"}


def expect_join_refused_as_banned(response) -> None:
    errcode = expect_error(response, 403).get("errcode")
    assert errcode in BANNED_JOIN_ERRCODES, (
        f"a banned user's join answered 403 {errcode}, not one of {BANNED_JOIN_ERRCODES}")


def test_banned_user_cannot_rejoin_until_unbanned(hs):
    """A banned user's join is refused until they are unbanned.

    Spec: client-server-api/#post_matrixclientv3roomsroomidban — a banned user may not
    join until unbanned (403; see BANNED_JOIN_ERRCODES);
    client-server-api/#post_matrixclientv3roomsroomidunban.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    alice.ban(room, bob)
    expect_join_refused_as_banned(bob.do("POST", ["rooms", room, "join"], json={}))
    alice.unban(room, bob)
    assert bob.join(room) == room


def test_ban_sets_membership_ban_with_reason(hs):
    """A ban makes the target's membership `ban`, with the reason given.

    Spec: client-server-api/#post_matrixclientv3roomsroomidban — `reason` is supplied on
    the target's updated m.room.member event; client-server-api/#banning-users-in-a-room —
    the membership becomes `ban`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    alice.ban(room, bob, reason="Spamming")
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member["membership"] == "ban", f"member event content: {member}"
    assert member.get("reason") == "Spamming", f"member event content: {member}"


def test_user_who_never_joined_can_be_banned(hs):
    """A user can be banned before ever joining, and then cannot join.

    Spec: client-server-api/#post_matrixclientv3roomsroomidban — a banned user may not
    join the room until unbanned (403; see BANNED_JOIN_ERRCODES).
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    alice.ban(room, bob)
    expect_join_refused_as_banned(bob.do("POST", ["join", room], json={}))


def test_non_moderator_cannot_ban(hs):
    """A member below the `ban` level cannot ban: 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidban — 403 when the banner's
    power level is insufficient.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    carol.join(room)
    response = bob.do("POST", ["rooms", room, "ban"], json={"user_id": carol.user_id})
    expect_error(response, 403, "M_FORBIDDEN")
    assert alice.get_state(room, "m.room.member", carol.user_id)["membership"] == "join"


def test_non_moderator_cannot_unban(hs):
    """A member below the `ban` level cannot unban: 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidunban — 403 when the
    unbanner's power level is insufficient.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    alice.ban(room, carol)
    response = bob.do("POST", ["rooms", room, "unban"], json={"user_id": carol.user_id})
    expect_error(response, 403, "M_FORBIDDEN")
    assert alice.get_state(room, "m.room.member", carol.user_id)["membership"] == "ban"


def test_unbanned_user_needs_invite_for_invite_only_room(hs):
    """Unbanning does not let a user into an invite-only room; an invite then does.

    Spec: client-server-api/#post_matrixclientv3roomsroomidunban — unbanning lets the user
    be invited, and join if the join rules would otherwise allow it.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.ban(room, bob)
    alice.unban(room, bob)
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "leave"
    expect_error(bob.do("POST", ["rooms", room, "join"], json={}), 403, "M_FORBIDDEN")
    alice.invite(room, bob)
    bob.join(room)


def test_banned_user_sees_room_as_left(hs):
    """The banned user's /sync lists the room under `rooms.leave`.

    Spec: client-server-api/#get_matrixclientv3sync — `rooms.leave`: the rooms the user
    has left or been banned from.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    alice.ban(room, bob)
    bob.sync_until(left(room))
