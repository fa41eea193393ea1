# SPDX-License-Identifier: Apache-2.0
"""Stripped state: what an invitee learns about a room before joining it.

Spec: client-server-api/#stripped-state, `invite_state` in
client-server-api/#get_matrixclientv3sync, and `invite_room_state` of `m.room.member`.
Stripped events carry only `type`, `state_key`, `sender` and `content`; since v1.16 the
m.room.create event is required (MSC4311), and the avatar, canonical alias, join rules
and name SHOULD be included when set.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.rooms import require_room_version, room_entry, stripped_events

STRIPPED_KEYS = {"type", "state_key", "sender", "content"}


def _invite_state(alice, bob, room: str) -> list[dict]:
    alice.invite(room, bob)
    return stripped_events(room_entry(bob, "invite", room), "invite_state")


def _of_type(events: list[dict], event_type: str) -> list[dict]:
    return [e for e in events if e.get("type") == event_type and e.get("state_key") == ""]


@pytest.mark.spec("1.16")
@pytest.mark.parametrize("version", [pytest.param("1", id="v1"), pytest.param("10", id="v10"),
                                     pytest.param("11", id="v11"), pytest.param("12", id="v12")])
def test_invite_state_includes_the_create_event(hs, version):
    """The invitee's `invite_state` includes the room's m.room.create event.

    Spec: client-server-api/#stripped-state — since v1.16 m.room.create is required in
    `invite_state` on /sync (MSC4311). It is the real create event, stripped: sent by the
    room's creator, with the room's version.
    """
    alice, bob = hs.register(), hs.register()
    require_room_version(alice, version)
    room = alice.create_room(room_version=version)
    events = _invite_state(alice, bob, room)
    creates = _of_type(events, "m.room.create")
    assert creates, f"no m.room.create in invite_state: {events}"
    assert creates[0]["sender"] == alice.user_id, f"the create event: {creates[0]}"
    assert creates[0]["content"].get("room_version", "1") == version, creates[0]


SHOULD_INCLUDE = [
    pytest.param("m.room.join_rules", {"join_rule": "invite"}, id="join-rules"),
    pytest.param("m.room.name", {"name": "The book club"}, id="name"),
    pytest.param("m.room.avatar", {"url": "mxc://example.org/club"}, id="avatar"),
]


@pytest.mark.parametrize("event_type, content", SHOULD_INCLUDE)
def test_invite_state_includes_identifying_state(hs, event_type, content):
    """The join rules, name and avatar, when set, are in the invitee's `invite_state`.

    Spec: `m.room.member` `invite_room_state` (client-server-api/#mroommember) — if set on
    the room, at least m.room.avatar, m.room.canonical_alias, m.room.join_rules and
    m.room.name SHOULD be included; /sync's `invite_state` is that stripped state.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.send_state(room, event_type, content)
    events = _invite_state(alice, bob, room)
    found = _of_type(events, event_type)
    assert found, f"no {event_type} in invite_state: {events}"
    assert found[0]["content"] == content, f"{event_type} in invite_state: {found[0]}"
    assert found[0]["sender"] == alice.user_id, f"{event_type} in invite_state: {found[0]}"


def test_invite_state_includes_the_canonical_alias(hs):
    """The room's canonical alias, when set, is in the invitee's `invite_state`.

    Spec: `m.room.member` `invite_room_state` (client-server-api/#mroommember) — at least
    m.room.canonical_alias SHOULD be included if set.
    """
    alice, bob = hs.register(), hs.register()
    localpart = f"stripped-{secrets.token_hex(6)}"
    room = alice.create_room(preset="private_chat", room_alias_name=localpart)
    events = _invite_state(alice, bob, room)
    found = _of_type(events, "m.room.canonical_alias")
    assert found, f"no m.room.canonical_alias in invite_state: {events}"
    assert found[0]["content"].get("alias") == f"#{localpart}:{hs.server_name}", found[0]


def test_invite_state_events_are_stripped(hs):
    """Every event of `invite_state` has only `type`, `state_key`, `sender` and `content`.

    Spec: client-server-api/#stripped-state — stripped state events can only have the
    sender, type, state_key and content properties.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat", name="Stripped", topic="Only four keys")
    events = _invite_state(alice, bob, room)
    extra = [(e.get("type"), sorted(set(e) - STRIPPED_KEYS)) for e in events
             if set(e) - STRIPPED_KEYS]
    assert not extra, f"invite_state events with keys beyond the stripped ones: {extra}"


def test_invite_state_shows_the_current_name(hs):
    """`invite_state` reflects the room's state at the time of the invite.

    Spec: `m.room.member` `invite_room_state` (client-server-api/#mroommember) — a subset
    of the state of the room at the time of the invite: a renamed room shows its new name.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat", name="First name")
    alice.send_state(room, "m.room.name", {"name": "Second name"})
    names = _of_type(_invite_state(alice, bob, room), "m.room.name")
    assert names, "no m.room.name in invite_state"
    assert [n["content"].get("name") for n in names] == ["Second name"], names


def test_invite_state_leaves_out_unset_state(hs):
    """State the room does not have is not invented for `invite_state`.

    Spec: client-server-api/#stripped-state — stripped state is a view of the room's
    state; a room without a name or topic has no m.room.name or m.room.topic to show.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    events = _invite_state(alice, bob, room)
    invented = [e for e in events if e.get("type") in ("m.room.name", "m.room.topic")]
    assert not invented, f"invite_state shows state the room does not have: {invented}"
