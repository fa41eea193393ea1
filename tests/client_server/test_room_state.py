# SPDX-License-Identifier: Apache-2.0
"""Sending state: PUT /rooms/{roomId}/state/{eventType}/{stateKey}.

Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey
(api/client-server/room_state.yaml).
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, expect_ok

VERSIONS = [pytest.param(v, id=f"v{v}") for v in ("10", "11", "12")]


def test_put_state_returns_event_id_of_the_state_event(hs):
    """PUT state answers the new event's ID, which is the event now in the room's state.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey — 200
    with the `event_id` of the sent event.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send_state(room, "org.example.colour", {"value": "teal"}, state_key="wall")
    assert alice.get_state(room, "org.example.colour", "wall") == {"value": "teal"}
    in_state = [e for e in alice.room_state(room)
                if (e["type"], e["state_key"]) == ("org.example.colour", "wall")]
    assert [e["event_id"] for e in in_state] == [event_id], f"state events: {in_state}"


@pytest.mark.parametrize(
    ("put_path", "get_path"),
    [
        pytest.param(["m.room.topic", ""], ["m.room.topic"], id="put-with-slash-get-without"),
        pytest.param(["m.room.topic"], ["m.room.topic", ""], id="put-without-slash-get-with"),
    ],
)
def test_empty_state_key_trailing_slash_is_optional(hs, put_path, get_path):
    """With an empty state key the trailing slash may be left off, for PUT and GET alike.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey and
    client-server-api/#get_matrixclientv3roomsroomidstateeventtypestatekey — when the
    state key is empty, the trailing slash is optional.
    """
    alice = hs.register()
    room = alice.create_room()
    expect_ok(alice.do("PUT", ["rooms", room, "state", *put_path], json={"topic": "Slashes"}),
              "set the topic")
    content = expect_ok(alice.do("GET", ["rooms", room, "state", *get_path]), "get the topic")
    assert content.get("topic") == "Slashes", f"m.room.topic content: {content}"


def test_later_state_replaces_earlier_with_same_type_and_key(hs):
    """A second PUT to the same (type, key) overwrites the first.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey — state
    events are overwritten when room, event type and state key all match.
    """
    alice = hs.register()
    room = alice.create_room()
    alice.send_state(room, "org.example.counter", {"n": 1}, state_key="k")
    alice.send_state(room, "org.example.counter", {"n": 2}, state_key="k")
    assert alice.get_state(room, "org.example.counter", "k") == {"n": 2}


def test_distinct_state_keys_are_kept_apart(hs):
    """State events of one type with different state keys coexist.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey — only an
    event with the same type and state key overwrites.
    """
    alice = hs.register()
    room = alice.create_room()
    alice.send_state(room, "org.example.shelf", {"item": "left"}, state_key="a")
    alice.send_state(room, "org.example.shelf", {"item": "right"}, state_key="b")
    assert alice.get_state(room, "org.example.shelf", "a") == {"item": "left"}
    assert alice.get_state(room, "org.example.shelf", "b") == {"item": "right"}


def test_state_with_empty_object_content(hs):
    """A state event may have an empty content object, and reads back as `{}`.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey — the
    body is the event content, whose fields depend on the event type.
    """
    alice = hs.register()
    room = alice.create_room()
    alice.send_state(room, "org.example.marker", {})
    assert alice.get_state(room, "org.example.marker") == {}


@pytest.mark.parametrize("version", VERSIONS)
def test_member_without_power_cannot_send_state(hs, version):
    """A member whose power falls below the required level gets 403 M_FORBIDDEN.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey — 403
    when the sender lacks permission; client-server-api/#permissions — the levels come
    from m.room.power_levels (creators are listed there only before room version 12).
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat", room_version=version)
    bob.join(room)
    levels = alice.get_state(room, "m.room.power_levels")
    levels.setdefault("users", {})[bob.user_id] = 50
    alice.send_state(room, "m.room.power_levels", levels)
    bob.send_state(room, "m.room.topic", {"topic": "Moderated"})
    levels["users"][bob.user_id] = 0
    alice.send_state(room, "m.room.power_levels", levels)
    response = bob.do("PUT", ["rooms", room, "state", "m.room.topic", ""],
                      json={"topic": "Not any more"})
    expect_error(response, 403, "M_FORBIDDEN")
    assert alice.get_state(room, "m.room.topic")["topic"] == "Moderated"


def test_plain_member_cannot_send_state_by_default(hs):
    """A member at the default user level cannot send state that needs `state_default`: 403.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey — 403
    when the sender lacks permission to send the event.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat",
                             power_level_content_override={"state_default": 50,
                                                           "users_default": 0})
    bob.join(room)
    response = bob.do("PUT", ["rooms", room, "state", "org.example.setting", ""],
                      json={"value": 1})
    expect_error(response, 403, "M_FORBIDDEN")


def test_non_member_cannot_send_state(hs):
    """A user who is not in the room cannot send state to it: 403.

    Spec: client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey — 403
    when the sender does not have permission to send the event.
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat", power_level_content_override={
        "state_default": 0})
    response = mallory.do("PUT", ["rooms", room, "state", "org.example.graffiti", ""],
                          json={"text": "was here"})
    expect_error(response, 403, "M_FORBIDDEN")
