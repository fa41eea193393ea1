# SPDX-License-Identifier: Apache-2.0
"""A PDU whose checks need an event we lack: fetch it from the origin, then check again."""
from __future__ import annotations

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
