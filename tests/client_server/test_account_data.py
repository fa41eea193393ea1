# SPDX-License-Identifier: Apache-2.0
"""Account data (client config): global and per-room, private to the user, in /sync.

Spec: client-server-api/#client-config and the operations of
`api/client-server/account-data.yaml`.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.assertions import expect_one_error
from tests.harness.checks import account_data_has, expect_error, expect_ok


def _type() -> str:
    return f"org.example.test.{secrets.token_hex(4)}"


def _global(user, data_type: str, owner=None) -> list[str]:
    return ["user", (owner or user).user_id, "account_data", data_type]


def _room(user, room: str, data_type: str, owner=None) -> list[str]:
    return ["user", (owner or user).user_id, "rooms", room, "account_data", data_type]


def test_global_account_data_round_trips(hs):
    """Global account data a user stores is returned as stored.

    Spec: client-server-api/#put_matrixclientv3useruseridaccount_datatype stores it;
    client-server-api/#get_matrixclientv3useruseridaccount_datatype returns the content.
    """
    alice = hs.register()
    data_type, content = _type(), {"theme": "dark", "sizes": [12, 14], "nested": {"a": True}}
    alice.put_account_data(data_type, content)
    assert alice.get_account_data(data_type) == content


def test_room_account_data_round_trips(hs):
    """Account data stored for a room is returned as stored for that room.

    Spec: client-server-api/#put_matrixclientv3useruseridroomsroomidaccount_datatype and
    client-server-api/#get_matrixclientv3useruseridroomsroomidaccount_datatype.
    """
    alice = hs.register()
    room = alice.create_room()
    data_type, content = _type(), {"collapsed": True}
    alice.put_account_data(data_type, content, room=room)
    assert alice.get_account_data(data_type, room=room) == content


def test_put_replaces_the_whole_content(hs):
    """A second PUT of the same type replaces the content; nothing of the first remains.

    Spec: client-server-api/#put_matrixclientv3useruseridaccount_datatype — sets the
    account data of this type to the given content.
    """
    alice = hs.register()
    data_type = _type()
    alice.put_account_data(data_type, {"first": 1, "shared": "old"})
    alice.put_account_data(data_type, {"shared": "new"})
    assert alice.get_account_data(data_type) == {"shared": "new"}


def test_room_account_data_does_not_fall_back_to_global(hs):
    """A type stored only globally is not found as account data of a room.

    Spec: client-server-api/#client-config — there is no inheritance: room account data
    missing a type does not fall back to the global data of that type.
    """
    alice = hs.register()
    room = alice.create_room()
    data_type = _type()
    alice.put_account_data(data_type, {"scope": "global"})
    expect_error(alice.do("GET", _room(alice, room, data_type)), 404, "M_NOT_FOUND")


def test_room_account_data_is_not_global(hs):
    """A type stored only for a room is not found as global account data.

    Spec: client-server-api/#client-config — global and room account data are separate
    scopes.
    """
    alice = hs.register()
    room = alice.create_room()
    data_type = _type()
    alice.put_account_data(data_type, {"scope": "room"}, room=room)
    expect_error(alice.do("GET", _global(alice, data_type)), 404, "M_NOT_FOUND")


def test_room_account_data_is_per_room(hs):
    """The same type holds different content in different rooms.

    Spec: client-server-api/#put_matrixclientv3useruseridroomsroomidaccount_datatype —
    the data is specific to the room given.
    """
    alice = hs.register()
    first, second = alice.create_room(), alice.create_room()
    data_type = _type()
    alice.put_account_data(data_type, {"room": "first"}, room=first)
    alice.put_account_data(data_type, {"room": "second"}, room=second)
    assert alice.get_account_data(data_type, room=first) == {"room": "first"}
    assert alice.get_account_data(data_type, room=second) == {"room": "second"}


@pytest.mark.parametrize("scope", [
    pytest.param("global", id="global"),
    pytest.param("room", id="room"),
])
def test_unknown_type_is_not_found(hs, scope):
    """Reading a type the user never stored answers 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3useruseridaccount_datatype and its room
    variant — 404 M_NOT_FOUND when no account data of that type exists.
    """
    alice = hs.register()
    data_type = _type()
    path = (_global(alice, data_type) if scope == "global"
            else _room(alice, alice.create_room(), data_type))
    expect_error(alice.do("GET", path), 404, "M_NOT_FOUND")


@pytest.mark.parametrize("method, scope", [
    pytest.param("GET", "global", id="read-global"),
    pytest.param("PUT", "global", id="write-global"),
    pytest.param("GET", "room", id="read-room"),
    pytest.param("PUT", "room", id="write-room"),
])
def test_other_users_account_data_is_forbidden(hs, method, scope):
    """Reading or writing another user's account data is refused with 403 M_FORBIDDEN.

    Spec: client-server-api/#client-config — users may only view the account data of
    their own account; the endpoints answer 403 M_FORBIDDEN when the access token is not
    authorised for `userId`.
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    mallory.join(room)
    data_type = _type()
    alice.put_account_data(data_type, {"secret": "alice"}, room=room if scope == "room" else None)
    path = (_global(mallory, data_type, owner=alice) if scope == "global"
            else _room(mallory, room, data_type, owner=alice))
    body = {"secret": "mallory"} if method == "PUT" else None
    expect_error(mallory.do(method, path, json=body), 403, "M_FORBIDDEN")
    stored = alice.get_account_data(data_type, room=room if scope == "room" else None)
    assert stored == {"secret": "alice"}, f"alice's account data changed to {stored}"


@pytest.mark.parametrize("data_type, scope", [
    pytest.param("m.fully_read", "global", id="fully_read-global"),
    pytest.param("m.fully_read", "room", id="fully_read-room"),
    pytest.param("m.push_rules", "global", id="push_rules-global"),
    pytest.param("m.push_rules", "room", id="push_rules-room"),
])
def test_server_managed_types_cannot_be_set(hs, data_type, scope):
    """Setting m.fully_read or m.push_rules through the account data API is refused with 405.

    Spec: client-server-api/#client-config (server behaviour) — servers MUST reject
    setting the account data types they manage, `m.fully_read` and (since v1.10)
    `m.push_rules`, with 405, globally and per room; the errcode is M_BAD_JSON.
    """
    alice = hs.register()
    room = alice.create_room()
    path = _global(alice, data_type) if scope == "global" else _room(alice, room, data_type)
    expect_error(alice.do("PUT", path, json={"event_id": "$nothing"}), 405, "M_BAD_JSON")


def test_fully_read_marker_is_readable_as_room_account_data(hs):
    """The m.fully_read marker set through read markers can be read as room account data.

    Spec: client-server-api/#client-config (server behaviour) — servers must allow
    clients to read the server-managed types as normal;
    client-server-api/#post_matrixclientv3roomsroomidread_markers sets the marker.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, {"msgtype": "m.text", "body": "read up to here"})
    expect_ok(alice.do("POST", ["rooms", room, "read_markers"], json={"m.fully_read": event_id}),
              "set the fully-read marker")
    marker = alice.get_account_data("m.fully_read", room=room)
    assert marker.get("event_id") == event_id, f"m.fully_read is {marker}, expected {event_id}"


@pytest.mark.parametrize("scope", [
    pytest.param("global", id="global"),
    pytest.param("room", id="room"),
])
def test_body_that_is_not_an_object_is_rejected(hs, scope):
    """A JSON body that is not an object is refused with 400 M_BAD_JSON or M_NOT_JSON.

    Spec: client-server-api/#put_matrixclientv3useruseridaccount_datatype and its room
    variant — 400 when the body is not a JSON object; both endpoints name M_BAD_JSON and
    M_NOT_JSON as the errcode, so either is accepted.
    """
    alice = hs.register()
    data_type = _type()
    path = (_global(alice, data_type) if scope == "global"
            else _room(alice, alice.create_room(), data_type))
    expect_one_error(alice.do("PUT", path, json=["not", "an", "object"]),
                     (400, "M_BAD_JSON"), (400, "M_NOT_JSON"))


@pytest.mark.parametrize("method", [
    pytest.param("GET", id="read"),
    pytest.param("PUT", id="write"),
])
def test_malformed_room_id_is_rejected(hs, method):
    """A roomId that is not a room ID is refused with 400 M_INVALID_PARAM.

    Spec: client-server-api/#get_matrixclientv3useruseridroomsroomidaccount_datatype and
    the PUT variant — 400 M_INVALID_PARAM when `roomId` is not a valid room ID.
    """
    alice = hs.register()
    body = {"a": 1} if method == "PUT" else None
    path = _room(alice, alice.user_id, _type())  # a user ID where a room ID belongs
    expect_error(alice.do(method, path, json=body), 400, "M_INVALID_PARAM")


def test_global_account_data_appears_in_sync(hs):
    """Global account data is delivered in the top-level account_data of /sync.

    Spec: client-server-api/#put_matrixclientv3useruseridaccount_datatype — clients
    receive it in the top-level `account_data` of /sync.
    """
    alice = hs.register()
    data_type, content = _type(), {"value": secrets.token_hex(4)}
    alice.put_account_data(data_type, content)
    alice.sync_until(account_data_has(data_type, predicate=lambda e: e.get("content") == content))


def test_room_account_data_appears_in_the_rooms_sync_section(hs):
    """Room account data is delivered in that room's account_data in /sync.

    Spec: client-server-api/#put_matrixclientv3useruseridroomsroomidaccount_datatype —
    clients receive it in the per-room entries of /sync.
    """
    alice = hs.register()
    room = alice.create_room()
    data_type, content = _type(), {"value": secrets.token_hex(4)}
    alice.put_account_data(data_type, content, room=room)
    alice.sync_until(account_data_has(data_type, room_id=room,
                                      predicate=lambda e: e.get("content") == content))


def test_account_data_update_reaches_an_ongoing_sync(hs):
    """A change to account data after a sync shows up in the next incremental sync.

    Spec: client-server-api/#client-config — account data is synced between the user's
    devices through the `account_data` sections of /sync.
    """
    alice = hs.register()
    data_type = _type()
    alice.put_account_data(data_type, {"version": 1})
    alice.sync_until(account_data_has(data_type))
    other_device = alice.new_device()
    other_device.put_account_data(data_type, {"version": 2})
    alice.sync_until(account_data_has(data_type,
                                      predicate=lambda e: e.get("content") == {"version": 2}))
