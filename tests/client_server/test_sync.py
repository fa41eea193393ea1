# SPDX-License-Identifier: Apache-2.0
"""Synchronisation: GET /sync (sync.yaml).

Covers the initial snapshot, incremental syncs from `next_batch`, long-polling, timeline
limits through inline and stored filters (`limited`, `prev_batch`), `full_state`, the
invite and leave sections, and account data. Typing and receipts in `ephemeral` are
covered with their own endpoints (test_typing.py, test_receipts.py).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness.checks import (
    account_data_has, expect_ok, invited_to, joined_to, left, state_has, timeline_has,
)


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def joined_room(body: dict, room: str) -> dict:
    rooms = body.get("rooms", {}).get("join", {})
    assert room in rooms, f"{room} is not in rooms.join of this sync: {sorted(rooms)}"
    return rooms[room]


def event_ids(section: dict | None) -> list[str]:
    return [event["event_id"] for event in (section or {}).get("events", [])]


def keyed(section: dict | None) -> dict[tuple[str, str], dict]:
    return {(e["type"], e.get("state_key")): e for e in (section or {}).get("events", [])}


def test_initial_sync_includes_joined_room_with_state_and_timeline(hs):
    """A sync without `since` lists each joined room with its state and recent timeline.

    Spec: client-server-api/#syncing — the first /sync returns the most recent events of
    each room and the room state (at the start of the returned timeline).
    """
    alice = hs.register()
    room = alice.create_room(name="Initial sync")
    last = alice.send(room, text("latest"))
    body = alice.sync()
    assert body["next_batch"], "the answer must carry next_batch"
    entry = joined_room(body, room)
    assert event_ids(entry.get("timeline"))[-1:] == [last], (
        f"the timeline should end with the latest message {last}: {event_ids(entry.get('timeline'))}")
    everything = {**keyed(entry.get("state")), **keyed(entry.get("timeline"))}
    assert ("m.room.create", "") in everything, f"no m.room.create in state or timeline: {sorted(everything)}"
    assert everything.get(("m.room.name", ""), {}).get("content") == {"name": "Initial sync"}, (
        f"the room name is missing from state and timeline: {sorted(everything)}")


def test_initial_sync_state_is_the_state_before_the_timeline(hs):
    """With a limited timeline, `state` holds the earlier state and never repeats timeline events.

    Spec: client-server-api/#syncing (note on `state`) — on an initial sync `state` is the
    complete state at the *start* of the returned timeline, separate from the timeline.
    """
    alice = hs.register()
    room = alice.create_room(name="Before the timeline")
    for n in range(3):
        alice.send(room, text(f"m{n}"))
    entry = joined_room(alice.sync(filter={"room": {"timeline": {"limit": 2}}}), room)
    state, timeline = keyed(entry.get("state")), event_ids(entry.get("timeline"))
    assert ("m.room.create", "") in state and ("m.room.name", "") in state, (
        f"state should hold the room's state before the timeline: {sorted(state)}")
    assert ("m.room.member", alice.user_id) in state, f"alice's membership is missing: {sorted(state)}"
    overlap = {e["event_id"] for e in state.values()} & set(timeline)
    assert not overlap, f"events in both state and timeline: {overlap}"


def test_incremental_sync_returns_only_new_events(hs):
    """A sync from `next_batch` returns the events since then and none from before.

    Spec: client-server-api/#syncing — passing `next_batch` as `since` returns only what
    happened after that point.
    """
    alice = hs.register()
    room = alice.create_room()
    old = alice.send(room, text("old"))
    first = alice.sync()
    new = alice.send(room, text("new"))
    second = alice.sync(since=first["next_batch"], timeout=10000)
    timeline = event_ids(joined_room(second, room).get("timeline"))
    assert new in timeline, f"the new event {new} is missing: {timeline}"
    assert old not in timeline, f"the old event {old} came again: {timeline}"


def test_incremental_sync_state_is_empty_when_timeline_is_complete(hs):
    """An incremental sync whose timeline is not limited reports no state delta.

    Spec: client-server-api/#syncing (note on `state`) — on an incremental sync `state` is
    the change between `since` and the start of the timeline, empty unless `limited`.
    """
    alice = hs.register()
    room = alice.create_room()
    first = alice.sync()
    alice.send_state(room, "m.room.topic", {"topic": "in the timeline"})
    entry = joined_room(alice.sync(since=first["next_batch"], timeout=10000), room)
    assert not entry.get("timeline", {}).get("limited"), f"one event should not be limited: {entry}"
    assert not entry.get("state", {}).get("events"), (
        f"state should be empty when the timeline covers everything: {entry['state']}")
    assert ("m.room.topic", "") in keyed(entry.get("timeline")), "the topic change is not in the timeline"


def test_long_poll_returns_early_when_an_event_arrives(hs):
    """A waiting /sync answers as soon as a new event arrives, not at its timeout.

    Spec: client-server-api/#syncing — the server holds the request open for up to
    `timeout` milliseconds, returning early if an event occurs.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    since = bob.sync_until(joined_to(room))["next_batch"]
    wake_up = timeline_has(room, predicate=lambda e: e.get("content", {}).get("body") == "wake up")

    def long_poll_until_the_event() -> list[dict]:
        """Long-polls (60 s each) from `since`; unrelated early answers just continue."""
        answers, token = [], since
        while len(answers) < 5:
            answers.append(bob.sync(since=token, timeout=60000))
            token = answers[-1]["next_batch"]
            if wake_up(answers[-1]) is None:
                break
        return answers

    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        waiting = pool.submit(long_poll_until_the_event)
        event_id = alice.send(room, text("wake up"))
        answers = waiting.result(timeout=400)
        elapsed = time.monotonic() - started
    assert timeline_has(room, event_id)(answers[-1]) is None, (
        f"{len(answers)} long-polls ended without the new event {event_id}")
    assert elapsed < 30, (
        f"the long-poll took {elapsed:.1f} s; it should end as soon as the event arrived")


@pytest.mark.parametrize("stored", [pytest.param(False, id="inline-json"),
                                    pytest.param(True, id="stored-filter-id")])
def test_timeline_limit_filter_limits_the_timeline(hs, stored):
    """`timeline.limit` caps the timeline; the cut is flagged `limited` with a `prev_batch`.

    Spec: client-server-api/#get_matrixclientv3sync — `filter` is a filter ID or inline
    filter JSON; the timeline's `limited` is true when the filter's limit cut it short,
    and `prev_batch` lets the client fetch what was left out.
    """
    alice = hs.register()
    room = alice.create_room()
    sent = [alice.send(room, text(f"m{n}")) for n in range(3)]
    definition = {"room": {"timeline": {"limit": 1}}}
    if stored:
        created = alice.do("POST", ["user", alice.user_id, "filter"], json=definition)
        sync_filter = expect_ok(created, "upload a filter")["filter_id"]
    else:
        sync_filter = definition
    timeline = joined_room(alice.sync(filter=sync_filter), room)["timeline"]
    assert event_ids(timeline) == sent[-1:], f"limit=1 should give the last message: {timeline}"
    assert timeline.get("limited") is True, f"the cut timeline must be limited: {timeline}"
    assert timeline.get("prev_batch"), f"a limited timeline needs prev_batch: {timeline}"


def test_full_state_returns_the_whole_state_again(hs):
    """With `full_state=true`, an incremental sync sends every joined room's state again.

    Spec: client-server-api/#get_matrixclientv3sync — `full_state=true` returns all state
    events even when `since` is given.
    """
    alice = hs.register()
    room = alice.create_room(name="Full state")
    first = alice.sync()
    body = alice.sync(since=first["next_batch"], full_state=True)
    entry = joined_room(body, room)
    everything = {**keyed(entry.get("state")), **keyed(entry.get("timeline"))}
    for key in [("m.room.create", ""), ("m.room.name", ""), ("m.room.member", alice.user_id)]:
        assert key in everything, f"full_state should include {key}: {sorted(everything)}"


def test_invite_appears_with_invite_state(hs):
    """An invited user finds the room under `rooms.invite` with stripped invite state.

    Spec: client-server-api/#get_matrixclientv3sync (Invited Room) and
    #stripped-state — `invite_state` holds stripped state events, which carry only
    `sender`, `type`, `state_key` and `content`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(name="Come in")
    alice.invite(room, bob)
    body = bob.sync_until(invited_to(room))
    events = body["rooms"]["invite"][room].get("invite_state", {}).get("events", [])
    assert events, f"the invite has no invite_state events: {body['rooms']['invite'][room]}"
    extra = [sorted(set(e) - {"sender", "type", "state_key", "content"}) for e in events]
    assert not any(extra), f"stripped state events carry extra keys: {extra}"


@pytest.mark.spec("1.16")
def test_invite_state_includes_the_create_event(hs):
    """The invite state of a room includes its `m.room.create` event.

    Spec: client-server-api/#stripped-state (changed in v1.16) — `m.room.create` is
    required in `invite_state` on /sync.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room()
    alice.invite(room, bob)
    body = bob.sync_until(invited_to(room))
    events = body["rooms"]["invite"][room].get("invite_state", {}).get("events", [])
    types = [event.get("type") for event in events]
    assert "m.room.create" in types, f"invite_state lacks m.room.create: {types}"


def test_left_room_appears_in_leave_section(hs):
    """After leaving, the room is reported under `rooms.leave` with the leave event.

    Spec: client-server-api/#get_matrixclientv3sync (Left rooms) — rooms the user has
    left or been banned from are listed under `leave`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    bob.leave(room)
    body = bob.sync_until(left(room), state_has(
        room, "m.room.member", bob.user_id, lambda e: e["content"].get("membership") == "leave"))
    assert room not in body.get("rooms", {}).get("join", {}), "the left room is still under join"


def test_kicked_user_sees_room_in_leave_section(hs):
    """A kicked user finds the room under `rooms.leave`.

    Spec: client-server-api/#get_matrixclientv3sync (Left rooms) — rooms the user has
    left (including by being kicked) or been banned from are listed under `leave`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    alice.kick(room, bob, reason="testing")
    bob.sync_until(left(room))


def test_global_account_data_reaches_sync(hs):
    """Global account data set by the user comes down /sync in `account_data`.

    Spec: client-server-api/#client-config — account data is sent to the client through
    /sync when it changes.
    """
    alice = hs.register()
    alice.sync_until()  # start from an initial sync so the change is incremental
    alice.put_account_data("org.example.settings", {"theme": "dark"})
    alice.sync_until(account_data_has("org.example.settings",
                                      predicate=lambda e: e["content"] == {"theme": "dark"}))


def test_room_account_data_reaches_sync(hs):
    """Room account data comes down /sync in the joined room's `account_data`.

    Spec: client-server-api/#client-config — per-room account data is delivered through
    /sync under the room.
    """
    alice = hs.register()
    room = alice.create_room()
    alice.put_account_data("org.example.room_note", {"note": "remember"}, room=room)
    alice.sync_until(account_data_has("org.example.room_note", room,
                                      predicate=lambda e: e["content"] == {"note": "remember"}))


def test_state_change_appears_in_other_members_timeline(hs):
    """A state change reaches other members as a state event in their timeline.

    Spec: client-server-api/#syncing — new events, state events included, appear in the
    timeline of the next /sync.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    event_id = alice.send_state(room, "m.room.topic", {"topic": "new topic"})
    bob.sync_until(timeline_has(room, event_id,
                                lambda e: e.get("state_key") == "" and
                                e["content"] == {"topic": "new topic"}))
