# SPDX-License-Identifier: Apache-2.0
"""Asking other servers in a room for the event closest to a time (server-server,
GET /timestamp_to_event), then fetching that event (GET /event) so it is known here.

The fetched event goes through the usual format, signature and hash checks and is kept
as an outlier: known and readable, without a place in this server's timeline.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

from ..services.events import RoomEvents
from ..types import JsonDict, RoomId
from .client import FederationClient, FederationError
from .pdu_checks import PduChecker, PduRejected

log = logging.getLogger(__name__)


class RemoteTimestamps:
    def __init__(self, *, client: FederationClient, checker: PduChecker,
                 room_events: RoomEvents, server_name: str) -> None:
        self._client = client
        self._checker = checker
        self._events = room_events
        self._server_name = server_name

    async def __call__(self, room_id: RoomId, ts: int, forwards: bool) -> tuple[str, int] | None:
        servers = self._events.state.servers_in_room(room_id)
        for server in sorted(servers - {self._server_name}):
            found = await self._ask(server, room_id, ts, forwards)
            if found is not None:
                return found
        return None

    async def _ask(self, server: str, room_id: RoomId, ts: int,
                   forwards: bool) -> tuple[str, int] | None:
        try:
            answer = await self._client.request(
                "GET", server, f"/_matrix/federation/v1/timestamp_to_event/"
                f"{quote(room_id, safe='')}", query={"ts": ts, "dir": "f" if forwards else "b"},
                timeout=10)
        except FederationError as error:
            log.info("%s found no event near %s in %s: %s", server, ts, room_id, error)
            return None
        event_id = answer.get("event_id") if isinstance(answer, dict) else None
        if not isinstance(event_id, str):
            return None
        pdu = await self._fetch(server, room_id, event_id)
        return (event_id, pdu["origin_server_ts"]) if pdu is not None else None

    async def _fetch(self, server: str, room_id: RoomId, event_id: str) -> JsonDict | None:
        """The event as stored here, fetching and checking it first if need be."""
        stored = self._events.events.get(event_id)
        if stored is not None:
            return stored.pdu if self._events.events.room_of(event_id) == room_id else None
        try:
            answer = await self._client.request(
                "GET", server, f"/_matrix/federation/v1/event/{quote(event_id, safe='')}",
                timeout=10)
            pdu = answer["pdus"][0]
            checked_id, checked = await self._checker.check(pdu, self._events.version(room_id))
        except (FederationError, PduRejected, KeyError, IndexError, TypeError) as error:
            log.info("could not fetch %s from %s: %s", event_id, server, error)
            return None
        if checked_id != event_id or checked.get("room_id") != room_id:
            return None
        self._events.store_outlier(room_id, event_id, checked)
        return checked
