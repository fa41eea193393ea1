# SPDX-License-Identifier: Apache-2.0
"""Reading a room's history from another server: single events, missing events, state.

Spec: server-server-api/#retrieving-events (GET /event, /state, /state_ids) and
#backfilling-and-retrieving-missing-events (POST /get_missing_events). Each call answers
None (or an empty list) when the server cannot be reached, refuses, or answers something
of the wrong shape: the caller then treats what it asked for as unavailable. What comes
back is unchecked; the caller checks every event before it keeps it.
"""
from __future__ import annotations

from urllib.parse import quote

from ..types import EventId, JsonDict, RoomId
from .client import FederationClient, FederationError

V1 = "/_matrix/federation/v1"
TIMEOUT_SECONDS = 20


class HistoryClient:
    def __init__(self, client: FederationClient) -> None:
        self._client = client

    async def event(self, origin: str, event_id: EventId) -> JsonDict | None:
        """GET /event/{eventId}: the one PDU of the answer."""
        answer = await self._get(origin, f"{V1}/event/{_segment(event_id)}")
        pdus = answer.get("pdus") if isinstance(answer, dict) else None
        if not isinstance(pdus, list) or len(pdus) != 1 or not isinstance(pdus[0], dict):
            return None
        return pdus[0]

    async def missing_events(self, origin: str, room_id: RoomId, *, earliest: list[EventId],
                             latest: list[EventId], limit: int,
                             min_depth: int) -> list[JsonDict]:
        """POST /get_missing_events/{roomId}: events before `latest` back to `earliest`."""
        body = {"earliest_events": earliest, "latest_events": latest, "limit": limit,
                "min_depth": min_depth}
        try:
            answer = await self._client.request(
                "POST", origin, f"{V1}/get_missing_events/{_segment(room_id)}", body=body,
                timeout=TIMEOUT_SECONDS)
        except FederationError:
            return []
        events = answer.get("events") if isinstance(answer, dict) else None
        return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []

    async def state_ids(self, origin: str, room_id: RoomId, event_id: EventId
                        ) -> tuple[list[EventId], list[EventId]] | None:
        """GET /state_ids/{roomId}: the IDs of the state before an event and of its
        auth chain."""
        answer = await self._get(origin, f"{V1}/state_ids/{_segment(room_id)}",
                                 {"event_id": event_id})
        if not isinstance(answer, dict):
            return None
        state, chain = answer.get("pdu_ids"), answer.get("auth_chain_ids")
        if not _strings(state) or not _strings(chain):
            return None
        return state, chain

    async def state(self, origin: str, room_id: RoomId, event_id: EventId
                    ) -> tuple[list[JsonDict], list[JsonDict]] | None:
        """GET /state/{roomId}: the state before an event and its auth chain, as PDUs."""
        answer = await self._get(origin, f"{V1}/state/{_segment(room_id)}",
                                 {"event_id": event_id})
        if not isinstance(answer, dict):
            return None
        state, chain = answer.get("pdus"), answer.get("auth_chain")
        if not isinstance(state, list) or not isinstance(chain, list):
            return None
        return ([e for e in state if isinstance(e, dict)],
                [e for e in chain if isinstance(e, dict)])

    async def _get(self, origin: str, path: str, query: dict | None = None) -> object:
        try:
            return await self._client.request("GET", origin, path, query=query,
                                              timeout=TIMEOUT_SECONDS)
        except FederationError:
            return None


def _segment(value: str) -> str:
    return quote(value, safe="")


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
