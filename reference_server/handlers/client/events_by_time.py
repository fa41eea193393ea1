# SPDX-License-Identifier: Apache-2.0
"""room_event_by_timestamp.yaml (client-server)."""
from __future__ import annotations

from ...http.request import Request
from ...services.events_by_time import EventsByTime
from ...types import JsonDict


class EventByTimeHandlers:
    def __init__(self, *, events_by_time: EventsByTime) -> None:
        self._events_by_time = events_by_time

    async def get_event_by_timestamp(self, request: Request) -> JsonDict:
        return await self._events_by_time.for_user(
            request.user.user_id, request.path["roomId"], request.query["ts"],
            request.query["dir"])
