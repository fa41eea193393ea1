# SPDX-License-Identifier: Apache-2.0
"""Kicking users: POST /rooms/{roomId}/kick.

Spec: client-server-api/#post_matrixclientv3roomsroomidkick (api/client-server/kicking.yaml).
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, joined_to, left


def member_event(client, room: str, user_id: str) -> dict:
    events = [e for e in client.room_state(room)
              if e["type"] == "m.room.member" and e["state_key"] == user_id]
    assert events, f"no m.room.member for {user_id} in the state of {room}"
    return events[0]


def test_kick_sets_leave_with_reason(hs):
    """A kick makes the target's membership `leave`, sent by the kicker, with the reason.

    Spec: client-server-api/#post_matrixclientv3roomsroomidkick — kicking sets the target's
    membership to `leave`; `reason` is supplied on the updated m.room.member event.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    alice.kick(room, bob, reason="Telling unfunny jokes")
    member = member_event(alice, room, bob.user_id)
    assert member["content"]["membership"] == "leave", f"member event: {member}"
    assert member["content"].get("reason") == "Telling unfunny jokes", f"member event: {member}"
    assert member["sender"] == alice.user_id, f"the kick was sent by {member['sender']}"


def test_non_moderator_cannot_kick(hs):
    """A member below the `kick` level cannot kick: 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidkick — the caller must have the
    required power level; 403 when it is insufficient.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    carol.join(room)
    response = bob.do("POST", ["rooms", room, "kick"], json={"user_id": carol.user_id})
    expect_error(response, 403, "M_FORBIDDEN")
    assert alice.get_state(room, "m.room.member", carol.user_id)["membership"] == "join"


@pytest.mark.parametrize("version", [pytest.param(v, id=f"v{v}") for v in ("10", "11", "12")])
def test_cannot_kick_a_user_of_higher_power(hs, version):
    """A moderator cannot kick a member whose power level is higher than theirs: 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidkick — 403 when the kicker's
    power level is insufficient; rooms/v11#authorization-rules — the target's level must
    be below the sender's (in v12 the creator's level is infinite and not listed).
    """
    alice, bob = hs.register(), hs.register()
    users = {bob.user_id: 50} if version == "12" else {alice.user_id: 100, bob.user_id: 50}
    room = alice.create_room(preset="public_chat", room_version=version,
                             power_level_content_override={"users": users})
    bob.join(room)
    response = bob.do("POST", ["rooms", room, "kick"], json={"user_id": alice.user_id})
    expect_error(response, 403, "M_FORBIDDEN")


def test_kicked_user_can_rejoin_public_room(hs):
    """After a kick, the user may join a public room again.

    Spec: client-server-api/#leaving-rooms — once kicked, the behaviour is as if the user
    had left; they are free to re-join if the room is not invite-only.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    alice.kick(room, bob)
    assert bob.join(room) == room
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "join"


def test_kicked_user_sees_room_as_left(hs):
    """The kicked user's /sync lists the room under `rooms.leave`.

    Spec: client-server-api/#leaving-rooms — a kicked user is treated as having left;
    client-server-api/#get_matrixclientv3sync — `rooms.leave`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    alice.kick(room, bob, reason="Bye")
    bob.sync_until(left(room))


def test_cannot_kick_user_not_in_room(hs):
    """Kicking someone who is not in the room fails with 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidkick — 403 when the kickee is
    not currently in the room. The spec asks for a meaningful errcode: M_FORBIDDEN or
    M_BAD_STATE (the state change cannot be performed) both fit.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    response = alice.do("POST", ["rooms", room, "kick"], json={"user_id": bob.user_id})
    errcode = expect_error(response, 403).get("errcode")
    assert errcode in {"M_FORBIDDEN", "M_BAD_STATE"}, f"403 with errcode {errcode}"
