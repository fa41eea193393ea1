# SPDX-License-Identifier: Apache-2.0
"""Reading a room: its state, its members and single events.

Spec: client-server-api/#get_matrixclientv3roomsroomidstate and its siblings
(api/client-server/rooms.yaml).
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.checks import expect_error, expect_ok


def member_ids(events: list[dict]) -> set[str]:
    return {e["state_key"] for e in events}


def test_room_state_lists_the_current_state(hs):
    """GET /state returns the room's current state events, each in full.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstate — the state events of the
    current state of the room.
    """
    alice = hs.register()
    room = alice.create_room(preset="private_chat", name="Stateful")
    state = {(e["type"], e["state_key"]): e for e in alice.room_state(room)}
    for key in [("m.room.create", ""), ("m.room.member", alice.user_id),
                ("m.room.power_levels", ""), ("m.room.join_rules", ""),
                ("m.room.history_visibility", ""), ("m.room.name", "")]:
        assert key in state, f"{key} is not in the room state: {sorted(state)}"
    name = state[("m.room.name", "")]
    assert name["content"] == {"name": "Stateful"}, f"m.room.name: {name}"
    assert name["sender"] == alice.user_id and name["room_id"] == room, f"m.room.name: {name}"


def test_room_state_is_current_after_a_change(hs):
    """GET /state reflects the latest value of a state key, once.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstate — the current state, in
    which each (type, state_key) has one event.
    """
    alice = hs.register()
    room = alice.create_room(name="Before")
    alice.send_state(room, "m.room.name", {"name": "After"})
    names = [e for e in alice.room_state(room) if e["type"] == "m.room.name"]
    assert [e["content"] for e in names] == [{"name": "After"}], f"m.room.name state: {names}"


def test_state_event_content_by_type_and_key(hs):
    """GET /state/{type}/{key} returns the content of that state event.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstateeventtypestatekey — the
    content of the state event.
    """
    alice = hs.register()
    room = alice.create_room(topic="Content only")
    assert alice.get_state(room, "m.room.topic")["topic"] == "Content only"
    assert alice.get_state(room, "m.room.member", alice.user_id)["membership"] == "join"


@pytest.mark.spec("1.16")
def test_state_event_in_event_format(hs):
    """With `format=event`, GET /state/{type}/{key} returns the whole client event.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstateeventtypestatekey —
    `format` (added in 1.16): `event` returns the entire event, including event ID,
    sender and timestamp.
    """
    alice = hs.register()
    room = alice.create_room(topic="Whole")
    event = expect_ok(alice.do("GET", ["rooms", room, "state", "m.room.topic", ""],
                               params={"format": "event"}), "get m.room.topic as an event")
    assert event["type"] == "m.room.topic" and event["state_key"] == "", f"event: {event}"
    assert event["content"]["topic"] == "Whole" and event["sender"] == alice.user_id, event
    assert event["event_id"].startswith("$") and "origin_server_ts" in event, f"event: {event}"


@pytest.mark.parametrize(
    ("event_type", "state_key"),
    [
        pytest.param("m.room.topic", "", id="type-never-set"),
        pytest.param("org.example.unset", "some-key", id="custom-type-never-set"),
        pytest.param("m.room.member", "@nobody-here:example.org", id="key-never-set"),
    ],
)
def test_missing_state_is_not_found(hs, event_type, state_key):
    """Asking for state the room does not have answers 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstateeventtypestatekey — 404
    when the room has no state with the given type or key; M_NOT_FOUND is the standard
    errcode for a missing resource (client-server-api/#common-error-codes).
    """
    alice = hs.register()
    room = alice.create_room()
    response = alice.do("GET", ["rooms", room, "state", event_type, state_key])
    expect_error(response, 404, "M_NOT_FOUND")


def test_left_member_reads_state_as_of_leaving(hs):
    """After leaving, a user reads the room's state as it was when they left.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstateeventtypestatekey — if the
    user has left, the state is taken from when they left.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat", name="Old name")
    bob.join(room)
    bob.leave(room)
    alice.send_state(room, "m.room.name", {"name": "New name"})
    assert bob.get_state(room, "m.room.name")["name"] == "Old name"


def test_members_lists_member_events(hs):
    """GET /members returns the m.room.member events of the room's members.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmembers — the member list of
    the room, as m.room.member events.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    chunk = expect_ok(alice.do("GET", ["rooms", room, "members"]), "list members")["chunk"]
    assert all(e["type"] == "m.room.member" for e in chunk), f"members: {chunk}"
    assert member_ids(chunk) == {alice.user_id, bob.user_id}, f"members: {chunk}"


# Roles in the room of the filter test: alice created it, bob joined, carol is invited,
# dave joined then left, eve is banned.
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"membership": "join"}, {"alice", "bob"}, id="membership-join"),
        pytest.param({"membership": "invite"}, {"carol"}, id="membership-invite"),
        pytest.param({"membership": "leave"}, {"dave"}, id="membership-leave"),
        pytest.param({"membership": "ban"}, {"eve"}, id="membership-ban"),
        pytest.param({"not_membership": "leave"}, {"alice", "bob", "carol", "eve"},
                     id="not_membership-leave"),
        pytest.param({"not_membership": "join"}, {"carol", "dave", "eve"},
                     id="not_membership-join"),
    ],
)
def test_members_filtered_by_membership(hs, params, expected):
    """`membership` keeps only that membership; `not_membership` drops that membership.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmembers — the `membership` and
    `not_membership` query parameters.
    """
    users = {name: hs.register() for name in ("alice", "bob", "carol", "dave", "eve")}
    alice = users["alice"]
    room = alice.create_room(preset="public_chat")
    users["bob"].join(room)
    alice.invite(room, users["carol"])
    users["dave"].join(room)
    users["dave"].leave(room)
    alice.ban(room, users["eve"])
    chunk = expect_ok(alice.do("GET", ["rooms", room, "members"], params=params),
                      f"list members with {params}")["chunk"]
    wanted = {users[name].user_id for name in expected}
    assert member_ids(chunk) == wanted, (
        f"with {params} the members are {sorted(member_ids(chunk))}, expected {sorted(wanted)}")


def test_joined_members_maps_joined_users_to_profiles(hs):
    """GET /joined_members maps each joined user (only) to their display name.

    Spec: client-server-api/#get_matrixclientv3roomsroomidjoined_members — a map from
    user ID to the member's `display_name` and `avatar_url`, for joined members.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    bob.set_displayname("Bobby Tables")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    alice.invite(room, carol)
    joined = expect_ok(alice.do("GET", ["rooms", room, "joined_members"]),
                       "list joined members")["joined"]
    assert set(joined) == {alice.user_id, bob.user_id}, f"joined members: {joined}"
    assert joined[bob.user_id].get("display_name") == "Bobby Tables", f"joined: {joined}"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(["state"], id="state"),
        pytest.param(["state", "m.room.create", ""], id="state-type-key"),
        pytest.param(["members"], id="members"),
        pytest.param(["joined_members"], id="joined_members"),
    ],
)
def test_non_member_cannot_read_room(hs, path):
    """Someone who never was in a (non world-readable) room cannot read its state or members: 403.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstate and siblings — 403 when the
    user is not and was not a member of the room. The spec names no errcode.
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat", name="Private")
    expect_error(mallory.do("GET", ["rooms", room, *path]), 403)


def test_get_event_by_id(hs):
    """GET /event/{eventId} returns the event as the room's members see it.

    Spec: client-server-api/#get_matrixclientv3roomsroomideventeventid — the full event.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, {"msgtype": "m.text", "body": "hello"})
    event = alice.event(room, event_id)
    assert event["event_id"] == event_id and event["room_id"] == room, f"event: {event}"
    assert event["type"] == "m.room.message" and event["sender"] == alice.user_id, event
    assert event["content"] == {"msgtype": "m.text", "body": "hello"}, f"event: {event}"


def test_get_unknown_event_is_not_found(hs):
    """Asking for an event the room does not have answers 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3roomsroomideventeventid — 404 when the
    event was not found (the example errcode is M_NOT_FOUND, the standard one for this).
    """
    alice = hs.register()
    room = alice.create_room()
    missing = "$" + secrets.token_hex(22)
    expect_error(alice.do("GET", ["rooms", room, "event", missing]), 404, "M_NOT_FOUND")


def test_non_member_cannot_get_event(hs):
    """A user who may not see an event gets 404 for it, as if it did not exist.

    Spec: client-server-api/#get_matrixclientv3roomsroomideventeventid — the only refusal
    documented is 404: the event was not found or the user may not read it.
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    event_id = alice.send(room, {"msgtype": "m.text", "body": "secret"})
    expect_error(mallory.do("GET", ["rooms", room, "event", event_id]), 404)
