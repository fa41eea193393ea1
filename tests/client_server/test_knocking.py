# SPDX-License-Identifier: Apache-2.0
"""Knocking on rooms: POST /knock/{roomIdOrAlias}, and what members do with a knock.

Spec: client-server-api/#knocking-on-rooms (api/client-server/knocking.yaml), and the
`m.room.member` authorization rules of rooms/v7 and later (knock from v7, knock_restricted
from v10). A refused knock is a 403 whose `errcode` the spec leaves to the server ("a
meaningful errcode"; M_FORBIDDEN is only its example), so refusals check the status only.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.checks import Check, expect_error, expect_ok, left, timeline_has
from tests.harness.rooms import (membership_is, require_room_version, room_entry,
                                 stripped_events, versions)

STRIPPED_KEYS = {"type", "state_key", "sender", "content"}


def _join_rules(rule: str, **extra) -> list[dict]:
    return [{"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": rule, **extra}}]


def _knock_room(owner, version: str = "10", rule: str = "knock", **body) -> str:
    """A room of this version whose join rule is `rule` (knock by default)."""
    require_room_version(owner, version)
    return owner.create_room(room_version=version, initial_state=_join_rules(rule), **body)


def _knock(client, room: str, reason: str | None = None):
    body = {"reason": reason} if reason is not None else {}
    return client.do("POST", ["knock", room], json=body)


def _membership(observer, room: str, user) -> str:
    return observer.get_state(room, "m.room.member", user.user_id)["membership"]


@pytest.mark.parametrize("version", versions(7))
def test_knock_on_knock_room_is_accepted(hs, version):
    """Anyone may knock on a room whose join rule is `knock`; the answer names the room.

    Spec: client-server-api/#post_matrixclientv3knockroomidoralias — 200 with the knocked
    `room_id`; rooms/v7 (and later) rule 4.6: a knock is allowed when the join rule is
    `knock` and the sender is not joined, invited or banned.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice, version)
    body = expect_ok(_knock(bob, room), f"knock on {room}")
    assert body["room_id"] == room, f"knocked on {room}, the answer names {body['room_id']}"
    assert _membership(alice, room, bob) == "knock"


@pytest.mark.parametrize("version", versions(10))
def test_knock_on_knock_restricted_room_is_accepted(hs, version):
    """A room whose join rule is `knock_restricted` accepts knocks (room versions 10+).

    Spec: client-server-api/#knocking-on-rooms — knocking is possible on a room using
    `knock_restricted`; rooms/v10 rule 4.7.1: a knock is allowed when the join rule is
    `knock` or `knock_restricted`.
    """
    alice, bob = hs.register(), hs.register()
    other = alice.create_room()
    require_room_version(alice, version)
    room = alice.create_room(room_version=version, initial_state=_join_rules(
        "knock_restricted", allow=[{"type": "m.room_membership", "room_id": other}]))
    expect_ok(_knock(bob, room), f"knock on {room}")
    assert _membership(alice, room, bob) == "knock"


@pytest.mark.parametrize("rule", [
    pytest.param("public", id="public"),
    pytest.param("invite", id="invite"),
    pytest.param("restricted", id="restricted"),
])
def test_knock_is_refused_when_join_rule_is_not_knock(hs, rule):
    """Knocking on a room whose join rule does not allow knocks is forbidden.

    Spec: client-server-api/#post_matrixclientv3knockroomidoralias — 403 when the room is
    not set up for knocking; rooms/v10 rule 4.7.1: a knock is rejected unless the join
    rule is `knock` or `knock_restricted`.
    """
    alice, bob = hs.register(), hs.register()
    extra = {"allow": [{"type": "m.room_membership", "room_id": alice.create_room()}]} \
        if rule == "restricted" else {}
    require_room_version(alice, "10")
    room = alice.create_room(room_version="10", initial_state=_join_rules(rule, **extra))
    expect_error(_knock(bob, room), 403)
    assert bob.user_id not in _members_with(alice, room, "knock")


@pytest.mark.parametrize("version", versions(1, 6))
def test_knock_is_refused_in_room_versions_without_knocking(hs, version):
    """In room versions 1 to 6 a knock is refused even if the join rule says `knock`.

    Spec: rooms/v7 — the first room version supporting knocking (users cannot knock on
    rooms of earlier versions); rooms/v1 … v6: a membership other than join, invite,
    leave or ban is rejected. The knock endpoint answers 403 (with an errcode of the
    server's choosing: the spec asks only for a meaningful one).
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice, version)
    expect_error(_knock(bob, room), 403)
    assert bob.user_id not in _members_with(alice, room, "knock")


@pytest.mark.parametrize("version", versions(7, 9))
def test_knock_restricted_is_not_knockable_before_v10(hs, version):
    """In room versions 7 to 9 `knock_restricted` is no knock rule: knocks are refused.

    Spec: rooms/v7 … v9 rule 4.6.1: a knock is rejected if the join rule is anything
    other than `knock`; `knock_restricted` only works from room version 10.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice, version, rule="knock_restricted")
    expect_error(_knock(bob, room), 403)


def test_knock_by_alias(hs):
    """A room can be knocked on through its alias; the answer is the room's ID.

    Spec: client-server-api/#post_matrixclientv3knockroomidoralias — the path takes a room
    ID or alias, and the knocked room ID must be returned in `room_id`.
    """
    alice, bob = hs.register(), hs.register()
    localpart = f"knock-{secrets.token_hex(6)}"
    room = _knock_room(alice, room_alias_name=localpart)
    body = expect_ok(_knock(bob, f"#{localpart}:{hs.server_name}"), "knock on the alias")
    assert body["room_id"] == room, f"the alias names {room}, the knock answered {body}"
    assert _membership(alice, room, bob) == "knock"


def test_knock_on_unknown_alias_is_not_found(hs):
    """Knocking on an alias that resolves to no room answers 404.

    Spec: client-server-api/#post_matrixclientv3knockroomidoralias — 404 when the room
    cannot be found or resolved to a room ID.
    """
    bob = hs.register()
    response = _knock(bob, f"#no-such-room-{secrets.token_hex(6)}:{hs.server_name}")
    expect_error(response, 404)


def test_knock_reason_is_kept_in_the_membership_event(hs):
    """The reason given with a knock becomes the `reason` of the knock membership event.

    Spec: client-server-api/#post_matrixclientv3knockroomidoralias — `reason` is included
    as the `reason` on the subsequent membership event.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room, reason="I would like to help"), f"knock on {room}")
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member["membership"] == "knock", f"the knock event's content is {member}"
    assert member.get("reason") == "I would like to help", f"the knock event's content is {member}"


def test_knocked_room_appears_in_the_knockers_sync(hs):
    """After knocking, the room is under `rooms.knock` of the knocker's /sync.

    Spec: client-server-api/#post_matrixclientv3knockroomidoralias — the knock appears as
    an entry in the /sync response; client-server-api/#get_matrixclientv3sync — knocked
    rooms are listed with their `knock_state`.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room), f"knock on {room}")
    entry = room_entry(bob, "knock", room)
    assert stripped_events(entry, "knock_state"), f"knock_state has no events: {entry}"


@pytest.mark.spec("1.16")
@pytest.mark.parametrize("version", [pytest.param("7", id="v7"), pytest.param("10", id="v10"),
                                     pytest.param("12", id="v12")])
def test_knock_state_includes_the_create_event(hs, version):
    """The knocker's `knock_state` includes the room's m.room.create event.

    Spec: client-server-api/#stripped-state — since v1.16 m.room.create is required in
    `knock_state` on /sync (MSC4311); its content names the room version.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice, version)
    expect_ok(_knock(bob, room), f"knock on {room}")
    events = stripped_events(room_entry(bob, "knock", room), "knock_state")
    creates = [e for e in events if e.get("type") == "m.room.create"]
    assert creates, f"no m.room.create in knock_state: {events}"
    assert creates[0]["state_key"] == "" and creates[0]["sender"] == alice.user_id, creates[0]
    assert creates[0]["content"].get("room_version", "1") == version, creates[0]


def test_knock_state_events_are_stripped(hs):
    """Every event of `knock_state` has only `type`, `state_key`, `sender` and `content`.

    Spec: client-server-api/#stripped-state — stripped state events can only have the
    sender, type, state_key and content properties.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice, name="Knock here")
    expect_ok(_knock(bob, room), f"knock on {room}")
    events = stripped_events(room_entry(bob, "knock", room), "knock_state")
    extra = [(e.get("type"), sorted(set(e) - STRIPPED_KEYS)) for e in events
             if set(e) - STRIPPED_KEYS]
    assert not extra, f"knock_state events with keys beyond the stripped ones: {extra}"


def test_member_sees_the_knock_in_the_timeline(hs):
    """Members of the room receive the knock membership event in their timeline.

    Spec: client-server-api/#knocking-on-rooms — members approve or deny knocks, so the
    `m.room.member` event with membership `knock` is an ordinary state event of the room.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room, reason="hello"), f"knock on {room}")
    alice.sync_until(timeline_has(room, predicate=membership_is(bob, "knock")))


def test_knocker_cannot_join_without_being_accepted(hs):
    """A knock is only a request: the knocker cannot join until invited.

    Spec: rooms/v7 rule 4.2.4 (and later versions): with join rule `knock`, a join is
    allowed only if the user's membership is `invite` or `join`.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room), f"knock on {room}")
    expect_error(bob.do("POST", ["rooms", room, "join"], json={}), 403, "M_FORBIDDEN")


def test_knocker_cannot_send_messages(hs):
    """A knocking user is not joined and cannot send events to the room.

    Spec: rooms/v7 rule 5 (and later versions): an event whose sender is not joined is
    rejected; the send endpoint answers 403.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room), f"knock on {room}")
    response = bob.do("PUT", ["rooms", room, "send", "m.room.message", secrets.token_hex(6)],
                      json={"msgtype": "m.text", "body": "let me in"})
    expect_error(response, 403, "M_FORBIDDEN")


@pytest.mark.parametrize("version", versions(7))
def test_knock_accepted_by_invite_then_knocker_joins(hs, version):
    """An invite accepts a knock; the knocker can then join the room.

    Spec: client-server-api/#knocking-on-rooms — members with invite permission approve
    a knock with /invite (the server may then auto-accept the invite, so the knocker is
    invited or already joined); rooms/v7+ rule 4.2.4: an invited user may join.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice, version)
    expect_ok(_knock(bob, room), f"knock on {room}")
    alice.invite(room, bob)
    assert _membership(alice, room, bob) in ("invite", "join")
    assert bob.join(room) == room
    assert _membership(alice, room, bob) == "join"


def test_knocker_learns_of_acceptance_through_sync(hs):
    """The knocker's /sync moves the room from `knock` to `invite` (or `join`) on acceptance.

    Spec: client-server-api/#knocking-on-rooms — the client watches /sync for the outcome;
    an invite means the knock was accepted, and the server may auto-accept it, in which
    case the client sees the join instead.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room), f"knock on {room}")
    room_entry(bob, "knock", room)
    alice.invite(room, bob)
    bob.sync_until(_invited_or_joined(room))


@pytest.mark.parametrize("version", versions(7))
def test_knock_denied_by_kick(hs, version):
    """A kick denies a knock: the knocker's membership becomes `leave`.

    Spec: client-server-api/#knocking-on-rooms — a knock is denied with /kick (setting
    another user's membership to `leave`); rooms/v7+ rule 4.5.4.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice, version)
    expect_ok(_knock(bob, room), f"knock on {room}")
    alice.kick(room, bob, reason="not today")
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member["membership"] == "leave", f"after the kick bob's membership is {member}"


def test_denied_knocker_sees_the_room_as_left(hs):
    """The knocker whose knock is denied sees the room under `rooms.leave` in /sync.

    Spec: client-server-api/#get_matrixclientv3sync — `leave` lists rooms the user has
    left or been kicked or banned from; a denied knock is a kick.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room), f"knock on {room}")
    room_entry(bob, "knock", room)
    alice.kick(room, bob)
    bob.sync_until(left(room))


def test_knock_can_be_retracted_by_leaving(hs):
    """A knocker can retract the knock with /leave.

    Spec: client-server-api/#knocking-on-rooms — knocks can be retracted by calling
    /leave; rooms/v7+ rule 4.5.1: a user may leave from membership `knock`.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room), f"knock on {room}")
    bob.leave(room)
    assert _membership(alice, room, bob) == "leave"


def test_user_can_knock_again_after_a_denied_knock(hs):
    """After a denied knock (kick), the user may knock again.

    Spec: rooms/v7+ rule 4.6.3: a knock is allowed unless the sender is banned, invited
    or joined; `leave` is none of those.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room), f"knock on {room}")
    alice.kick(room, bob)
    expect_ok(_knock(bob, room, reason="please reconsider"), f"knock again on {room}")
    assert _membership(alice, room, bob) == "knock"


def test_banned_user_cannot_knock(hs):
    """A banned user's knock is refused with 403.

    Spec: client-server-api/#post_matrixclientv3knockroomidoralias — 403 when the user
    has been banned; rooms/v7+ rule 4.6.4: a banned sender cannot knock.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    alice.ban(room, bob)
    expect_error(_knock(bob, room), 403)
    assert _membership(alice, room, bob) == "ban"


def test_ban_denies_a_knock_and_blocks_knocking_again(hs):
    """Banning a knocker denies the knock, and the banned user cannot knock again.

    Spec: client-server-api/#knocking-on-rooms — a knock may be denied with /ban;
    rooms/v7+ rule 4.6.4: a banned user cannot knock.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    expect_ok(_knock(bob, room), f"knock on {room}")
    alice.ban(room, bob)
    assert _membership(alice, room, bob) == "ban"
    expect_error(_knock(bob, room), 403)


@pytest.mark.parametrize("membership", [
    pytest.param("join", id="already-joined"),
    pytest.param("invite", id="already-invited"),
])
def test_member_or_invitee_cannot_knock(hs, membership):
    """Users who are already in the room, or invited to it, cannot knock.

    Spec: client-server-api/#knocking-on-rooms — users currently in the room or already
    invited cannot knock; rooms/v7+ rule 4.6.4. The endpoint answers 403.
    """
    alice, bob = hs.register(), hs.register()
    room = _knock_room(alice)
    alice.invite(room, bob)
    if membership == "join":
        bob.join(room)
    expect_error(_knock(bob, room), 403)
    assert _membership(alice, room, bob) == membership


def test_accepting_a_knock_needs_invite_power(hs):
    """A member below the invite level cannot accept a knock.

    Spec: client-server-api/#knocking-on-rooms — to accept a knock the user must have
    permission to invite; rooms/v7+ rule 4.3.4/4.3.5: an invite needs the invite level.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = _knock_room(alice, power_level_content_override={"invite": 50})
    alice.invite(room, carol)
    carol.join(room)
    expect_ok(_knock(bob, room), f"knock on {room}")
    response = carol.do("POST", ["rooms", room, "invite"], json={"user_id": bob.user_id})
    expect_error(response, 403, "M_FORBIDDEN")
    assert _membership(alice, room, bob) == "knock"


def test_denying_a_knock_needs_kick_power(hs):
    """A member below the kick level cannot deny a knock.

    Spec: client-server-api/#knocking-on-rooms — to reject a knock the user needs
    permission to kick; rooms/v7+ rule 4.5.4: a kick needs the kick level.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = _knock_room(alice, power_level_content_override={"kick": 50})
    alice.invite(room, carol)
    carol.join(room)
    expect_ok(_knock(bob, room), f"knock on {room}")
    response = carol.do("POST", ["rooms", room, "kick"], json={"user_id": bob.user_id})
    expect_error(response, 403, "M_FORBIDDEN")
    assert _membership(alice, room, bob) == "knock"


def _invited_or_joined(room: str) -> Check:
    """The room is under `rooms.invite` or `rooms.join` (an auto-accepted invite)."""
    def test(body: dict) -> str | None:
        rooms = body.get("rooms") or {}
        if any(room in (rooms.get(section) or {}) for section in ("invite", "join")):
            return None
        return f"{room} is in neither rooms.invite nor rooms.join"
    return Check(f"{room} in rooms.invite or rooms.join", test)


def _members_with(observer, room: str, membership: str) -> list[str]:
    return [e["state_key"] for e in observer.room_state(room)
            if e["type"] == "m.room.member" and e["content"].get("membership") == membership]
