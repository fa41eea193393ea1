# SPDX-License-Identifier: Apache-2.0
"""Paging through room history: GET /rooms/{roomId}/messages (message_pagination.yaml).

Covers direction and order, `limit`, chaining pages through `end`, bounding with `to`,
sync tokens as `from`, the `dir` parameter's validation, event filters, and history
visibility (former members, `joined`/`invited`/`shared`/`world_readable`).
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error

MAX_PAGES = 50


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def send_messages(client, room: str, count: int, prefix: str = "m") -> list[str]:
    """Sends `count` messages with bodies prefix0, prefix1, ...; returns their event IDs."""
    return [client.send(room, text(f"{prefix}{n}")) for n in range(count)]


def read_all(client, room: str, dir: str, **params) -> list[dict]:
    """Every event /messages yields, following `end` until the server omits it."""
    events: list[dict] = []
    token = params.pop("from_", None)
    for _ in range(MAX_PAGES):
        page = client.messages(room, dir=dir, from_=token, **params)
        events.extend(page["chunk"])
        if "end" not in page:
            return events
        token = page["end"]
    pytest.fail(f"/messages dir={dir} still returned `end` after {MAX_PAGES} pages "
                f"({len(events)} events so far)", pytrace=False)


def ids(events: list[dict]) -> list[str]:
    return [event["event_id"] for event in events]


def messages_only(events: list[dict]) -> list[str]:
    """The event IDs of the `m.room.message` events, in the order given."""
    return [event["event_id"] for event in events if event["type"] == "m.room.message"]


def test_backwards_pagination_returns_newest_first(hs):
    """With dir=b and no `from`, the page starts at the newest event and goes back.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — `dir=b` returns
    events in reverse-chronological order; without `from` it starts at the last visible
    event.
    """
    alice = hs.register()
    room = alice.create_room()
    sent = send_messages(alice, room, 3)
    chunk = alice.messages(room, dir="b", limit=3)["chunk"]
    assert ids(chunk) == list(reversed(sent)), (
        f"expected the three messages newest first {list(reversed(sent))}, got {ids(chunk)}")


def test_forwards_pagination_returns_oldest_first(hs):
    """With dir=f and no `from`, pages start at the room's first event and go forward.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — `dir=f` returns
    events in chronological order; without `from` it starts at the first visible event,
    here the room's `m.room.create`.
    """
    alice = hs.register()
    room = alice.create_room()
    sent = send_messages(alice, room, 3)
    events = read_all(alice, room, "f", limit=5)
    assert events and events[0]["type"] == "m.room.create", (
        f"forward pagination should start at m.room.create: {[e['type'] for e in events]}")
    assert messages_only(events) == sent, f"messages out of order: {messages_only(events)}"


def test_limit_caps_the_page(hs):
    """`limit` is the most events one page may hold; `end` shows there is more.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — `limit` is the
    maximum number of events returned; `end` is omitted only when no more are available.
    """
    alice = hs.register()
    room = alice.create_room()
    send_messages(alice, room, 4)
    page = alice.messages(room, dir="b", limit=2)
    assert len(page["chunk"]) <= 2, f"limit=2 returned {len(page['chunk'])} events"
    assert "end" in page, f"more history exists, but the page has no `end`: {page}"


@pytest.mark.parametrize("dir", [pytest.param("b", id="backwards"),
                                 pytest.param("f", id="forwards")])
def test_end_tokens_chain_through_every_event_once(hs, dir):
    """Following `end` from page to page yields every event exactly once, in order.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — `end` may be passed
    back as `from` to continue; clients paginate until `end` is absent.
    """
    alice = hs.register()
    room = alice.create_room()
    sent = send_messages(alice, room, 5)
    events = read_all(alice, room, dir, limit=2)
    seen = ids(events)
    assert len(seen) == len(set(seen)), f"some events came twice: {seen}"
    expected = sent if dir == "f" else list(reversed(sent))
    assert messages_only(events) == expected, (
        f"dir={dir}: expected the messages {expected}, got {messages_only(events)}")
    types = [event["type"] for event in events]
    assert "m.room.create" in types, f"pagination stopped before the room's start: {types}"


def test_to_token_bounds_backward_pagination(hs):
    """With `to` set to an earlier sync token, paging back stops at that point.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — `to` is where to
    stop returning events; sync's `next_batch` is a valid token for it.
    """
    alice = hs.register()
    room = alice.create_room()
    older = send_messages(alice, room, 2, prefix="old")
    boundary = alice.sync()["next_batch"]
    newer = send_messages(alice, room, 2, prefix="new")
    events = read_all(alice, room, "b", to=boundary, limit=10)
    assert messages_only(events) == list(reversed(newer)), (
        f"expected only the messages after the boundary, newest first; got "
        f"{messages_only(events)} (older ones were {older})")


def test_sync_next_batch_works_as_forward_from(hs):
    """Sync's `next_batch` used as `from` with dir=f yields only later events.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — `from` may be a
    `next_batch` token returned by /sync.
    """
    alice = hs.register()
    room = alice.create_room()
    send_messages(alice, room, 2, prefix="before")
    token = alice.sync()["next_batch"]
    later = send_messages(alice, room, 2, prefix="after")
    events = read_all(alice, room, "f", from_=token, limit=10)
    assert messages_only(events) == later, f"expected {later} after the token, got {ids(events)}"


def test_sync_prev_batch_continues_backwards(hs):
    """A limited sync timeline's `prev_batch` pages back to the events just before it.

    Spec: client-server-api/#syncing — `prev_batch` can be passed as `from` to
    /rooms/{roomId}/messages to retrieve earlier events.
    """
    alice = hs.register()
    room = alice.create_room()
    sent = send_messages(alice, room, 5)
    body = alice.sync(filter={"room": {"timeline": {"limit": 2}}})
    timeline = body["rooms"]["join"][room]["timeline"]
    assert ids(timeline["events"]) == sent[3:], f"the sync timeline is {ids(timeline['events'])}"
    assert timeline.get("prev_batch"), f"a limited timeline should have prev_batch: {timeline}"
    earlier = read_all(alice, room, "b", from_=timeline["prev_batch"], limit=2)
    assert messages_only(earlier) == list(reversed(sent[:3])), (
        f"expected {list(reversed(sent[:3]))} before the sync timeline, got {messages_only(earlier)}")


def test_missing_dir_is_rejected(hs):
    """`dir` is required: a request without it is refused with M_MISSING_PARAM.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — `dir` is a required
    query parameter; M_MISSING_PARAM is the spec's code for a missing required parameter.
    """
    alice = hs.register()
    room = alice.create_room()
    expect_error(alice.do("GET", ["rooms", room, "messages"]), 400, "M_MISSING_PARAM")


@pytest.mark.parametrize("dir", [pytest.param("sideways", id="unknown-word"),
                                 pytest.param("B", id="wrong-case")])
def test_invalid_dir_is_rejected(hs, dir):
    """`dir` must be exactly `b` or `f`; any other value is M_INVALID_PARAM.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — `dir` is one of
    `b`, `f`; M_INVALID_PARAM is the spec's code for a parameter with a wrong value.
    """
    alice = hs.register()
    room = alice.create_room()
    response = alice.do("GET", ["rooms", room, "messages"], params={"dir": dir})
    expect_error(response, 400, "M_INVALID_PARAM")


def test_filter_types_keeps_only_listed_types(hs):
    """A RoomEventFilter with `types` returns only events of those types.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages (`filter`, a
    RoomEventFilter) — `types` lists the event types to include.
    """
    alice = hs.register()
    room = alice.create_room()
    sent = send_messages(alice, room, 2)
    events = read_all(alice, room, "b", filter={"types": ["m.room.message"]}, limit=10)
    assert ids(events) == list(reversed(sent)), (
        f"expected only the two messages, got {[(e['type'], e['event_id']) for e in events]}")


def test_filter_not_types_drops_listed_types(hs):
    """A RoomEventFilter with `not_types` leaves those event types out.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages (`filter`, a
    RoomEventFilter) — `not_types` lists event types to exclude.
    """
    alice = hs.register()
    room = alice.create_room()
    send_messages(alice, room, 2)
    events = read_all(alice, room, "b", filter={"not_types": ["m.room.message"]}, limit=10)
    types = [event["type"] for event in events]
    assert "m.room.message" not in types, f"excluded messages were returned: {types}"
    assert "m.room.create" in types, f"other events should still be returned: {types}"


def test_non_member_cannot_read_history(hs):
    """Someone who was never in a (not world-readable) room cannot page its history.

    Spec: client-server-api/#get_matrixclientv3roomsroomidmessages — 403 M_FORBIDDEN when
    the caller is not a member of the room.
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    send_messages(alice, room, 1)
    response = mallory.do("GET", ["rooms", room, "messages"], params={"dir": "b"})
    expect_error(response, 403, "M_FORBIDDEN")


def test_former_member_sees_nothing_sent_after_leaving(hs):
    """After leaving, a user still reads what they could see, but nothing newer.

    Spec: client-server-api/#room-history-visibility — after a user has left a room they
    may see the events they were allowed to see before leaving, but none after.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    before = alice.send(room, text("while bob is here"))
    bob.leave(room)
    after = alice.send(room, text("after bob left"))
    seen = ids(read_all(bob, room, "b", limit=10))
    assert before in seen, f"bob should still see {before} from his time in the room: {seen}"
    assert after not in seen, f"bob must not see {after}, sent after he left: {seen}"


# The scenario for each row: "before-invite" is sent, Bob is invited, "after-invite" is
# sent, Bob joins, "after-join" is sent. Each row is one history_visibility option.
@pytest.mark.parametrize("visibility,visible", [
    pytest.param("shared", ["before-invite", "after-invite", "after-join"], id="shared"),
    pytest.param("invited", ["after-invite", "after-join"], id="invited"),
    pytest.param("joined", ["after-join"], id="joined"),
    pytest.param("world_readable", ["before-invite", "after-invite", "after-join"],
                 id="world-readable"),
])
def test_history_visibility_decides_what_a_new_member_sees(hs, visibility, visible):
    """A new member sees earlier history exactly as the room's history_visibility allows.

    Spec: client-server-api/#room-history-visibility — `shared` shows all history to
    members, `invited` shows events from the user's invite on, `joined` from their join
    on, `world_readable` everything.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.send_state(room, "m.room.history_visibility", {"history_visibility": visibility})
    alice.send(room, text("before-invite"))
    alice.invite(room, bob)
    alice.send(room, text("after-invite"))
    bob.join(room)
    alice.send(room, text("after-join"))
    events = read_all(bob, room, "f", limit=10)
    bodies = [e["content"].get("body") for e in events if e["type"] == "m.room.message"]
    assert bodies == visible, (
        f"with history_visibility={visibility} bob should see {visible}, sees {bodies}")
