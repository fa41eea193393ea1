# SPDX-License-Identifier: Apache-2.0
"""Room upgrades: POST /rooms/{roomId}/upgrade.

Spec: client-server-api/#room-upgrades (api/client-server/room_upgrades.yaml) and its
"Server behaviour" steps: check the power to send m.room.tombstone, create the
replacement room with `predecessor`, carry state over (the list is a recommendation),
move local aliases, tombstone the old room and, if possible, restrict its power levels.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.assertions import expect_one_error
from tests.harness.checks import expect_error, expect_ok, state_has, timeline_has
from tests.harness.rooms import require_room_version, versions


def _upgrade(client, room: str, version: str, **extra):
    return client.do("POST", ["rooms", room, "upgrade"], json={"new_version": version, **extra})


def _upgraded(client, room: str, version: str, **extra) -> str:
    """Upgrades the room (strictly) and returns the replacement room's ID."""
    require_room_version(client, version)
    body = expect_ok(_upgrade(client, room, version, **extra), f"upgrade {room} to v{version}")
    return body["replacement_room"]


def _create(client, replacement: str) -> dict:
    return client.get_state(replacement, "m.room.create")


def test_upgrade_tombstones_the_old_room(hs):
    """The old room gets an m.room.tombstone naming the replacement room.

    Spec: client-server-api/#room-upgrades (server behaviour, step 5) — the server sends
    m.room.tombstone to the old room; its `replacement_room` is the new room's ID and
    `body` is required.
    """
    alice = hs.register()
    room = alice.create_room(room_version="10")
    replacement = _upgraded(alice, room, "11")
    assert replacement != room, "the replacement room is the old room itself"
    tombstone = alice.get_state(room, "m.room.tombstone")
    assert tombstone["replacement_room"] == replacement, f"tombstone: {tombstone}"
    assert isinstance(tombstone["body"], str), f"tombstone without a string body: {tombstone}"


@pytest.mark.parametrize("version", versions(1))
def test_replacement_room_names_predecessor_and_version(hs, version):
    """The replacement's m.room.create names the old room and has the requested version.

    Spec: client-server-api/#room-upgrades (server behaviour, step 2) — the new room's
    m.room.create has a `predecessor` (its `room_id` is the old room) and the requested
    `room_version`.
    """
    alice = hs.register()
    room = alice.create_room()
    replacement = _upgraded(alice, room, version)
    create = _create(alice, replacement)
    assert create.get("room_version", "1") == version, f"m.room.create content: {create}"
    assert create.get("predecessor", {}).get("room_id") == room, f"m.room.create: {create}"


@pytest.mark.parametrize("old, new", [
    pytest.param(str(v), str(v + 1), id=f"v{v}-to-v{v + 1}") for v in range(1, 12)
])
def test_upgrade_between_consecutive_versions(hs, old, new):
    """A room of each version upgrades to the next version, and the upgrader can use it.

    Spec: client-server-api/#room-upgrades — the replacement room is created by the
    upgrading user, who can then send events there; from v12 the creator's power comes
    from being a creator, and rooms/v12 rejects power levels listing a creator in `users`.
    """
    alice = hs.register()
    require_room_version(alice, old)
    room = alice.create_room(room_version=old, preset="public_chat", name="Old room")
    replacement = _upgraded(alice, room, new)
    assert _create(alice, replacement).get("room_version", "1") == new
    event_id = alice.send(replacement, {"msgtype": "m.text", "body": f"hello v{new}"})
    alice.send_state(replacement, "m.room.topic", {"topic": "upgraded"})
    alice.sync_until(timeline_has(replacement, event_id))
    if int(new) >= 12:
        users = alice.get_state(replacement, "m.room.power_levels").get("users", {})
        assert alice.user_id not in users, f"a v{new} creator is listed in users: {users}"


TRANSFERRED = [
    pytest.param("m.room.name", {"name": "Upgraded room"}, id="name"),
    pytest.param("m.room.topic", {"topic": "What we talk about"}, id="topic"),
    pytest.param("m.room.avatar", {"url": "mxc://example.org/avatar"}, id="avatar"),
    pytest.param("m.room.join_rules", {"join_rule": "invite"}, id="join-rules"),
    pytest.param("m.room.history_visibility", {"history_visibility": "joined"},
                 id="history-visibility"),
    pytest.param("m.room.guest_access", {"guest_access": "can_join"}, id="guest-access"),
    pytest.param("m.room.server_acl", {"allow": ["*"], "deny": ["evil.example.org"],
                                       "allow_ip_literals": True}, id="server-acl"),
    pytest.param("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}, id="encryption"),
]


@pytest.mark.parametrize("event_type, content", TRANSFERRED)
def test_upgrade_carries_recommended_state_over(hs, event_type, content):
    """State the spec recommends transferring appears, unchanged, in the replacement room.

    Spec: client-server-api/#room-upgrades (server behaviour, step 3) — the server
    replicates transferable state; the recommended list is server ACL, encryption, name,
    avatar, topic, guest access, history visibility, join rules and power levels (a
    SHOULD-strength recommendation: the exact list is left to the implementation).
    """
    alice = hs.register()
    room = alice.create_room(room_version="10")
    alice.send_state(room, event_type, content)
    replacement = _upgraded(alice, room, "11")
    carried = alice.get_state(replacement, event_type)
    assert carried == content, f"{event_type} in the new room is {carried}, was {content}"


def test_upgrade_carries_power_levels_over(hs):
    """Customised power levels carry over to the replacement room.

    Spec: client-server-api/#room-upgrades (server behaviour, step 3) — m.room.power_levels
    is among the recommended state to transfer.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version="10", preset="public_chat")
    bob.join(room)
    levels = alice.get_state(room, "m.room.power_levels")
    levels.setdefault("users", {})[bob.user_id] = 42
    levels.setdefault("events", {})["org.example.custom"] = 77
    alice.send_state(room, "m.room.power_levels", levels)
    replacement = _upgraded(alice, room, "11")
    carried = alice.get_state(replacement, "m.room.power_levels")
    assert carried.get("users", {}).get(bob.user_id) == 42, f"power levels: {carried}"
    assert carried.get("events", {}).get("org.example.custom") == 77, f"power levels: {carried}"


def test_upgrade_moves_local_aliases(hs):
    """A local alias of the old room points to the replacement room after the upgrade.

    Spec: client-server-api/#room-upgrades (server behaviour, step 4) — the server moves
    any local aliases to the new room.
    """
    alice = hs.register()
    localpart = f"upgraded-{secrets.token_hex(6)}"
    alias = f"#{localpart}:{hs.server_name}"
    room = alice.create_room(room_version="10", room_alias_name=localpart)
    replacement = _upgraded(alice, room, "11")
    resolved = expect_ok(alice.do("GET", ["directory", "room", alias]), f"resolve {alias}")
    assert resolved["room_id"] == replacement, f"{alias} resolves to {resolved['room_id']}"


def test_member_sees_the_tombstone(hs):
    """Members of the old room receive the tombstone through /sync.

    Spec: client-server-api/#room-upgrades — the tombstone is a state event sent to the old
    room so that clients can tell users the room was replaced.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version="10", preset="public_chat")
    bob.join(room)
    replacement = _upgraded(alice, room, "11")
    bob.sync_until(state_has(room, "m.room.tombstone", predicate=lambda e: (
        e["content"].get("replacement_room") == replacement)))


def test_memberships_are_not_transferred(hs):
    """Members of the old room are not made members of the new one; they join themselves.

    Spec: client-server-api/#room-upgrades (server behaviour, step 3) — membership events
    should not be transferred; a carried-over public join rule lets members follow.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version="10", preset="public_chat")
    bob.join(room)
    replacement = _upgraded(alice, room, "11")
    members = [e["state_key"] for e in alice.room_state(replacement)
               if e["type"] == "m.room.member" and e["content"].get("membership") == "join"]
    assert bob.user_id not in members, f"bob was joined to the new room for him: {members}"
    assert bob.join(replacement) == replacement


def test_old_room_is_restricted_after_upgrade(hs):
    """After an upgrade, ordinary members of the old room can no longer talk or invite.

    Spec: client-server-api/#room-upgrades (server behaviour, step 6) — if possible the old
    room's power levels should be changed to prevent sending events and inviting (for
    example events_default and invite raised to max(50, users_default + 1)). A SHOULD.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(room_version="10", preset="public_chat")
    bob.join(room)
    bob.send(room, {"msgtype": "m.text", "body": "before the upgrade"})
    _upgraded(alice, room, "11")
    send = bob.do("PUT", ["rooms", room, "send", "m.room.message", secrets.token_hex(6)],
                  json={"msgtype": "m.text", "body": "after the upgrade"})
    expect_error(send, 403, "M_FORBIDDEN")
    invite = bob.do("POST", ["rooms", room, "invite"], json={"user_id": carol.user_id})
    expect_error(invite, 403, "M_FORBIDDEN")


def test_user_without_tombstone_power_cannot_upgrade(hs):
    """A member without the power to send m.room.tombstone cannot upgrade the room.

    Spec: client-server-api/#post_matrixclientv3roomsroomidupgrade — 403 when the user is
    not permitted to upgrade; server behaviour step 1: check the power to send the
    tombstone.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version="10", preset="public_chat",
                             power_level_content_override={"events": {"m.room.tombstone": 100}})
    bob.join(room)
    expect_error(_upgrade(bob, room, "11"), 403, "M_FORBIDDEN")
    tombstones = [e for e in alice.room_state(room) if e["type"] == "m.room.tombstone"]
    assert not tombstones, f"the refused upgrade tombstoned the room: {tombstones}"


def test_member_granted_tombstone_power_can_upgrade(hs):
    """Any member with the power to send m.room.tombstone may upgrade, not only the creator.

    Spec: client-server-api/#room-upgrades (server behaviour, step 1) — the permission
    checked is the power to send m.room.tombstone.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version="10", preset="public_chat")
    bob.join(room)
    levels = alice.get_state(room, "m.room.power_levels")
    levels.setdefault("users", {})[bob.user_id] = 100
    alice.send_state(room, "m.room.power_levels", levels)
    replacement = _upgraded(bob, room, "11")
    assert alice.get_state(room, "m.room.tombstone")["replacement_room"] == replacement


def test_non_member_cannot_upgrade(hs):
    """A user who is not in the room cannot upgrade it.

    Spec: client-server-api/#post_matrixclientv3roomsroomidupgrade — 403 when the user is
    not permitted to upgrade the room (a non-member cannot send the tombstone).
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(room_version="10", preset="public_chat")
    expect_error(_upgrade(mallory, room, "11"), 403, "M_FORBIDDEN")


def test_unknown_room_version_is_refused(hs):
    """Upgrading to a room version the server does not support fails with 400.

    Spec: client-server-api/#post_matrixclientv3roomsroomidupgrade — 400
    M_UNSUPPORTED_ROOM_VERSION when the requested version is not supported.
    """
    alice = hs.register()
    room = alice.create_room()
    response = _upgrade(alice, room, f"no-such-version-{secrets.token_hex(3)}")
    expect_error(response, 400, "M_UNSUPPORTED_ROOM_VERSION")
    tombstones = [e for e in alice.room_state(room) if e["type"] == "m.room.tombstone"]
    assert not tombstones, f"the refused upgrade tombstoned the room: {tombstones}"


def test_upgrade_without_new_version_is_rejected(hs):
    """An upgrade request without `new_version` is refused with 400.

    Spec: client-server-api/#post_matrixclientv3roomsroomidupgrade — `new_version` is
    required; a missing required key is M_BAD_JSON or M_MISSING_PARAM
    (client-server-api/#common-error-codes), so either is accepted.
    """
    alice = hs.register()
    room = alice.create_room()
    response = alice.do("POST", ["rooms", room, "upgrade"], json={})
    expect_one_error(response, (400, "M_BAD_JSON"), (400, "M_MISSING_PARAM"))


@pytest.mark.parametrize("room_type", [
    pytest.param("m.space", id="space"),
    pytest.param(None, id="no-type"),
])
def test_room_type_is_copied(hs, room_type):
    """The replacement room has the old room's `type`, and none if the old had none.

    Spec: client-server-api/#room-upgrades (server behaviour, step 2, changed in v1.4) —
    `type` is copied from the predecessor; without one, none is set.
    """
    alice = hs.register()
    creation = {"type": room_type} if room_type else {}
    room = alice.create_room(room_version="10", creation_content=creation)
    create = _create(alice, _upgraded(alice, room, "11"))
    assert create.get("type") == room_type, f"old type {room_type!r}, new create: {create}"


@pytest.mark.spec("1.16")
def test_upgrade_to_v12_with_additional_creators(hs):
    """`additional_creators` become creators of a v12 replacement room.

    Spec: client-server-api/#post_matrixclientv3roomsroomidupgrade — for a room version
    with additional creators, the listed users are creators besides the upgrader
    (m.room.create `additional_creators`); rooms/v12: creators outrank everyone.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version="11", preset="public_chat")
    bob.join(room)
    replacement = _upgraded(alice, room, "12", additional_creators=[bob.user_id])
    create = _create(alice, replacement)
    assert create.get("additional_creators") == [bob.user_id], f"m.room.create: {create}"
    bob.join(replacement)
    bob.send_state(replacement, "m.room.topic", {"topic": "set by a creator"})


@pytest.mark.spec("1.16")
def test_additional_creators_are_not_carried_over_implicitly(hs):
    """Upgrading a v12 room does not copy its additional creators unless asked again.

    Spec: client-server-api/#room-upgrades (server behaviour, note added in v1.16) —
    additional creators are not transferred automatically; they must be set in the
    /upgrade request.
    """
    alice, bob = hs.register(), hs.register()
    require_room_version(alice, "12")
    room = alice.create_room(room_version="12", creation_content={
        "additional_creators": [bob.user_id]})
    replacement = _upgraded(alice, room, "12")
    create = _create(alice, replacement)
    assert bob.user_id not in create.get("additional_creators", []), f"m.room.create: {create}"


@pytest.mark.spec("1.16")
def test_additional_creators_are_ignored_below_v12(hs):
    """`additional_creators` has no effect when the new room version lacks them.

    Spec: client-server-api/#post_matrixclientv3roomsroomidupgrade — when upgrading to a
    room version without additional creators, the field is ignored.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(room_version="10", preset="public_chat")
    replacement = _upgraded(alice, room, "11", additional_creators=[bob.user_id])
    assert _create(alice, replacement).get("room_version") == "11"
    levels = alice.get_state(replacement, "m.room.power_levels")
    default = levels.get("users_default", 0)
    assert levels.get("users", {}).get(bob.user_id, default) == default, (
        f"bob was given power in the new room: {levels}")
