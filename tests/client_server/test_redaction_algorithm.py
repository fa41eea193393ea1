# SPDX-License-Identifier: Apache-2.0
"""The redaction algorithm of each room version, as clients see its results.

After a redaction, GET /rooms/{roomId}/event/{eventId} serves the event stripped to what
its room version keeps (rooms/v1, v6, v9 and v11 "Redactions"); the event carries its
redaction in `unsigned.redacted_because`; and a redacted state event still counts as
room state, now with only its kept content, which the authorization rules then read.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.checks import timeline_has

# rooms/v1 "Redactions": the power levels keys kept up to v10 (v11 adds `invite`).
POWER_LEVEL_KEYS = {"ban", "events", "events_default", "kick", "redact", "state_default",
                    "users", "users_default"}
EXTRA = {"org.example.extra": "not protected"}


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def kept(content: dict, keys: set[str] | None) -> dict:
    """The content a redaction keeps: only `keys` (None: everything)."""
    return dict(content) if keys is None else {k: v for k, v in content.items() if k in keys}


def redact_state(client, room: str, event_type: str, content: dict, state_key: str = ""):
    """Sends this state, redacts it, and returns (sent content, the event as now served)."""
    event_id = client.send_state(room, event_type, content, state_key=state_key)
    client.redact(room, event_id)
    return event_id, client.event(room, event_id)


def member_content(room: str, user_id: str) -> dict:
    return {"membership": "join", "displayname": "Someone", "avatar_url": "mxc://a.example/b",
            **EXTRA}


def join_rules_content(room: str, user_id: str) -> dict:
    return {"join_rule": "invite", "allow": [{"type": "m.room_membership", "room_id": room}],
            **EXTRA}


def history_content(room: str, user_id: str) -> dict:
    return {"history_visibility": "shared", **EXTRA}


def name_content(room: str, user_id: str) -> dict:
    return {"name": "Soon nameless", **EXTRA}


# One row per (room version, event type) where a redaction algorithm keeps a different
# set of content keys. The content builder gets the room and the sender's user ID.
@pytest.mark.parametrize("version,event_type,build,keys", [
    pytest.param("1", "m.room.member", member_content, {"membership"}, id="v1-member"),
    pytest.param("12", "m.room.member", member_content, {"membership"}, id="v12-member"),
    pytest.param("1", "m.room.join_rules", join_rules_content, {"join_rule"},
                 id="v1-join-rules"),
    pytest.param("8", "m.room.join_rules", join_rules_content, {"join_rule", "allow"},
                 id="v8-join-rules"),
    pytest.param("12", "m.room.join_rules", join_rules_content, {"join_rule", "allow"},
                 id="v12-join-rules"),
    pytest.param("1", "m.room.history_visibility", history_content, {"history_visibility"},
                 id="v1-history-visibility"),
    pytest.param("12", "m.room.history_visibility", history_content, {"history_visibility"},
                 id="v12-history-visibility"),
    pytest.param("1", "m.room.name", name_content, set(), id="v1-name"),
    pytest.param("12", "m.room.name", name_content, set(), id="v12-name"),
])
def test_redacted_state_keeps_the_versions_protected_keys(hs, version, event_type, build,
                                                          keys):
    """A redacted state event keeps exactly the content keys its room version protects.

    Spec: rooms/v1, rooms/v9 and rooms/v11 "Redactions" — `m.room.member` keeps
    `membership` (and nothing of the profile), `m.room.join_rules`
    keeps `join_rule` (plus `allow` from v8), `m.room.history_visibility` keeps
    `history_visibility`; every other content key, and all of an unlisted type, goes.
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    state_key = alice.user_id if event_type == "m.room.member" else ""
    content = build(room, alice.user_id)
    _, redacted = redact_state(alice, room, event_type, content, state_key)
    assert redacted["content"] == kept(content, keys), (
        f"room v{version}: a redacted {event_type} should keep {sorted(keys)}; "
        f"the server serves {redacted['content']}")


@pytest.mark.parametrize("version,keys", [
    pytest.param("8", {"membership"}, id="v8"),
    pytest.param("9", {"membership", "join_authorised_via_users_server"}, id="v9"),
    pytest.param("12", {"membership", "join_authorised_via_users_server"}, id="v12"),
])
def test_redacted_restricted_join_keeps_its_authoriser_from_v9(hs, version, keys):
    """A redacted join into a restricted room keeps `join_authorised_via_users_server`
    from room v9 on.

    Spec: rooms/v8 authorization rule 5.3.5 (a join through a `restricted` rule must
    name an authorising user in `join_authorised_via_users_server`) and rooms/v9
    "Redactions" — from v9 `m.room.member` keeps that key as well as `membership`.
    """
    alice, bob = hs.register(), hs.register()
    parent = alice.create_room(room_version=version, preset="public_chat")
    allow = [{"type": "m.room_membership", "room_id": parent}]
    room = alice.create_room(room_version=version, preset="private_chat", initial_state=[
        {"type": "m.room.join_rules", "state_key": "",
         "content": {"join_rule": "restricted", "allow": allow}}])
    bob.join(parent)
    bob.join(room)
    join = next(e for e in alice.room_state(room)
                if e["type"] == "m.room.member" and e["state_key"] == bob.user_id)
    assert "join_authorised_via_users_server" in join["content"], (
        f"a restricted join must name its authoriser: {join}")
    alice.redact(room, join["event_id"])
    redacted = alice.event(room, join["event_id"])
    assert redacted["content"] == kept(join["content"], keys), (
        f"room v{version}: a redacted restricted join should keep {sorted(keys)}; "
        f"the server serves {redacted['content']}")


@pytest.mark.parametrize("version,keys", [
    pytest.param("1", POWER_LEVEL_KEYS, id="v1"),
    pytest.param("10", POWER_LEVEL_KEYS, id="v10"),
    pytest.param("11", POWER_LEVEL_KEYS | {"invite"}, id="v11"),
    pytest.param("12", POWER_LEVEL_KEYS | {"invite"}, id="v12"),
])
def test_redacted_power_levels_keep_the_listed_levels(hs, version, keys):
    """A redacted power levels event keeps its level keys: `invite` only from v11, never
    `notifications` or unknown keys.

    Spec: rooms/v1 and rooms/v11 "Redactions" — `m.room.power_levels` keeps `ban`,
    `events`, `events_default`, `kick`, `redact`, `state_default`, `users`,
    `users_default`, and from v11 `invite`.
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    content = alice.get_state(room, "m.room.power_levels")
    content.update({"invite": 10, "notifications": {"room": 20}, **EXTRA})
    _, redacted = redact_state(alice, room, "m.room.power_levels", content)
    assert redacted["content"] == kept(content, keys), (
        f"room v{version}: the redacted power levels should be {kept(content, keys)}, "
        f"the server serves {redacted['content']}")


@pytest.mark.parametrize("version,keep_all", [
    pytest.param("1", False, id="v1"),
    pytest.param("10", False, id="v10"),
    pytest.param("11", True, id="v11"),
    pytest.param("12", True, id="v12"),
])
def test_redacted_create_event_keeps_creator_or_all_content(hs, version, keep_all):
    """A redacted create event keeps only `creator` up to v10 and all content from v11.

    Spec: rooms/v1 and rooms/v11 "Redactions" — `m.room.create` keeps the `creator` key
    (v1-v10) or its whole content (v11 on). Any member at the `m.room.redaction` level
    may redact their own events, the creator's create event included
    (client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid).
    """
    alice = hs.register()
    room = alice.create_room(room_version=version, creation_content=dict(EXTRA))
    create = next(e for e in alice.room_state(room) if e["type"] == "m.room.create")
    alice.redact(room, create["event_id"])
    redacted = alice.event(room, create["event_id"])
    expected = create["content"] if keep_all else kept(create["content"], {"creator"})
    assert redacted["content"] == expected, (
        f"room v{version}: the redacted create event should keep {expected}, "
        f"the server serves {redacted['content']}")


@pytest.mark.parametrize("version", [pytest.param("10", id="v10"), pytest.param("11", id="v11"),
                                     pytest.param("12", id="v12")])
def test_redacted_redaction_keeps_only_what_its_version_protects(hs, version):
    """Redacting a redaction strips its reason; from v11 `content.redacts` survives.

    Spec: rooms/v11 "Redactions" — `m.room.redaction` keeps `redacts` in its content
    (before v11 it has no protected content; servers may still copy `redacts` into the
    content they serve for older rooms, rooms/v11 "Event format").
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    target = alice.send(room, text("first"))
    redaction = alice.redact(room, target, reason="the reason")
    alice.redact(room, redaction)
    served = alice.event(room, redaction)["content"]
    assert "reason" not in served, f"the redacted redaction still has its reason: {served}"
    if version in ("11", "12"):
        assert served == {"redacts": target}, f"v{version}: content.redacts is protected: {served}"
    else:
        assert served in ({}, {"redacts": target}), f"v{version}: unexpected content {served}"


@pytest.mark.parametrize("version", [pytest.param("1", id="v1"), pytest.param("12", id="v12")])
def test_redacted_message_keeps_identity_and_loses_content(hs, version):
    """A redacted message keeps its ID, type, room, sender and timestamp, not its content.

    Spec: rooms/v1 and rooms/v11 "Redactions" — `event_id`, `type`, `room_id`, `sender`,
    `origin_server_ts` and `content` are kept, and a message's content is emptied.
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    event_id = alice.send(room, {**text("gone"), "format": "org.matrix.custom.html",
                                 "formatted_body": "<b>gone</b>"})
    before = alice.event(room, event_id)
    alice.redact(room, event_id)
    after = alice.event(room, event_id)
    assert after["content"] == {}, f"v{version}: the message kept content: {after['content']}"
    for key in ("event_id", "type", "room_id", "sender", "origin_server_ts"):
        assert after.get(key) == before[key], f"v{version}: redaction changed `{key}`: {after}"


def test_redacted_event_carries_its_redaction(hs):
    """A redacted event served to clients names its redaction in `unsigned`.

    Spec: client-server-api/#redactions — servers should put a copy of the
    `m.room.redaction` event under `unsigned.redacted_because` when serving the
    redacted event.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send_state(room, "m.room.topic", {"topic": "soon gone"})
    redaction_id = alice.redact(room, event_id, reason="why")
    because = alice.event(room, event_id).get("unsigned", {}).get("redacted_because", {})
    assert because.get("event_id") == redaction_id, f"redacted_because: {because}"
    assert because.get("content", {}).get("reason") == "why", f"redacted_because: {because}"


def test_redacted_events_are_served_redacted_by_messages(hs):
    """/messages serves a redacted event stripped, with its redaction attached.

    Spec: client-server-api/#redactions — the stripped event is what the server returns
    from then on, whichever API asks for it.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("scrubbed"))
    redaction_id = alice.redact(room, event_id)
    chunk = alice.messages(room, dir="b", limit=10)["chunk"]
    served = next((e for e in chunk if e["event_id"] == event_id), None)
    assert served is not None, f"{event_id} is missing from /messages: {chunk}"
    assert served["content"] == {}, f"/messages serves the redacted message unstripped: {served}"
    because = served.get("unsigned", {}).get("redacted_because", {})
    assert because.get("event_id") == redaction_id, f"redacted_because in /messages: {served}"


def test_redacted_event_is_served_redacted_in_a_new_sync(hs):
    """A member syncing after the redaction gets the stripped event in the timeline.

    Spec: client-server-api/#redactions — the stripped event is returned any time a
    client requests it after the redaction.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    event_id = alice.send(room, text("scrubbed before bob looks"))
    alice.redact(room, event_id)
    bob.sync_until(timeline_has(room, event_id, predicate=lambda e: e["content"] == {}),
                   filter={"room": {"timeline": {"limit": 20}}})


# -- redacted state still counts --------------------------------------------------------


def test_redacted_state_is_current_state_with_kept_content(hs):
    """Redacting the current topic leaves a topic event with empty content in state.

    Spec: client-server-api/#redactions (note) — redacted state events still form room
    state, as if their unprotected properties were never given: a redacted topic
    removes the topic rather than restoring the previous one.
    """
    alice = hs.register()
    room = alice.create_room(topic="the first topic")
    event_id = alice.send_state(room, "m.room.topic", {"topic": "the second topic"})
    alice.redact(room, event_id)
    assert alice.get_state(room, "m.room.topic") == {}, "the redacted topic kept content"
    topics = [e for e in alice.room_state(room) if e["type"] == "m.room.topic"]
    assert [e["event_id"] for e in topics] == [event_id], (
        f"the room's topic should still be the redacted event {event_id}: {topics}")


def test_redacted_join_still_counts_as_joined(hs):
    """A member whose join event is redacted stays joined and may still send.

    Spec: client-server-api/#redactions (note) — a redacted `join` event still results
    in the user being considered joined (`membership` is protected in every version).
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    join_id = next(e["event_id"] for e in alice.room_state(room)
                   if e["type"] == "m.room.member" and e["state_key"] == bob.user_id)
    alice.redact(room, join_id)
    assert alice.get_state(room, "m.room.member", bob.user_id) == {"membership": "join"}
    bob.send(room, text("still here"))
    members = expect_ok(alice.do("GET", ["rooms", room, "members"],
                                 params={"membership": "join"}), "list joined members")
    joined = {event["state_key"] for event in members["chunk"]}
    assert bob.user_id in joined, f"bob is no longer listed as joined: {sorted(joined)}"


def test_redacted_join_rules_keep_the_room_public(hs):
    """Redacting a public room's join rules leaves it joinable.

    Spec: rooms/v1 and rooms/v11 "Redactions" — `join_rule` is protected, and the
    redacted event still decides joins (client-server-api/#redactions note).
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    rules_id = alice.send_state(room, "m.room.join_rules", {"join_rule": "public", **EXTRA})
    alice.redact(room, rules_id)
    assert alice.get_state(room, "m.room.join_rules") == {"join_rule": "public"}
    bob.join(room)


@pytest.mark.parametrize("version,invite_survives", [
    pytest.param("10", False, id="v10"),
    pytest.param("11", True, id="v11"),
])
def test_redacted_power_levels_decide_the_invite_level(hs, version, invite_survives):
    """After the power levels are redacted, `invite` still applies only from v11.

    Spec: rooms/v10 and rooms/v11 "Redactions" — v11 protects `invite`; before it the
    key is stripped and the invite level falls back to its default of 0
    (client-server-api/#mroompower_levels), which the authorization rules then use.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(room_version=version, preset="private_chat")
    alice.invite(room, bob)
    bob.join(room)
    levels = alice.get_state(room, "m.room.power_levels")
    levels_id = alice.send_state(room, "m.room.power_levels", {**levels, "invite": 50})
    alice.redact(room, levels_id)
    response = bob.do("POST", ["rooms", room, "invite"], json={"user_id": carol.user_id})
    if invite_survives:
        expect_error(response, 403, "M_FORBIDDEN")
    else:
        expect_ok(response, f"invite in a v{version} room whose invite level was redacted")
