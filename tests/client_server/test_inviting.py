# SPDX-License-Identifier: Apache-2.0
"""Inviting users: POST /rooms/{roomId}/invite and the invitee's view of the invite.

Spec: client-server-api/#post_matrixclientv3roomsroomidinvite (api/client-server/inviting.yaml).
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, expect_ok, invited_to

STRIPPED_KEYS = {"sender", "type", "state_key", "content"}
# A refusal because of the invitee's membership: the spec asks only for "a meaningful
# errcode"; M_FORBIDDEN (not permitted) and M_BAD_STATE (the state change cannot be
# performed) are the standard codes that fit (client-server-api/#standard-error-response).
STATE_REFUSALS = {"M_FORBIDDEN", "M_BAD_STATE"}


def invite_state(sync_body: dict, room: str) -> list[dict]:
    return sync_body["rooms"]["invite"][room]["invite_state"]["events"]


def test_invite_makes_invite_membership(hs):
    """An invite sets the invitee's membership to `invite`, sent by the inviter.

    Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — the homeserver appends
    an m.room.member event for the invitee to the room.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.invite(room, bob)
    member = [e for e in alice.room_state(room)
              if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert member and member[0]["content"]["membership"] == "invite", f"member state: {member}"
    assert member[0]["sender"] == alice.user_id, f"the invite was sent by {member[0]['sender']}"


def test_invitee_sees_invite_in_sync(hs):
    """The invitee sees the room under `rooms.invite` with stripped state naming the room.

    Spec: client-server-api/#get_matrixclientv3sync — invited rooms carry `invite_state`;
    client-server-api/#stripped-state — it may include m.room.name and m.room.join_rules.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat", name="Invitation only")
    alice.invite(room, bob)
    body = bob.sync_until(invited_to(room))
    events = invite_state(body, room)
    names = [e["content"].get("name") for e in events if e["type"] == "m.room.name"]
    assert names == ["Invitation only"], f"invite_state: {events}"
    mine = [e for e in events if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert mine and mine[0]["content"]["membership"] == "invite", f"invite_state: {events}"


@pytest.mark.spec("1.16")
@pytest.mark.parametrize("version", [pytest.param(v, id=f"v{v}") for v in ("10", "11", "12")])
def test_invite_state_includes_create_event(hs, version):
    """The invitee's stripped state includes the room's m.room.create event.

    Spec: client-server-api/#stripped-state — since 1.16 m.room.create is required in
    `invite_state` on /sync.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat", room_version=version)
    alice.invite(room, bob)
    events = invite_state(bob.sync_until(invited_to(room)), room)
    creates = [e for e in events if e["type"] == "m.room.create"]
    assert creates, f"no m.room.create in invite_state: {events}"
    assert creates[0]["content"].get("room_version") == version, f"invite_state: {events}"
    assert creates[0]["sender"] == alice.user_id, f"invite_state: {events}"


@pytest.mark.spec("1.16")
def test_invite_state_events_are_stripped(hs):
    """Stripped state events carry only `sender`, `type`, `state_key` and `content`.

    Spec: client-server-api/#stripped-state — stripped state events can only have those
    four properties; servers prune events into that shape before giving them to clients.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat", name="Stripped", topic="Bare")
    alice.invite(room, bob)
    events = invite_state(bob.sync_until(invited_to(room)), room)
    extra = {e["type"]: sorted(set(e) - STRIPPED_KEYS) for e in events if set(e) - STRIPPED_KEYS}
    assert not extra, f"stripped state events with extra keys: {extra}"


def test_invite_reason_is_in_member_event(hs):
    """The `reason` given to invite is the `reason` of the invite member event.

    Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — `reason` (added in
    1.1) is included on the membership event.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    expect_ok(alice.do("POST", ["rooms", room, "invite"],
                       json={"user_id": bob.user_id, "reason": "Welcome aboard"}),
              "invite with a reason")
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member.get("reason") == "Welcome aboard", f"member event content: {member}"


def test_inviting_an_invited_user_again_succeeds(hs):
    """Inviting a user who is already invited answers 200.

    Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — 200 when the user has
    been invited, or was already invited.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.invite(room, bob)
    alice.invite(room, bob)
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "invite"


def test_non_member_cannot_invite(hs):
    """A user who is not in the room cannot invite others: 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — only users currently
    in the room can invite; 403 when the inviter is not in the room.
    """
    alice, mallory, bob = hs.register(), hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    response = mallory.do("POST", ["rooms", room, "invite"], json={"user_id": bob.user_id})
    expect_error(response, 403, "M_FORBIDDEN")


def test_banned_user_cannot_be_invited(hs):
    """Inviting a banned user fails with 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — 403 when the invitee
    has been banned; client-server-api/#post_matrixclientv3roomsroomidban — a banned user
    may not be invited until unbanned. Either errcode in STATE_REFUSALS is meaningful.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.ban(room, bob)
    response = alice.do("POST", ["rooms", room, "invite"], json={"user_id": bob.user_id})
    errcode = expect_error(response, 403).get("errcode")
    assert errcode in STATE_REFUSALS, f"403 with errcode {errcode}, not one of {STATE_REFUSALS}"


def test_joined_user_cannot_be_invited(hs):
    """Inviting a user who is already joined fails with 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — 403 when the invitee
    is already a member of the room. Either errcode in STATE_REFUSALS is meaningful.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    response = alice.do("POST", ["rooms", room, "invite"], json={"user_id": bob.user_id})
    errcode = expect_error(response, 403).get("errcode")
    assert errcode in STATE_REFUSALS, f"403 with errcode {errcode}, not one of {STATE_REFUSALS}"


def test_insufficient_power_cannot_invite(hs):
    """A member below the room's `invite` level cannot invite: 403.

    Spec: client-server-api/#post_matrixclientv3roomsroomidinvite — 403 when the
    inviter's power level is insufficient to invite users.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(preset="public_chat", power_level_content_override={"invite": 50})
    bob.join(room)
    response = bob.do("POST", ["rooms", room, "invite"], json={"user_id": carol.user_id})
    expect_error(response, 403, "M_FORBIDDEN")
