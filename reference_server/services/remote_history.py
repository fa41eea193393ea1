# SPDX-License-Identifier: Apache-2.0
"""Events this server lacks, fetched from the server that referred to them.

A received PDU may name auth events, prev events or (through the state at a gap in the
DAG) state events that are not here. Spec (server-server, checks performed on receipt
of a PDU; retrieving events; backfilling and retrieving missing events): they are asked
for from the sending server — missing prev events with /get_missing_events, the state
at a gap with /state_ids (and /event or /state for what is still unknown). Every event
fetched passes the format, signature and hash checks and must belong to the room; the
ones only needed to check others are kept as outliers (known, not in the timeline).
"""
from __future__ import annotations

import logging

from ..federation.history_client import HistoryClient
from ..federation.pdu_checks import PduChecker, PduRejected
from ..protocol.events import prev_event_ids
from ..storage.state import StateMap
from ..types import EventId, JsonDict, RoomId
from .events import RoomEvents

log = logging.getLogger(__name__)

GAP_LIMIT = 10  # events asked for with one /get_missing_events
SINGLE_FETCHES = 20  # more unknown state events than this: one /state instead of /event each
MAX_STATE_EVENTS = 20000  # a larger /state_ids answer is refused


class RemoteHistory:
    def __init__(self, *, room_events: RoomEvents, checker: PduChecker,
                 client: HistoryClient) -> None:
        self._events = room_events
        self._checker = checker
        self._client = client

    async def fetch_outlier(self, origin: str, room_id: RoomId, event_id: EventId) -> bool:
        """GET /event from `origin`, check the event and keep it as an outlier; whether
        the event is here now."""
        if self._events.events.get(event_id) is not None:
            return True
        fetched = await self._client.event(origin, event_id)
        return fetched is not None and await self._keep_outlier(room_id, fetched, event_id)

    async def _keep_outlier(self, room_id: RoomId, pdu: JsonDict,
                            expected_id: EventId | None = None) -> bool:
        try:
            event_id, checked = await self._checker.check(pdu, self._events.version(room_id))
        except PduRejected as error:
            log.info("a fetched event of %s fails its checks: %s", room_id, error)
            return False
        if expected_id not in (None, event_id) or checked.get("room_id", room_id) != room_id:
            return False
        self._events.store_outlier(room_id, event_id, checked)
        return True

    async def missing_events(self, origin: str, room_id: RoomId, event_id: EventId,
                             pdu: JsonDict) -> list[JsonDict]:
        """The events between the room's forward extremities and `pdu`, oldest first, as
        `origin` gives them (at most GAP_LIMIT, unchecked)."""
        have = [p for p in prev_event_ids(pdu) if self.in_timeline(p)]
        earliest = list(dict.fromkeys([*self._events.events.forward_extremities(room_id), *have]))
        found = await self._client.missing_events(
            origin, room_id, earliest=earliest, latest=[event_id], limit=GAP_LIMIT,
            min_depth=self._events.events.min_timeline_depth(room_id) or 0)
        found = [e for e in found if isinstance(e.get("depth"), int)]
        # Too many answered: keep the newest, those nearest to the event; older gaps are
        # closed with the state at them instead.
        return sorted(found, key=lambda e: e["depth"])[-GAP_LIMIT:]

    def in_timeline(self, event_id: EventId) -> bool:
        """The event is here with its place in the room (not only as an outlier)."""
        stored = self._events.events.get(event_id)
        return stored is not None and not stored.outlier

    async def state_before(self, origin: str, room_id: RoomId, event_id: EventId) -> StateMap:
        """The state before `event_id` as `origin` gives it (/state_ids), with every event
        of it and of its auth chain fetched as outliers; PduRejected if unavailable."""
        answer = await self._client.state_ids(origin, room_id, event_id)
        if answer is None:
            raise PduRejected(f"{origin} did not give the state at {event_id}")
        state_ids, chain_ids = answer
        if len(state_ids) + len(chain_ids) > MAX_STATE_EVENTS:
            raise PduRejected(f"the state at {event_id} is too large")
        await self._fetch_all(origin, room_id, event_id, [*state_ids, *chain_ids])
        return self._state_map(room_id, event_id, state_ids)

    async def _fetch_all(self, origin: str, room_id: RoomId, at: EventId,
                         event_ids: list[EventId]) -> None:
        unknown = [e for e in dict.fromkeys(event_ids) if self._events.events.get(e) is None]
        if len(unknown) > SINGLE_FETCHES:
            answer = await self._client.state(origin, room_id, at)
            for pdu in [*answer[0], *answer[1]] if answer else []:
                await self._keep_outlier(room_id, pdu)
            unknown = [e for e in unknown if self._events.events.get(e) is None]
        for event_id in unknown[:SINGLE_FETCHES]:
            await self.fetch_outlier(origin, room_id, event_id)

    def _state_map(self, room_id: RoomId, at: EventId, state_ids: list[EventId]) -> StateMap:
        state: StateMap = {}
        for event_id in state_ids:
            stored = self._events.events.get(event_id)
            if stored is None or self._events.events.room_of(event_id) != room_id:
                raise PduRejected(f"could not get the state event {event_id} at {at}")
            state_key = stored.pdu.get("state_key")
            if state_key is None:
                raise PduRejected(f"the state at {at} lists {event_id}, not a state event")
            state[(stored.pdu["type"], state_key)] = event_id
        return state
