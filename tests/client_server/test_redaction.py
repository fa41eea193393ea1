# SPDX-License-Identifier: Apache-2.0
"""Redacting events: PUT /rooms/{roomId}/redact/{eventId}/{txnId} (redaction.yaml).

Covers what a redaction strips (per the room version's algorithm), how redacted events
are served (`unsigned.redacted_because`), who may redact whose events (the `redact`
level and the level for `m.room.redaction` events), and transaction idempotency.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, timeline_has


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def set_power_levels(client, room: str, **changes) -> None:
    """Rewrites the room's power levels with these top-level keys changed."""
    levels = client.get_state(room, "m.room.power_levels")
    levels.update(changes)
    client.send_state(room, "m.room.power_levels", levels)


def room_with_member(hs):
    """Alice's public room with Bob joined at the default (user) level."""
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    return alice, bob, room


def test_redacted_message_loses_its_content(hs):
    """A redacted message is served with empty content and its identity kept.

    Spec: client-server-api/#redactions and rooms/v11/#redactions — redaction strips
    every content key of an `m.room.message` and keeps `event_id`, `type`, `sender`;
    the stripped event is what the server returns from then on.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("regrettable"))
    alice.redact(room, event_id, reason="oops")
    event = alice.event(room, event_id)
    assert event["content"] == {}, f"the redacted message still has content: {event}"
    assert (event["event_id"], event["type"], event["sender"]) == (
        event_id, "m.room.message", alice.user_id), f"redaction altered the event's identity: {event}"


POWER_LEVEL_KEYS_V1 = {"ban", "events", "events_default", "kick", "redact", "state_default",
                      "users", "users_default"}
ALLOW_THIS_ROOM = object()  # stands for an `allow` list naming the test's own room


# One row per content-keeping rule of the redaction algorithms: the row's keys are added to
# a state event of that type (power levels start from the room's own), the event is
# redacted, and only the `kept` keys may survive.
@pytest.mark.parametrize("version,event_type,extra,kept", [
    pytest.param("10", "m.room.power_levels", {"invite": 0, "org.example.extra": 1},
                 POWER_LEVEL_KEYS_V1, id="v10-power-levels-drop-invite"),
    pytest.param("11", "m.room.power_levels", {"invite": 0, "org.example.extra": 1},
                 POWER_LEVEL_KEYS_V1 | {"invite"}, id="v11-power-levels-keep-invite"),
    pytest.param("7", "m.room.join_rules",
                 {"join_rule": "invite", "allow": ALLOW_THIS_ROOM, "org.example.extra": 1},
                 {"join_rule"}, id="v7-join-rules-drop-allow"),
    pytest.param("11", "m.room.join_rules",
                 {"join_rule": "invite", "allow": ALLOW_THIS_ROOM, "org.example.extra": 1},
                 {"join_rule", "allow"}, id="v11-join-rules-keep-allow"),
    pytest.param("11", "m.room.history_visibility",
                 {"history_visibility": "shared", "org.example.extra": 1},
                 {"history_visibility"}, id="v11-history-visibility"),
    pytest.param("11", "m.room.topic", {"topic": "gone soon"}, set(), id="v11-topic-stripped"),
])
def test_redaction_keeps_only_keys_the_room_version_protects(hs, version, event_type, extra,
                                                             kept):
    """Redacting a state event keeps exactly the content keys its room version protects.

    Spec: rooms/v11/#redactions (and the v1/v9 algorithms for older versions) — content
    is stripped of every key except, per event type, the listed ones: `invite` in power
    levels only from v11, `allow` in join rules from v8, `history_visibility` always.
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    content = alice.get_state(room, event_type) if event_type == "m.room.power_levels" else {}
    for key, value in extra.items():
        content[key] = [{"type": "m.room_membership", "room_id": room}] \
            if value is ALLOW_THIS_ROOM else value
    event_id = alice.send_state(room, event_type, content)
    alice.redact(room, event_id)
    redacted = alice.event(room, event_id)
    expected = {key: value for key, value in content.items() if key in kept}
    assert redacted["content"] == expected, (
        f"room v{version}: redacting {event_type} should leave {expected}, "
        f"the server serves {redacted['content']}")


def test_redacted_member_event_keeps_membership_only(hs):
    """A redacted membership event keeps `membership` and drops profile fields.

    Spec: rooms/v11/#redactions — `m.room.member` keeps `membership` (and
    `join_authorised_via_users_server`, the `signed` part of a third-party invite) only.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send_state(room, "m.room.member",
                                {"membership": "join", "displayname": "Alice A."},
                                state_key=alice.user_id)
    alice.redact(room, event_id)
    redacted = alice.event(room, event_id)
    assert redacted["content"] == {"membership": "join"}, (
        f"a redacted join should keep only membership: {redacted['content']}")


def test_redacted_event_names_its_redaction(hs):
    """A redacted event carries the redaction event in `unsigned.redacted_because`.

    Spec: client-server-api/#redactions — servers SHOULD include a copy of the
    `m.room.redaction` event under `unsigned.redacted_because` when serving the
    redacted event to clients.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("soon gone"))
    redaction_id = alice.redact(room, event_id, reason="tidying up")
    because = alice.event(room, event_id).get("unsigned", {}).get("redacted_because")
    assert because, "the redacted event has no unsigned.redacted_because"
    assert because.get("event_id") == redaction_id, (
        f"redacted_because should be the redaction {redaction_id}: {because}")
    assert because.get("type") == "m.room.redaction", f"redacted_because has the wrong type: {because}"


def test_redaction_event_records_target_and_reason(hs):
    """The redaction event names the event it redacts and carries the reason given.

    Spec: client-server-api/#mroomredaction and rooms/v11 "Event format" — `redacts`
    identifies the target (in `content` from v11, with a top-level copy servers should
    add for older clients), and `reason` is kept in the content.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("to be removed"))
    redaction_id = alice.redact(room, event_id, reason="spam")
    redaction = alice.event(room, redaction_id)
    assert redaction["type"] == "m.room.redaction", f"not a redaction event: {redaction}"
    targets = {redaction.get("redacts"), redaction["content"].get("redacts")} - {None}
    assert targets == {event_id}, f"the redaction should target {event_id}: {redaction}"
    assert redaction["content"].get("reason") == "spam", f"the reason was lost: {redaction}"


def test_member_cannot_redact_others_events_without_redact_level(hs):
    """A member below the `redact` level cannot redact someone else's event.

    Spec: client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid — redacting
    other users' events needs the room's `redact` power level (50 by default); the
    refusal is 403 M_FORBIDDEN.
    """
    alice, bob, room = room_with_member(hs)
    event_id = alice.send(room, text("alice's words"))
    response = bob.do("PUT", ["rooms", room, "redact", event_id, "txn-r"], json={})
    expect_error(response, 403, "M_FORBIDDEN")
    assert alice.event(room, event_id)["content"] == text("alice's words"), (
        "the refused redaction still stripped the event")


def test_member_can_redact_own_event_without_redact_level(hs):
    """A member at the default level may redact their own events.

    Spec: client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid — anyone
    allowed to send `m.room.redaction` events may redact their own events; the `redact`
    level only matters for other users' events.
    """
    alice, bob, room = room_with_member(hs)
    event_id = bob.send(room, text("bob's typo"))
    bob.redact(room, event_id)
    assert bob.event(room, event_id)["content"] == {}, "bob's own redaction had no effect"


def test_moderator_can_redact_others_events(hs):
    """A user at or above the `redact` level may redact other users' events.

    Spec: client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid — with the
    `redact` level as well, a user may redact events sent by others.
    """
    alice, bob, room = room_with_member(hs)
    event_id = bob.send(room, text("off topic"))
    alice.redact(room, event_id, reason="moderation")
    assert alice.event(room, event_id)["content"] == {}, "the moderator's redaction had no effect"


def test_redaction_event_level_above_sender_blocks_own_redactions(hs):
    """Raising the level for `m.room.redaction` events stops users redacting their own.

    Spec: client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid — only
    users at or above the `m.room.redaction` event level may send redactions at all; the
    refusal is 403 M_FORBIDDEN.
    """
    alice, bob, room = room_with_member(hs)
    levels = alice.get_state(room, "m.room.power_levels")
    set_power_levels(alice, room,
                     events={**levels.get("events", {}), "m.room.redaction": 50})
    event_id = bob.send(room, text("can't take it back"))
    response = bob.do("PUT", ["rooms", room, "redact", event_id, "txn-own"], json={})
    expect_error(response, 403, "M_FORBIDDEN")


def test_non_member_cannot_redact(hs):
    """A user who is not in the room cannot redact its events.

    Spec: client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid and rooms/v11
    authorization rules — the redaction's sender must be joined (403 M_FORBIDDEN).
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    event_id = alice.send(room, text("hands off"))
    response = mallory.do("PUT", ["rooms", room, "redact", event_id, "txn-m"], json={})
    expect_error(response, 403, "M_FORBIDDEN")


def test_retried_redaction_returns_the_same_event(hs):
    """Repeating a redaction with the same transaction ID returns the first redaction.

    Spec: client-server-api/#transaction-identifiers — a retransmission (same device,
    path and transaction ID) gets the original answer rather than a new event.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, text("once"))
    first = alice.redact(room, event_id, txn_id="redact-txn")
    again = alice.redact(room, event_id, txn_id="redact-txn")
    assert again == first, f"the retry made redaction {again}; the first was {first}"


def test_other_members_receive_the_redaction_and_see_the_event_redacted(hs):
    """Other members get the redaction through /sync and are then served the stripped event.

    Spec: client-server-api/#redactions — the stripped event is returned whenever a
    client requests it after the redaction.
    """
    alice, bob, room = room_with_member(hs)
    event_id = alice.send(room, text("briefly visible"))
    redaction_id = alice.redact(room, event_id)
    bob.sync_until(timeline_has(room, redaction_id))
    assert bob.event(room, event_id)["content"] == {}, "bob is still served the original content"
