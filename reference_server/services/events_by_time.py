# SPDX-License-Identifier: Apache-2.0
"""Finding the room event closest to a point in time (client-server and server-server
GET /timestamp_to_event).

Judged by `origin_server_ts` among the events of the room's timeline here. When this
server has nothing in that direction — typically a room joined over federation, whose
earlier history it never received — it asks the other servers in the room and, if one
knows an event, fetches and checks it so that clients can read it.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from .. import errors
from ..types import JsonDict, RoomId, UserId
from .events import RoomEvents

# (room ID, ts, forwards) -> (event ID, origin_server_ts) fetched from another server
RemoteLookup = Callable[[RoomId, int, bool], Awaitable[tuple[str, int] | None]]


class EventsByTime:
    def __init__(self, *, room_events: RoomEvents, check_server_access,
                 remote_lookup: RemoteLookup) -> None:
        self._events = room_events
        self._check_server_access = check_server_access  # (origin, room) -> None or raise
        self._remote_lookup = remote_lookup

    async def for_user(self, user_id: UserId, room_id: RoomId, ts: int,
                       direction: str) -> JsonDict:
        self._check_user_may_read(user_id, room_id)
        forwards = direction == "f"
        found = self._local(room_id, ts, forwards)
        if found is None:
            remote = await self._remote_lookup(room_id, ts, forwards)
            found = {"event_id": remote[0], "origin_server_ts": remote[1]} if remote else None
        if found is None:
            raise errors.not_found(_nothing(ts, forwards))
        return found

    def for_server(self, origin: str, room_id: RoomId, ts: int, direction: str) -> JsonDict:
        """Another server asks; it must be in the room (and allowed by its server ACL)."""
        self._check_server_access(origin, room_id)
        forwards = direction == "f"
        found = self._local(room_id, ts, forwards)
        if found is None:
            raise errors.not_found(_nothing(ts, forwards))
        return found

    def _local(self, room_id: RoomId, ts: int, forwards: bool) -> JsonDict | None:
        stored = self._events.events.closest_in_time(room_id, ts, forwards=forwards)
        if stored is None:
            return None
        return {"event_id": stored.event_id, "origin_server_ts": stored.pdu["origin_server_ts"]}

    def _check_user_may_read(self, user_id: UserId, room_id: RoomId) -> None:
        """Members and, for world-readable rooms, anyone (like reading /messages)."""
        self._events.version(room_id)
        membership = self._events.state.membership(room_id, user_id)
        if membership and membership[0] == "join":
            return
        visibility = self._events.current_state_event(room_id, "m.room.history_visibility")
        if visibility and visibility["content"].get("history_visibility") == "world_readable":
            return
        raise errors.forbidden("You are not in this room.")


def _nothing(ts: int, forwards: bool) -> str:
    return f"No event {'at or after' if forwards else 'at or before'} {ts} in this room."
