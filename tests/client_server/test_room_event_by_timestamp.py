# SPDX-License-Identifier: Apache-2.0
"""GET /timestamp_to_event: the room event closest to a point in time.

Expectations are computed from the room's own timeline (read with /messages), so ties
between events sent in the same millisecond never make a test flaky: any event with the
nearest timestamp is a right answer.

Spec: client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.federation_history import closest

pytestmark = pytest.mark.spec("1.6")
CLIENT_V1 = "/_matrix/client/v1"


def _timestamp_to_event(client, room: str, ts: int, direction: str):
    return client.do("GET", ["rooms", room, "timestamp_to_event"],
                     params={"ts": ts, "dir": direction}, prefix=CLIENT_V1)


def _room_with_messages(hs, count: int = 3):
    """A fresh room with `count` messages; returns the user, the room and its timeline."""
    alice = hs.register()
    room = alice.create_room()
    for n in range(count):
        alice.send(room, {"msgtype": "m.text", "body": f"bell {n}"})
    timeline = alice.messages(room, dir="b", limit=100)["chunk"]
    return alice, room, {event["event_id"]: event for event in timeline}


def _check_answer(answer: dict, timeline: dict, ts: int, forwards: bool) -> None:
    """The answer is an event of the room whose timestamp is the nearest one to `ts`."""
    wanted = closest(timeline, ts, forwards=forwards)
    assert wanted is not None, "the test's own timeline has no such event"
    wanted_ts = timeline[wanted]["origin_server_ts"]
    assert answer["origin_server_ts"] == wanted_ts, \
        f"{answer} is not the nearest event {'after' if forwards else 'before'} {ts} " \
        f"(that is {wanted} at {wanted_ts})"
    assert timeline.get(answer["event_id"], {}).get("origin_server_ts") == wanted_ts, answer


@pytest.mark.parametrize("direction", ["f", "b"])
def test_the_nearest_event_in_the_direction_is_found(hs, direction):
    """From a message's timestamp, the nearest event in the direction asked is returned.

    Spec: client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event — the
    event closest to `ts` in the direction given by `dir` (`f` forwards, `b`
    backwards), with its `origin_server_ts`.
    """
    alice, room, timeline = _room_with_messages(hs)
    middle = sorted(e["origin_server_ts"] for e in timeline.values())[len(timeline) // 2]
    ts = middle + (1 if direction == "f" else -1)

    answer = expect_ok(_timestamp_to_event(alice, room, ts, direction),
                       f"find the event {direction} of {ts}")

    _check_answer(answer, timeline, ts, forwards=direction == "f")


def test_the_first_event_is_found_forwards_from_the_beginning_of_time(hs):
    """Looking forwards from timestamp 0 finds the room's first event, its creation.

    Spec: client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event — the
    closest event after `ts`; rooms begin with their m.room.create event.
    """
    alice, room, timeline = _room_with_messages(hs, count=1)

    answer = expect_ok(_timestamp_to_event(alice, room, 0, "f"), "find the first event")

    _check_answer(answer, timeline, 0, forwards=True)


@pytest.mark.parametrize("direction, when", [
    pytest.param("f", 4102444800000, id="forwards-from-the-future"),
    pytest.param("b", 1, id="backwards-from-before-the-room"),
])
def test_no_event_in_that_direction_is_not_found(hs, direction, when):
    """When no event lies in that direction the answer is 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv1roomsroomidtimestamp_to_event — 404 when
    no event was found.
    """
    alice, room, _ = _room_with_messages(hs, count=1)

    expect_error(_timestamp_to_event(alice, room, when, direction), 404, "M_NOT_FOUND")
