# SPDX-License-Identifier: Apache-2.0
"""Power levels as the authorization rules enforce them, through the client API.

Covers the levels an `m.room.power_levels` event sets (`events_default`, `state_default`,
per-type `events`, `invite`, `kick`, `ban`, `redact`, `users_default`), the rules for
changing power levels (never above one's own level, never touching users at or above
it), integer-only levels from room v10, and room v12's creators, whose power level is
unlimited and who never appear in `users`.

A refused event is answered 403 M_FORBIDDEN (room_state.yaml and room_send.yaml: the
sender lacks permission). Where a malformed power levels event could also be refused
by the server's own validation first, 400 M_BAD_JSON is accepted as well.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok, expect_one_error

REFUSED = (403, "M_FORBIDDEN")
MALFORMED = (400, "M_BAD_JSON")
MAX_POWER_LEVEL = 2**53 - 1  # appendices/#canonical-json: the largest integer allowed


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def versions(*numbers: str) -> list:
    return [pytest.param(n, id=f"v{n}") for n in numbers]


def changed_levels(client, room: str, *, users: dict | None = None,
                   events: dict | None = None, **named) -> dict:
    """The room's current power levels with these entries added or replaced."""
    levels = client.get_state(room, "m.room.power_levels")
    if users is not None:
        levels["users"] = {**levels.get("users", {}), **users}
    if events is not None:
        levels["events"] = {**levels.get("events", {}), **events}
    levels.update(named)
    return levels


def set_levels(client, room: str, **changes) -> None:
    """Rewrites the power levels with `changes` (see `changed_levels`); must succeed."""
    client.send_state(room, "m.room.power_levels", changed_levels(client, room, **changes))


def put_levels(client, room: str, levels: dict):
    """Sends this power levels content, raw: for the refusals."""
    return client.do("PUT", ["rooms", room, "state", "m.room.power_levels", ""], json=levels)


def send_raw(client, room: str, event_type: str, content: dict, txn: str):
    return client.do("PUT", ["rooms", room, "send", event_type, txn], json=content)


def state_raw(client, room: str, event_type: str, content: dict, state_key: str = ""):
    return client.do("PUT", ["rooms", room, "state", event_type, state_key], json=content)


def public_room(hs, *members, version: str | None = None):
    """Alice's public room (of `version`, if given) with `members` more fresh users joined."""
    alice = hs.register()
    body = {"preset": "public_chat"}
    if version is not None:
        body["room_version"] = version
    room = alice.create_room(**body)
    users = [hs.register() for _ in range(members[0] if members else 0)]
    for user in users:
        user.join(room)
    return room, alice, users


# -- sending events: events_default, state_default and per-type levels ------------------


def test_events_default_gates_message_events(hs):
    """Raising `events_default` above a member's level stops their messages, not others'.

    Spec: rooms/v12 authorization rules 8 and client-server-api/#mroompower_levels — a
    message event needs `events_default` unless `events` names its type; a sender below
    the required level is refused (403 M_FORBIDDEN).
    """
    room, alice, (bob, carol) = public_room(hs, 2)
    set_levels(alice, room, events_default=20, users={carol.user_id: 20})
    expect_error(send_raw(bob, room, "m.room.message", text("muted"), "t1"), *REFUSED)
    carol.send(room, text("carol is at the level"))


def test_state_default_gates_state_events(hs):
    """A state event type without its own entry needs `state_default`.

    Spec: rooms/v12 authorization rule 8 and client-server-api/#mroompower_levels — state
    events default to `state_default`; lowering it to 0 lets ordinary members set state
    of any type not named in `events`.
    """
    room, alice, (bob,) = public_room(hs, 1)
    expect_error(state_raw(bob, room, "org.example.setting", {"on": True}), *REFUSED)
    set_levels(alice, room, state_default=0)
    bob.send_state(room, "org.example.setting", {"on": True})
    assert alice.get_state(room, "org.example.setting") == {"on": True}


def test_events_entry_overrides_events_default_for_its_type(hs):
    """An `events` entry raises one message type's level; other types keep the default.

    Spec: client-server-api/#mroompower_levels — `events` maps an event type to the level
    it needs, overriding `events_default`.
    """
    room, alice, (bob,) = public_room(hs, 1)
    set_levels(alice, room, events={"m.room.message": 50}, events_default=0)
    expect_error(send_raw(bob, room, "m.room.message", text("no"), "t1"), *REFUSED)
    bob.send(room, {"body": "still allowed"}, event_type="org.example.ping")


def test_events_entry_overrides_state_default_for_its_type(hs):
    """An `events` entry can lower one state type below `state_default`.

    Spec: client-server-api/#mroompower_levels — the `events` entry for a type wins over
    `state_default`, so members may set that state while other types stay closed.
    """
    room, alice, (bob,) = public_room(hs, 1)
    set_levels(alice, room, events={"org.example.open": 0}, state_default=50)
    bob.send_state(room, "org.example.open", {"by": "bob"})
    expect_error(state_raw(bob, room, "org.example.closed", {"by": "bob"}), *REFUSED)


def test_membership_events_ignore_event_and_state_levels(hs):
    """Raising `events_default` and `state_default` does not stop joining or leaving.

    Spec: client-server-api/#mroompower_levels — membership events are not subject to
    `events`, `events_default` or `state_default`; rooms/v12 rule 5 decides them alone.
    """
    room, alice, (bob,) = public_room(hs, 1)
    set_levels(alice, room, events_default=100, state_default=100)
    carol = hs.register()
    carol.join(room)
    bob.leave(room)
    assert alice.get_state(room, "m.room.member", carol.user_id)["membership"] == "join"
    assert alice.get_state(room, "m.room.member", bob.user_id)["membership"] == "leave"


def test_users_default_applies_to_members_not_listed(hs):
    """A member missing from `users` has the `users_default` level.

    Spec: client-server-api/#mroompower_levels — users not named in `users` have
    `users_default`; with it at 50 they meet the default `state_default`.
    """
    room, alice, (bob,) = public_room(hs, 1)
    expect_error(state_raw(bob, room, "org.example.notes", {"n": 1}), *REFUSED)
    set_levels(alice, room, users_default=50)
    bob.send_state(room, "org.example.notes", {"n": 1})


def test_state_keyed_to_another_user_is_refused(hs):
    """Even a room admin cannot set state whose key is another user's ID.

    Spec: rooms/v12 authorization rule 9 — an event whose `state_key` starts with `@`
    and is not the sender's ID is rejected; the sender's own ID is accepted.
    """
    room, alice, (bob,) = public_room(hs, 1)
    expect_error(state_raw(alice, room, "org.example.profile", {"x": 1}, bob.user_id),
                 *REFUSED)
    alice.send_state(room, "org.example.profile", {"x": 1}, state_key=alice.user_id)


# -- the named levels: invite, kick, ban, redact ----------------------------------------


def test_invite_level_gates_invites(hs):
    """Only members at or above the `invite` level may invite.

    Spec: rooms/v12 authorization rule 5.4.4 — an invite is allowed when the sender's
    level is at least the invite level (0 unless set).
    """
    alice, bob, carol, dave = (hs.register() for _ in range(4))
    room = alice.create_room(preset="private_chat")
    alice.invite(room, bob)
    bob.join(room)
    set_levels(alice, room, invite=0)
    bob.invite(room, carol)
    set_levels(alice, room, invite=50)
    expect_error(bob.do("POST", ["rooms", room, "invite"], json={"user_id": dave.user_id}),
                 *REFUSED)


def test_kick_needs_a_level_above_the_target(hs):
    """At the kick level a member still cannot kick someone at their own level.

    Spec: rooms/v12 authorization rule 5.5.4 — a kick is allowed only when the sender
    has the kick level and the target's level is below the sender's.
    """
    room, alice, (bob, carol, dave) = public_room(hs, 3)
    set_levels(alice, room, kick=10, users={bob.user_id: 10, carol.user_id: 10})
    expect_error(bob.do("POST", ["rooms", room, "kick"], json={"user_id": carol.user_id}),
                 *REFUSED)
    bob.kick(room, dave)
    assert alice.get_state(room, "m.room.member", dave.user_id)["membership"] == "leave"


def test_ban_level_can_be_lowered(hs):
    """A member at a lowered `ban` level may ban members below them.

    Spec: rooms/v12 authorization rule 5.6.2 — a ban is allowed when the sender has the
    ban level and the target's level is below the sender's.
    """
    room, alice, (bob, carol) = public_room(hs, 2)
    expect_error(bob.do("POST", ["rooms", room, "ban"], json={"user_id": carol.user_id}),
                 *REFUSED)
    set_levels(alice, room, ban=10, users={bob.user_id: 10})
    bob.ban(room, carol)
    assert alice.get_state(room, "m.room.member", carol.user_id)["membership"] == "ban"


def test_unban_needs_the_kick_level_too(hs):
    """A member with the ban level but below the kick level can ban yet not unban.

    Spec: rooms/v12 authorization rules 5.5.3-5.5.4 — lifting a ban is a `leave` for the
    banned user, which needs the ban level and then the kick level as well.
    """
    room, alice, (bob, carol) = public_room(hs, 2)
    set_levels(alice, room, ban=10, kick=50, users={bob.user_id: 10})
    bob.ban(room, carol)
    expect_error(bob.do("POST", ["rooms", room, "unban"], json={"user_id": carol.user_id}),
                 *REFUSED)
    alice.unban(room, carol)


def test_redact_level_lowered_lets_members_redact_others(hs):
    """With `redact` at 0 an ordinary member may redact another user's event.

    Spec: client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid and
    rooms/v12 "Handling redactions" — a redaction of someone else's event is applied
    when the sender's level is at least the `redact` level.
    """
    room, alice, (bob,) = public_room(hs, 1)
    event_id = alice.send(room, text("anyone may remove this"))
    set_levels(alice, room, redact=0)
    bob.redact(room, event_id)
    assert alice.event(room, event_id)["content"] == {}, "bob's redaction had no effect"


def test_redact_level_above_member_still_allows_own_redactions(hs):
    """A moderator below a raised `redact` level can redact their own events only.

    Spec: client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid — the
    `redact` level governs other users' events; one's own events stay redactable.
    """
    room, alice, (bob,) = public_room(hs, 1)
    set_levels(alice, room, redact=100, users={bob.user_id: 50})
    own = bob.send(room, text("bob's own"))
    others = alice.send(room, text("alice's"))
    bob.redact(room, own)
    response = bob.do("PUT", ["rooms", room, "redact", others, "t-r"], json={})
    expect_error(response, *REFUSED)
    assert alice.event(room, others)["content"] == text("alice's")


# -- changing power levels ----------------------------------------------------------------


def moderated_room(hs, version: str | None = None):
    """A room where Bob is a moderator (50) allowed to send power levels (needs 50)."""
    room, alice, (bob, carol) = public_room(hs, 2, version=version)
    set_levels(alice, room, users={bob.user_id: 50}, events={"m.room.power_levels": 50})
    return room, alice, bob, carol


# One row per kind of entry rule 10 guards against a sender raising above their level.
@pytest.mark.parametrize("change", [
    pytest.param(lambda carol: {"users": {carol: 51}}, id="user-above-own"),
    pytest.param(lambda carol: {"users_default": 51}, id="users-default-above-own"),
    pytest.param(lambda carol: {"ban": 51}, id="named-level-above-own"),
    pytest.param(lambda carol: {"events": {"org.example.x": 51}}, id="events-entry-above-own"),
])
def test_cannot_set_levels_above_own(hs, change):
    """A moderator cannot set any level higher than their own power level.

    Spec: rooms/v12 authorization rules 10.6.2, 10.8.1 and 10.10.1 — a new value above
    the sender's current level, in the named levels, `events` or `users`, is rejected.
    """
    room, alice, bob, carol = moderated_room(hs)
    wanted = change(carol.user_id)
    levels = changed_levels(bob, room, users=wanted.pop("users", None),
                            events=wanted.pop("events", None), **wanted)
    expect_error(put_levels(bob, room, levels), *REFUSED)


def test_can_raise_a_user_up_to_own_level(hs):
    """A moderator may give another member exactly their own level.

    Spec: client-server-api/#permissions — users can grant others power up to their own
    level (rooms/v12 rule 10.10 rejects only values above it).
    """
    room, alice, bob, carol = moderated_room(hs)
    set_levels(bob, room, users={carol.user_id: 50})
    assert alice.get_state(room, "m.room.power_levels")["users"][carol.user_id] == 50


@pytest.mark.parametrize("target_level", [
    pytest.param(50, id="equal-level"),
    pytest.param(75, id="higher-level"),
])
@pytest.mark.parametrize("new_value", [
    pytest.param(0, id="demote"),
    pytest.param(None, id="remove-entry"),
])
def test_cannot_change_users_at_or_above_own_level(hs, target_level, new_value):
    """A moderator cannot lower or remove a user whose level is at least their own.

    Spec: rooms/v12 authorization rule 10.9.1 — changing or removing another user's
    entry is rejected when its current value is greater than or equal to the sender's.
    """
    room, alice, bob, carol = moderated_room(hs)
    set_levels(alice, room, users={carol.user_id: target_level})
    levels = bob.get_state(room, "m.room.power_levels")
    if new_value is None:
        del levels["users"][carol.user_id]
    else:
        levels["users"][carol.user_id] = new_value
    expect_error(put_levels(bob, room, levels), *REFUSED)


def test_can_change_users_below_own_level(hs):
    """A moderator may demote and remove users below their level.

    Spec: rooms/v12 authorization rules 10.9-10.10 — entries whose current and new values
    are not above the sender's (and current below it) may change.
    """
    room, alice, bob, carol = moderated_room(hs)
    set_levels(alice, room, users={carol.user_id: 49})
    set_levels(bob, room, users={carol.user_id: 10})
    levels = bob.get_state(room, "m.room.power_levels")
    del levels["users"][carol.user_id]
    bob.send_state(room, "m.room.power_levels", levels)
    assert carol.user_id not in alice.get_state(room, "m.room.power_levels").get("users", {})


def test_user_may_lower_own_level(hs):
    """A user may demote themselves, although their entry equals their own level.

    Spec: rooms/v12 authorization rule 10.9 — the at-or-above check skips the sender's
    own entry.
    """
    room, alice, bob, carol = moderated_room(hs)
    set_levels(bob, room, users={bob.user_id: 10})
    assert alice.get_state(room, "m.room.power_levels")["users"][bob.user_id] == 10


def test_cannot_change_a_level_currently_above_own(hs):
    """A moderator cannot lower a level that currently exceeds their own.

    Spec: rooms/v12 authorization rules 10.6.1 and 10.7.1 — an alteration is rejected
    when the current value is higher than the sender's level, even if the new one is not.
    """
    room, alice, bob, carol = moderated_room(hs)
    set_levels(alice, room, kick=75, events={"org.example.guarded": 75})
    expect_error(put_levels(bob, room, changed_levels(bob, room, kick=50)), *REFUSED)
    levels = changed_levels(bob, room, events={"org.example.guarded": 50})
    expect_error(put_levels(bob, room, levels), *REFUSED)


# -- integer power levels (room v10 onwards) ------------------------------------------------


@pytest.mark.parametrize("version", versions("10", "11", "12"))
@pytest.mark.parametrize("where", [
    pytest.param("named", id="named-level"),
    pytest.param("events", id="events-entry"),
    pytest.param("users", id="users-entry"),
])
def test_string_power_levels_rejected_from_v10(hs, version, where):
    """From room v10 a power level written as a string is not accepted.

    Spec: rooms/v10 ("power level values be integers") and rooms/v12 authorization rules
    10.1-10.3 — the event is rejected, which the client API reports as 403 M_FORBIDDEN;
    a server validating the content before the auth rules may answer 400 M_BAD_JSON.
    """
    room, alice, (bob,) = public_room(hs, 1, version=version)
    if where == "named":
        levels = changed_levels(alice, room, ban="50")
    elif where == "events":
        levels = changed_levels(alice, room, events={"org.example.x": "50"})
    else:
        levels = changed_levels(alice, room, users={bob.user_id: "50"})
    expect_one_error(put_levels(alice, room, levels), REFUSED, MALFORMED)
    assert bob.user_id not in alice.get_state(room, "m.room.power_levels").get("users", {})


# -- room creators (room v12) ----------------------------------------------------------------


@pytest.mark.parametrize("version,listed", [
    pytest.param("11", True, id="v11"),
    pytest.param("12", False, id="v12"),
])
def test_creator_listing_in_initial_power_levels(hs, version, listed):
    """Up to v11 the creator is given 100 in `users`; from v12 the creator is not listed.

    Spec: client-server-api/#post_matrixclientv3createroom step 3 — in rooms v1-v11 the
    creator gets the power to send state (level 100); in v12 creators have infinite
    power and are not listed in `users`.
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    users = alice.get_state(room, "m.room.power_levels").get("users", {})
    if listed:
        assert users.get(alice.user_id) == 100, f"v{version}: the creator should be at 100: {users}"
    else:
        assert alice.user_id not in users, f"v12: the creator must not be in users: {users}"


def test_v12_tombstone_level_is_above_state_default(hs):
    """A new v12 room explicitly requires more than `state_default` for tombstones.

    Spec: client-server-api/#post_matrixclientv3createroom step 3 — from room v12 the
    level for `m.room.tombstone` MUST be set explicitly, higher than `state_default`.
    """
    alice = hs.register()
    room = alice.create_room(room_version="12")
    levels = alice.get_state(room, "m.room.power_levels")
    tombstone = levels.get("events", {}).get("m.room.tombstone")
    assert isinstance(tombstone, int), f"no explicit m.room.tombstone level: {levels}"
    assert tombstone > levels.get("state_default", 50), (
        f"m.room.tombstone level {tombstone} is not above state_default: {levels}")


@pytest.mark.parametrize("version,allowed", [
    pytest.param("11", False, id="v11"),
    pytest.param("12", True, id="v12"),
])
def test_creator_may_grant_any_level_only_from_v12(hs, version, allowed):
    """A v12 creator may grant levels above 100; a v11 creator (at 100) may not.

    Spec: client-server-api/#permissions — a user grants at most their own level, or
    the largest integer the room allows when their level is infinite (v12 creators).
    """
    room, alice, (bob,) = public_room(hs, 1, version=version)
    levels = changed_levels(alice, room, users={bob.user_id: MAX_POWER_LEVEL})
    response = put_levels(alice, room, levels)
    if allowed:
        expect_ok(response, "grant the largest power level as a v12 creator")
    else:
        expect_error(response, *REFUSED)


@pytest.mark.parametrize("who", [
    pytest.param("sender", id="create-sender"),
    pytest.param("additional", id="additional-creator"),
])
def test_v12_power_levels_may_not_list_a_creator(hs, who):
    """In v12 a power levels event naming a room creator in `users` is rejected.

    Spec: rooms/v12 authorization rule 10.4 — `users` containing the create event's
    sender or one of its `additional_creators` is rejected (403 M_FORBIDDEN; 400
    M_BAD_JSON if the server refuses the content before the auth rules).
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version="12", preset="public_chat",
                             creation_content={"additional_creators": [bob.user_id]})
    bob.join(room)
    creator = alice if who == "sender" else bob
    levels = changed_levels(alice, room, users={creator.user_id: 100})
    expect_one_error(put_levels(alice, room, levels), REFUSED, MALFORMED)
    assert creator.user_id not in alice.get_state(room, "m.room.power_levels").get("users", {})


def test_v12_additional_creators_are_creators(hs):
    """Users in `additional_creators` of a v12 room act with unlimited power.

    Spec: client-server-api/#post_matrixclientv3createroom (creation_content) and
    rooms/v12 — creators are the create event's sender plus `additional_creators`;
    their power level is infinitely high, so an additional creator who is not in
    `users` may still change the power levels.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(room_version="12", preset="public_chat",
                             creation_content={"additional_creators": [bob.user_id]})
    create = alice.get_state(room, "m.room.create")
    assert create.get("additional_creators") == [bob.user_id], f"create content: {create}"
    bob.join(room)
    carol.join(room)
    set_levels(bob, room, users={carol.user_id: MAX_POWER_LEVEL})
    assert alice.get_state(room, "m.room.power_levels")["users"][carol.user_id] == MAX_POWER_LEVEL


def test_v12_creator_cannot_be_kicked_by_an_admin(hs):
    """In v12 even a member at the highest integer level cannot kick a room creator.

    Spec: rooms/v12 authorization rule 5.5.4 and "room creators have infinitely high
    power level" — the target's level must be below the sender's, which a creator's
    never is.
    """
    room, alice, (bob,) = public_room(hs, 1, version="12")
    set_levels(alice, room, users={bob.user_id: MAX_POWER_LEVEL})
    expect_error(bob.do("POST", ["rooms", room, "kick"], json={"user_id": alice.user_id}),
                 *REFUSED)
    assert bob.get_state(room, "m.room.member", alice.user_id)["membership"] == "join"


def test_v11_creator_level_is_an_ordinary_level(hs):
    """Before v12 the creator's 100 is an ordinary level: an equal cannot lower it, the
    creator can.

    Spec: client-server-api/#permissions — in room versions 1-11 the creator's default
    100 can be changed by power levels events under the same rules as anyone's (rules
    10.9: not by an equal; the sender's own entry is exempt).
    """
    room, alice, (bob,) = public_room(hs, 1, version="11")
    set_levels(alice, room, users={bob.user_id: 100})
    levels = changed_levels(bob, room, users={alice.user_id: 0})
    expect_error(put_levels(bob, room, levels), *REFUSED)
    set_levels(alice, room, users={alice.user_id: 50})
    assert bob.get_state(room, "m.room.power_levels")["users"][alice.user_id] == 50
