# SPDX-License-Identifier: Apache-2.0
"""A PDU whose checks need events we lack: auth events are fetched and the check retried;
missing prev events are asked for with /get_missing_events, or the state at them used.

Spec: server-server-api/#checks-performed-on-receipt-of-a-pdu,
#backfilling-and-retrieving-missing-events.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import trio

from reference_server.federation.pdu_checks import PduRejected
from reference_server.services.remote_events import MAX_FETCHES, MissingEvent, RemoteEvents


class _History:
    """Fetches (or fails to fetch) whatever is asked for, and remembers what."""

    def __init__(self, fetchable: bool) -> None:
        self.fetched: list[str] = []
        self._fetchable = fetchable

    async def fetch_outlier(self, origin, room_id, event_id):
        self.fetched.append(event_id)
        return self._fetchable


def _needs(history: _History, *event_ids: str):
    """A check that misses each of `event_ids` until it has been fetched."""
    def attempt():
        for event_id in event_ids:
            if event_id not in history.fetched:
                raise MissingEvent(event_id, f"unknown auth event {event_id}")
        return "stored"
    return attempt


def _fetching(history: _History, attempt):
    remote = RemoteEvents(room_events=None, checker=None, history=history)
    return trio.run(remote._fetching, "origin.example", "!r", attempt)


def test_missing_events_are_fetched_and_the_check_retried() -> None:
    history = _History(fetchable=True)
    assert _fetching(history, _needs(history, "$a", "$b")) == "stored"
    assert history.fetched == ["$a", "$b"]


def test_an_unfetchable_event_rejects_the_pdu() -> None:
    history = _History(fetchable=False)
    with pytest.raises(PduRejected, match=r"\$needed"):
        _fetching(history, _needs(history, "$needed"))


def test_fetching_stops_after_a_bounded_number_of_events() -> None:
    """A server naming ever more unknown events cannot keep us fetching forever."""
    history = _History(fetchable=True)
    endless = _needs(history, *(f"$e{n}" for n in range(MAX_FETCHES + 5)))
    with pytest.raises(PduRejected, match="too many"):
        _fetching(history, endless)
    assert len(history.fetched) == MAX_FETCHES


# -- missing prev events -------------------------------------------------------------------


class _Room:
    """Just enough of RoomEvents: the events here, by ID (all in the timeline)."""

    def __init__(self, *event_ids: str) -> None:
        self.stored = {e: SimpleNamespace(outlier=False) for e in event_ids}
        self.events = SimpleNamespace(get=self.stored.get)

    def version(self, room_id):
        return None


class _Checker:
    async def check(self, pdu, version):
        return pdu["event_id"], pdu


class _Gap:
    """A sender that gives `pulled` for any /get_missing_events and some state for any
    /state_ids; records what it was asked."""

    def __init__(self, pulled: list[dict]) -> None:
        self.pulled, self.asked = pulled, []

    async def missing_events(self, origin, room_id, event_id, pdu):
        self.asked.append(("get_missing_events", event_id))
        return self.pulled

    async def state_before(self, origin, room_id, event_id):
        self.asked.append(("state_ids", event_id))
        return {}

    async def fetch_outlier(self, origin, room_id, event_id):
        return True


class _Placing(RemoteEvents):
    """Records each event placed, with the prev events whose state came from the sender."""

    def __init__(self, room: _Room, gap: _Gap) -> None:
        super().__init__(room_events=room, checker=_Checker(), history=gap)
        self.room, self.placed = room, []

    def _place(self, room_id, event_id, pdu, remote_states):
        self.placed.append((event_id, sorted(remote_states)))
        self.room.stored[event_id] = SimpleNamespace(outlier=False, pdu=pdu)
        return event_id

    async def _state_after_missing(self, origin, room_id, prev_id):
        return await self._history.state_before(origin, room_id, prev_id)


def _pdu(event_id: str, *prevs: str) -> dict:
    return {"event_id": event_id, "room_id": "!r", "prev_events": list(prevs)}


def test_the_gap_is_received_first_and_pulled_events_ask_no_further() -> None:
    """C's missing parent B comes from /get_missing_events and is placed first; B's own
    missing parent A is not chased with another /get_missing_events (that could recurse
    without end) but closed with the state at A."""
    room, gap = _Room("$known"), _Gap([_pdu("$B", "$A")])
    remote = _Placing(room, gap)

    trio.run(remote.receive_from, "origin.example", "!r", _pdu("$C", "$B"))

    assert gap.asked == [("get_missing_events", "$C"), ("state_ids", "$A")]
    assert remote.placed == [("$B", ["$A"]), ("$C", [])]


def test_a_gap_the_sender_does_not_fill_is_closed_with_the_state_at_it() -> None:
    room, gap = _Room("$known"), _Gap([])
    remote = _Placing(room, gap)

    trio.run(remote.receive_from, "origin.example", "!r", _pdu("$C", "$known", "$B"))

    assert gap.asked == [("get_missing_events", "$C"), ("state_ids", "$B")]
    assert remote.placed == [("$C", ["$B"])]
