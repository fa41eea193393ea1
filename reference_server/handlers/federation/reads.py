# SPDX-License-Identifier: Apache-2.0
"""events.yaml, event_auth.yaml, backfill.yaml: other servers reading rooms."""
from __future__ import annotations

from ...http.request import Request
from ...services.clock import now_ms
from ...services.events_by_time import EventsByTime
from ...services.federation_reads import FederationReads
from ...types import JsonDict


class FederationReadHandlers:
    def __init__(self, *, reads: FederationReads, events_by_time: EventsByTime,
                 server_name: str) -> None:
        self._reads = reads
        self._events_by_time = events_by_time
        self._server_name = server_name

    def _envelope(self, pdus: list[JsonDict]) -> JsonDict:
        return {"origin": self._server_name, "origin_server_ts": now_ms(), "pdus": pdus}

    async def get_event(self, request: Request) -> JsonDict:
        return self._envelope([self._reads.event(request.server, request.path["eventId"])])

    async def get_event_by_timestamp(self, request: Request) -> JsonDict:
        return self._events_by_time.for_server(request.server, request.path["roomId"],
                                               request.query["ts"], request.query["dir"])

    async def get_room_state(self, request: Request) -> JsonDict:
        state, auth_chain = self._reads.state(request.server, request.path["roomId"],
                                              request.query["event_id"])
        return {"pdus": state, "auth_chain": auth_chain}

    async def get_room_state_ids(self, request: Request) -> JsonDict:
        state_ids, auth_ids = self._reads.state_ids(request.server, request.path["roomId"],
                                                    request.query["event_id"])
        return {"pdu_ids": state_ids, "auth_chain_ids": auth_ids}

    async def get_event_auth(self, request: Request) -> JsonDict:
        return {"auth_chain": self._reads.event_auth(request.server, request.path["roomId"],
                                                     request.path["eventId"])}

    async def backfill_room(self, request: Request) -> JsonDict:
        pdus = self._reads.backfill(request.server, request.path["roomId"],
                                    request.query.get("v", []), request.query.get("limit", 10))
        return self._envelope(pdus)

    async def get_missing_previous_events(self, request: Request) -> JsonDict:
        body = request.body
        events = self._reads.missing_events(
            request.server, request.path["roomId"], body.get("earliest_events", []),
            body.get("latest_events", []), int(body.get("limit", 10)),
            int(body.get("min_depth", 0)))
        return {"events": events}
