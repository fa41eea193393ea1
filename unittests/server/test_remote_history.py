# SPDX-License-Identifier: Apache-2.0
"""Fetching what a received PDU's checks need: the events of a gap, the state at it.

Spec: server-server-api/#backfilling-and-retrieving-missing-events (POST
/get_missing_events), #retrieving-events (/state_ids, /state, /event).
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import trio

from reference_server.federation.pdu_checks import PduRejected
from reference_server.services.remote_history import GAP_LIMIT, SINGLE_FETCHES, RemoteHistory

ROOM = "!room:a.test"


class _Events:
    """Just enough of RoomEvents: stored events (some outliers), extremities, depth."""

    def __init__(self, timeline: dict[str, dict], extremities: list[str]) -> None:
        self.stored = {e: SimpleNamespace(pdu=p, outlier=False) for e, p in timeline.items()}
        self.events = SimpleNamespace(
            get=self.stored.get, room_of=lambda e: ROOM if e in self.stored else None,
            forward_extremities=lambda room_id: extremities,
            min_timeline_depth=lambda room_id: 3)

    def version(self, room_id):
        return None

    def store_outlier(self, room_id, event_id, pdu):
        self.stored[event_id] = SimpleNamespace(pdu=pdu, outlier=True)


class _Checker:
    async def check(self, pdu, version):
        if pdu.get("forged"):
            raise PduRejected("the event lacks a valid signature")
        return pdu["event_id"], pdu


class _Client:
    """A remote server holding `events`; records what it was asked."""

    def __init__(self, events: dict[str, dict], *, state_ids=None, gap=()) -> None:
        self.events, self.state_ids_answer, self.gap = events, state_ids, list(gap)
        self.asked: list[tuple] = []

    async def event(self, origin, event_id):
        self.asked.append(("event", event_id))
        return self.events.get(event_id)

    async def missing_events(self, origin, room_id, **query):
        self.asked.append(("get_missing_events", query))
        return self.gap

    async def state_ids(self, origin, room_id, event_id):
        self.asked.append(("state_ids", event_id))
        return self.state_ids_answer

    async def state(self, origin, room_id, event_id):
        self.asked.append(("state", event_id))
        ids, chain = self.state_ids_answer
        return [self.events[e] for e in ids], [self.events[e] for e in chain]


def _event(event_id: str, *, depth: int = 5, state_key: str | None = "", **extra) -> dict:
    pdu = {"event_id": event_id, "room_id": ROOM, "type": "m.room.topic", "depth": depth,
           "prev_events": [], **extra}
    if state_key is not None:
        pdu["state_key"] = state_key
    return pdu


def _history(events: _Events, client: _Client) -> RemoteHistory:
    return RemoteHistory(room_events=events, checker=_Checker(), client=client)


def test_the_gap_is_asked_for_between_our_extremities_and_the_event() -> None:
    events = _Events({"$known": _event("$known"), "$tip": _event("$tip")}, ["$tip"])
    gap = [_event(f"$g{n}", depth=n) for n in range(GAP_LIMIT + 3, 0, -1)]
    client = _Client({}, gap=gap)
    pdu = _event("$new", prev_events=["$known", "$unknown"])

    found = trio.run(_history(events, client).missing_events, "b.test", ROOM, "$new", pdu)

    assert client.asked == [("get_missing_events", {
        "earliest": ["$tip", "$known"], "latest": ["$new"], "limit": GAP_LIMIT,
        "min_depth": 3})]
    depths = [e["depth"] for e in found]
    assert depths == sorted(depths) and len(found) == GAP_LIMIT and depths[-1] == GAP_LIMIT + 3


def test_the_state_at_a_gap_is_fetched_as_outliers() -> None:
    remote = {"$topic": _event("$topic"), "$auth": _event("$auth", state_key="x")}
    events = _Events({"$create": _event("$create", type="m.room.create")}, [])
    client = _Client(remote, state_ids=(["$create", "$topic"], ["$auth"]))

    state = trio.run(_history(events, client).state_before, "b.test", ROOM, "$gap")

    assert state == {("m.room.create", ""): "$create", ("m.room.topic", ""): "$topic"}
    assert events.stored["$topic"].outlier and events.stored["$auth"].outlier


def test_a_state_event_that_cannot_be_had_refuses_the_state() -> None:
    forged = _event("$topic", forged=True)
    client = _Client({"$topic": forged}, state_ids=(["$topic"], []))
    with pytest.raises(PduRejected, match=r"\$topic"):
        trio.run(_history(_Events({}, []), client).state_before, "b.test", ROOM, "$gap")


def test_a_message_listed_as_state_refuses_the_state() -> None:
    message = _event("$message", state_key=None)
    client = _Client({"$message": message}, state_ids=(["$message"], []))
    with pytest.raises(PduRejected, match="not a state event"):
        trio.run(_history(_Events({}, []), client).state_before, "b.test", ROOM, "$gap")


def test_much_unknown_state_is_fetched_with_one_state_request() -> None:
    remote = {f"$s{n}": _event(f"$s{n}", state_key=str(n)) for n in range(SINGLE_FETCHES + 1)}
    client = _Client(remote, state_ids=(list(remote), []))

    trio.run(_history(_Events({}, []), client).state_before, "b.test", ROOM, "$gap")

    assert [kind for kind, _ in client.asked] == ["state_ids", "state"]
