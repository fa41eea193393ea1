# SPDX-License-Identifier: Apache-2.0
"""An event with its surroundings: GET /rooms/{roomId}/context/{eventId} (event_context.yaml).

The room's full history, read forwards through /messages, is the reference against which
`events_before` (newest first) and `events_after` (oldest first) are checked.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, expect_ok

MAX_PAGES = 50


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def history(client, room: str) -> list[str]:
    """Every event ID of the room, oldest first, through /messages dir=f."""
    seen: list[str] = []
    token = None
    for _ in range(MAX_PAGES):
        page = client.messages(room, dir="f", from_=token, limit=20)
        seen.extend(event["event_id"] for event in page["chunk"])
        if "end" not in page:
            return seen
        token = page["end"]
    pytest.fail(f"/messages kept returning `end` after {MAX_PAGES} pages", pytrace=False)


def context(client, room: str, event_id: str, **params) -> dict:
    response = client.do("GET", ["rooms", room, "context", event_id], params=params)
    return expect_ok(response, f"get the context of {event_id}")


def room_with_messages(hs, count: int = 7):
    alice = hs.register()
    room = alice.create_room(name="Context")
    sent = [alice.send(room, text(f"m{n}")) for n in range(count)]
    return alice, room, sent


def test_context_returns_the_requested_event(hs):
    """The answer's `event` is the requested event.

    Spec: client-server-api/#get_matrixclientv3roomsroomidcontexteventid — `event` holds
    the details of the requested event.
    """
    alice, room, sent = room_with_messages(hs, 3)
    body = context(alice, room, sent[1])
    assert body["event"]["event_id"] == sent[1], f"asked for {sent[1]}, got {body['event']}"
    assert body["event"]["content"] == text("m1"), f"the event's content is wrong: {body['event']}"


def test_context_events_are_the_neighbours_in_order(hs):
    """`events_before` are the events just before, newest first; `events_after` just after.

    Spec: client-server-api/#get_matrixclientv3roomsroomidcontexteventid —
    `events_before` are the events that happened just before, in reverse-chronological
    order; `events_after` those just after, in chronological order.
    """
    alice, room, sent = room_with_messages(hs)
    timeline = history(alice, room)
    anchor = timeline.index(sent[3])
    body = context(alice, room, sent[3], limit=6)
    before = [event["event_id"] for event in body.get("events_before", [])]
    after = [event["event_id"] for event in body.get("events_after", [])]
    assert before or after, f"limit=6 around a message returned no context: {body}"
    assert before == list(reversed(timeline[anchor - len(before):anchor])), (
        f"events_before should be the {len(before)} events just before, newest first: "
        f"{before}; history is {timeline}")
    assert after == timeline[anchor + 1:anchor + 1 + len(after)], (
        f"events_after should be the {len(after)} events just after, oldest first: "
        f"{after}; history is {timeline}")


@pytest.mark.parametrize("limit", [pytest.param(0, id="zero"), pytest.param(2, id="two")])
def test_context_limit_caps_before_and_after_together(hs, limit):
    """`limit` caps `events_before` and `events_after` together; the event always comes.

    Spec: client-server-api/#get_matrixclientv3roomsroomidcontexteventid — the limit
    applies to the sum of both arrays, and the requested event is returned even with a
    limit of 0.
    """
    alice, room, sent = room_with_messages(hs, 5)
    body = context(alice, room, sent[2], limit=limit)
    count = len(body.get("events_before", [])) + len(body.get("events_after", []))
    assert count <= limit, f"limit={limit} but {count} context events were returned"
    assert body["event"]["event_id"] == sent[2], f"the requested event is missing: {body}"


def test_context_includes_the_room_state(hs):
    """The answer's `state` is the room state, including the room's name and create event.

    Spec: client-server-api/#get_matrixclientv3roomsroomidcontexteventid — `state` is
    the state of the room at the last event returned.
    """
    alice, room, sent = room_with_messages(hs, 3)
    body = context(alice, room, sent[1], limit=2)
    state = {(event["type"], event.get("state_key")): event for event in body.get("state", [])}
    assert ("m.room.create", "") in state, f"the state lacks m.room.create: {sorted(state)}"
    assert state.get(("m.room.name", ""), {}).get("content") == {"name": "Context"}, (
        f"the state lacks the room name: {sorted(state)}")
    assert state.get(("m.room.member", alice.user_id), {}).get("content", {}).get(
        "membership") == "join", f"the state lacks alice's membership: {sorted(state)}"


def test_context_tokens_continue_with_messages(hs):
    """`start` pages back from the earliest event returned, `end` forward from the latest.

    Spec: client-server-api/#get_matrixclientv3roomsroomidcontexteventid — `start` and
    `end` are tokens for /messages to paginate backwards and forwards.
    """
    alice, room, sent = room_with_messages(hs)
    timeline = history(alice, room)
    anchor = timeline.index(sent[3])
    body = context(alice, room, sent[3], limit=2)
    first = anchor - len(body.get("events_before", []))
    last = anchor + len(body.get("events_after", []))
    older = alice.messages(room, dir="b", from_=body["start"], limit=1)["chunk"]
    newer = alice.messages(room, dir="f", from_=body["end"], limit=1)["chunk"]
    assert [e["event_id"] for e in older] == [timeline[first - 1]], (
        f"paging back from `start` should give {timeline[first - 1]}, got {older}")
    assert [e["event_id"] for e in newer] == [timeline[last + 1]], (
        f"paging forward from `end` should give {timeline[last + 1]}, got {newer}")


def test_context_filter_applies_to_surroundings_not_the_event(hs):
    """A filter shapes `events_before`/`events_after` but never hides the requested event.

    Spec: client-server-api/#get_matrixclientv3roomsroomidcontexteventid — the filter is
    applied to `events_before`, `events_after` and `state`, not to `event` itself.
    """
    alice, room, sent = room_with_messages(hs, 5)
    body = context(alice, room, sent[2], limit=10,
                   filter='{"not_types": ["m.room.message"]}')
    assert body["event"]["event_id"] == sent[2], f"the filter hid the requested event: {body}"
    around = body.get("events_before", []) + body.get("events_after", [])
    leaked = [event["event_id"] for event in around if event["type"] == "m.room.message"]
    assert not leaked, f"filtered-out messages appear in the context: {leaked}"


def test_context_of_unknown_event_is_not_found(hs):
    """Asking for the context of an event the room does not have is 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3roomsroomidcontexteventid and
    #common-error-codes — M_NOT_FOUND: no resource was found for the request.
    """
    alice, room, _ = room_with_messages(hs, 1)
    response = alice.do("GET", ["rooms", room, "context", "$doesnotexist"])
    expect_error(response, 404, "M_NOT_FOUND")


def test_context_is_refused_to_non_members(hs):
    """A user who cannot see the room's history gets no context from it.

    Spec: client-server-api/#event-context (security considerations) — the server must
    only return what the user may see. The spec names no error for this; servers answer
    403 M_FORBIDDEN (no access) or 404 M_NOT_FOUND (hiding the event), and either is
    accepted.
    """
    alice, room, sent = room_with_messages(hs, 1)
    mallory = hs.register()
    response = mallory.do("GET", ["rooms", room, "context", sent[0]])
    allowed = {(403, "M_FORBIDDEN"), (404, "M_NOT_FOUND")}
    body = response.json() if response.content else {}
    assert (response.status_code, body.get("errcode")) in allowed, (
        f"expected 403 M_FORBIDDEN or 404 M_NOT_FOUND, got {response.status_code} {body}")
