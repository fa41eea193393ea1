# SPDX-License-Identifier: Apache-2.0
"""Restricted rooms: joins allowed by membership of another room (`m.room_membership`).

Spec: client-server-api/#restricted-rooms, the `m.room.join_rules` event, and the join
rules of rooms/v8 and later (`restricted`) and rooms/v10 and later (`knock_restricted`).
A join the rules allow carries `join_authorised_via_users_server`: the auth rules reject
a restricted join without it, so a server that lets the user in must name a joined
member able to invite.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.assertions import expect_one_error
from tests.harness.checks import expect_error, expect_ok
from tests.harness.rooms import named_level, power_level, require_room_version, versions


def _allow(*rooms: str) -> list[dict]:
    return [{"type": "m.room_membership", "room_id": room} for room in rooms]


def _restricted_room(owner, version: str, allowed: list[str], rule: str = "restricted",
                     **body) -> str:
    """A room of this version with the join rule `rule` allowing members of `allowed`."""
    require_room_version(owner, version)
    content = {"join_rule": rule, "allow": _allow(*allowed)}
    return owner.create_room(room_version=version, initial_state=[
        {"type": "m.room.join_rules", "state_key": "", "content": content}], **body)


def _join(client, room: str):
    return client.do("POST", ["rooms", room, "join"], json={})


def _membership(observer, room: str, user) -> str | None:
    response = observer.do("GET", ["rooms", room, "state", "m.room.member", user.user_id])
    return response.json().get("membership") if response.status_code == 200 else None


def _assert_authorised_join(observer, room: str, joiner) -> None:
    """The joiner's join names a joined member who has the power to invite."""
    member = observer.get_state(room, "m.room.member", joiner.user_id)
    assert member["membership"] == "join", f"{joiner.user_id} is not joined: {member}"
    authoriser = member.get("join_authorised_via_users_server")
    assert isinstance(authoriser, str), (
        f"the restricted join has no join_authorised_via_users_server: {member}")
    authoriser_membership = observer.get_state(room, "m.room.member", authoriser)
    assert authoriser_membership["membership"] == "join", (
        f"the authorising user {authoriser} is not joined: {authoriser_membership}")
    needed = named_level(observer, room, "invite", 0)
    assert power_level(observer, room, authoriser) >= needed, (
        f"the authorising user {authoriser} is below the invite level {needed}")


@pytest.mark.parametrize("version", versions(8))
def test_member_of_allowed_room_can_join(hs, version):
    """A joined member of a room named in `allow` can join without an invite.

    Spec: client-server-api/#restricted-rooms — a user meeting an allow condition may
    join; rooms/v8 (and later) rule 4.3.5: the join is allowed when
    `join_authorised_via_users_server` names a joined user with the invite level.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    bob.join(space)
    room = _restricted_room(alice, version, [space])
    body = expect_ok(_join(bob, room), f"join the restricted room {room}")
    assert body["room_id"] == room, f"joined {body['room_id']}, asked for {room}"
    _assert_authorised_join(alice, room, bob)


@pytest.mark.parametrize("version", versions(8))
def test_non_member_of_allowed_room_cannot_join(hs, version):
    """A user who is in none of the allowed rooms cannot join a restricted room.

    Spec: client-server-api/#restricted-rooms — when no condition is satisfied the user
    will not be able to join; the join endpoint answers 403 M_FORBIDDEN.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    room = _restricted_room(alice, version, [space])
    expect_error(_join(bob, room), 403, "M_FORBIDDEN")
    assert _membership(alice, room, bob) != "join"


@pytest.mark.parametrize("version", versions(8))
def test_invited_user_joins_restricted_room_without_meeting_conditions(hs, version):
    """An invited user joins a restricted room whatever the allow conditions say.

    Spec: client-server-api/#restricted-rooms — restrictions do not affect a user with an
    invite; rooms/v8+ rule 4.3.5.1: with membership `invite` the join is allowed.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    room = _restricted_room(alice, version, [space])
    alice.invite(room, bob)
    assert bob.join(room) == room
    assert _membership(alice, room, bob) == "join"


@pytest.mark.parametrize("version", versions(10))
def test_knock_restricted_allows_restricted_join(hs, version):
    """In a `knock_restricted` room a member of an allowed room joins directly.

    Spec: client-server-api/#room-membership — `knock_restricted` can be joined as though
    it were `restricted`; rooms/v10+ rule 4.3.5: the join needs an authorising user.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    bob.join(space)
    room = _restricted_room(alice, version, [space], rule="knock_restricted")
    expect_ok(_join(bob, room), f"join the knock_restricted room {room}")
    _assert_authorised_join(alice, room, bob)


@pytest.mark.parametrize("version", versions(10))
def test_knock_restricted_refuses_join_to_outsiders(hs, version):
    """In a `knock_restricted` room, a user meeting no condition can knock but not join.

    Spec: client-server-api/#room-membership — a join without an invite applies the
    `restricted` rule, while knocking applies the `knock` rule.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    room = _restricted_room(alice, version, [space], rule="knock_restricted")
    expect_error(_join(bob, room), 403, "M_FORBIDDEN")
    expect_ok(bob.do("POST", ["knock", room], json={}), f"knock on {room}")
    assert _membership(alice, room, bob) == "knock"


@pytest.mark.parametrize("version", versions(1, 7))
def test_restricted_join_rule_is_not_honoured_before_v8(hs, version):
    """Before room version 8, `restricted` grants nothing: allowed-room members can't join.

    Spec: rooms/v1 … v7 join rules — a join is allowed for `public`, or for `invite`
    (and `knock`, v7) with an invite; any other join rule, `restricted` included (it
    only exists from v8), leads to rejection.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    bob.join(space)
    room = _restricted_room(alice, version, [space])
    expect_error(_join(bob, room), 403, "M_FORBIDDEN")
    assert _membership(alice, room, bob) != "join"


@pytest.mark.parametrize("version", versions(8, 9))
def test_knock_restricted_join_rule_is_not_honoured_before_v10(hs, version):
    """In room versions 8 and 9, `knock_restricted` does not let allowed-room members in.

    Spec: rooms/v8, v9 join rules — only `invite`/`knock` (with an invite), `restricted`
    and `public` can allow a join; `knock_restricted` arrives in v10, so it is rejected.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    bob.join(space)
    room = _restricted_room(alice, version, [space], rule="knock_restricted")
    expect_error(_join(bob, room), 403, "M_FORBIDDEN")


def test_member_of_any_allowed_room_can_join(hs):
    """Meeting one of several allow conditions is enough to join.

    Spec: client-server-api/#restricted-rooms — the server MUST verify that the user meets
    at least one of the conditions.
    """
    alice, bob = hs.register(), hs.register()
    first, second = alice.create_room(preset="public_chat"), alice.create_room(preset="public_chat")
    bob.join(second)
    room = _restricted_room(alice, "10", [first, second])
    expect_ok(_join(bob, room), f"join the restricted room {room}")
    _assert_authorised_join(alice, room, bob)


@pytest.mark.parametrize("relation", [
    pytest.param("invited", id="only-invited-to-allowed-room"),
    pytest.param("left", id="left-the-allowed-room"),
])
def test_condition_requires_being_joined_to_the_allowed_room(hs, relation):
    """`m.room_membership` is met only by a *joined* member of the allowed room.

    Spec: client-server-api/#restricted-rooms — the condition requires the user to be a
    joined member of the named room; being invited, or having left, is not enough.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    if relation == "invited":
        alice.invite(space, bob)
    else:
        bob.join(space)
        bob.leave(space)
    room = _restricted_room(alice, "10", [space])
    expect_error(_join(bob, room), 403, "M_FORBIDDEN")


def test_restricted_room_without_conditions_needs_an_invite(hs):
    """A restricted room whose `allow` list is empty can only be joined with an invite.

    Spec: client-server-api/#restricted-rooms — if no conditions can be verified the user
    can only join with an invite.
    """
    alice, bob = hs.register(), hs.register()
    room = _restricted_room(alice, "10", [])
    expect_error(_join(bob, room), 403, "M_FORBIDDEN")
    alice.invite(room, bob)
    assert bob.join(room) == room


def test_joined_user_stays_after_leaving_the_allowed_room(hs):
    """Leaving the allowed room later does not remove the user from the restricted room.

    Spec: client-server-api/#restricted-rooms — the conditions are only evaluated during
    the join; the user need not keep meeting them to stay a member.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    bob.join(space)
    room = _restricted_room(alice, "10", [space])
    expect_ok(_join(bob, room), f"join the restricted room {room}")
    bob.leave(space)
    assert _membership(alice, room, bob) == "join"
    bob.send(room, {"msgtype": "m.text", "body": "still here"})


def test_banned_user_cannot_join_restricted_room(hs):
    """A banned user cannot join a restricted room even while meeting its conditions.

    Spec: rooms/v8+ rule 4.3.3: if the sender is banned, the join is rejected. The join
    endpoints ask for "a meaningful errcode" with the 403: M_FORBIDDEN or M_BAD_STATE.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    bob.join(space)
    room = _restricted_room(alice, "10", [space])
    alice.ban(room, bob)
    expect_one_error(_join(bob, room), (403, "M_FORBIDDEN"), (403, "M_BAD_STATE"))
    assert _membership(alice, room, bob) == "ban"


def test_restricted_room_can_be_joined_by_alias(hs):
    """POST /join/{alias} works for a restricted room when the user meets a condition.

    Spec: client-server-api/#post_matrixclientv3joinroomidoralias together with
    client-server-api/#restricted-rooms — the join rules apply whichever way the room is
    named.
    """
    alice, bob = hs.register(), hs.register()
    space = alice.create_room(preset="public_chat")
    bob.join(space)
    localpart = f"restricted-{secrets.token_hex(6)}"
    room = _restricted_room(alice, "10", [space], room_alias_name=localpart)
    assert bob.join(f"#{localpart}:{hs.server_name}") == room
    _assert_authorised_join(alice, room, bob)


@pytest.mark.parametrize("version, rule", [
    pytest.param("6", "knock", id="v6-knock"),
    pytest.param("7", "restricted", id="v7-restricted"),
    pytest.param("9", "knock_restricted", id="v9-knock_restricted"),
    pytest.param("10", "org.example.custom", id="v10-unknown-rule"),
])
def test_join_rule_unknown_to_the_room_version_refuses_even_invitees(hs, version, rule):
    """A join rule the room version does not define lets nobody join, invited or not.

    Spec: rooms/v6 … v10 join authorization — an invite helps only under `invite` (and
    `knock` from v7, `restricted` from v8, `knock_restricted` from v10); `public` lets
    anyone in; any other join rule ends in "otherwise, reject".
    """
    alice, bob = hs.register(), hs.register()
    require_room_version(alice, version)
    room = alice.create_room(room_version=version, initial_state=[
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": rule}}])
    alice.invite(room, bob)
    expect_error(_join(bob, room), 403, "M_FORBIDDEN")
    assert _membership(alice, room, bob) == "invite"
