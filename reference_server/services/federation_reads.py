# SPDX-License-Identifier: Apache-2.0
"""What other servers may read from rooms here: events, state, auth chains, history.

Spec (server-server, retrieving events; backfill; server ACLs): a requesting server must
be in the room — one of its users joined — and not be denied by the room's server ACL.
"""
from __future__ import annotations

from .. import errors
from ..protocol.events import auth_event_ids, prev_event_ids
from ..protocol.server_acl import parse_acl, server_allowed
from ..storage.events import StoredEvent
from ..types import EventId, JsonDict, RoomId
from .events import RoomEvents

MAX_EVENTS = 100


class FederationReads:
    def __init__(self, *, room_events: RoomEvents) -> None:
        self._events = room_events

    def check_access(self, origin: str, room_id: RoomId) -> None:
        self._events.version(room_id)
        self.check_acl(origin, room_id)
        if not any(u.endswith(":" + origin) for u in self._events.state.joined_members(room_id)):
            raise errors.forbidden(f"{origin} is not in this room.")

    def check_acl(self, origin: str, room_id: RoomId) -> None:
        acl = self._events.current_state_event(room_id, "m.room.server_acl")
        if acl is not None and not server_allowed(parse_acl(acl["content"], strict=False), origin):
            raise errors.forbidden(f"{origin} is denied by this room's server ACL.")

    def event(self, origin: str, event_id: EventId) -> JsonDict:
        stored = self._events.events.get(event_id)
        room_id = self._events.events.room_of(event_id) if stored else None
        if stored is None or room_id is None:
            raise errors.not_found("Unknown event.")
        self.check_access(origin, room_id)
        return stored.pdu

    def state(self, origin: str, room_id: RoomId, event_id: EventId
              ) -> tuple[list[JsonDict], list[JsonDict]]:
        """The state before an event, and the auth chain of that state."""
        self.check_access(origin, room_id)
        stored = self._event_in_room(room_id, event_id)
        state = [self._events.events.get(e).pdu for e in self._events.state_before(stored).values()]
        return state, self.auth_chain(state)

    def state_ids(self, origin: str, room_id: RoomId, event_id: EventId
                  ) -> tuple[list[EventId], list[EventId]]:
        self.check_access(origin, room_id)
        stored = self._event_in_room(room_id, event_id)
        state_ids = list(self._events.state_before(stored).values())
        state = [self._events.events.get(e).pdu for e in state_ids]
        return state_ids, self.auth_chain_ids(state)

    def event_auth(self, origin: str, room_id: RoomId, event_id: EventId) -> list[JsonDict]:
        self.check_access(origin, room_id)
        return self.auth_chain([self._event_in_room(room_id, event_id).pdu])

    def backfill(self, origin: str, room_id: RoomId, from_ids: list[EventId], limit: int
                 ) -> list[JsonDict]:
        """Up to `limit` events going back from (and including) `from_ids`, newest first."""
        self.check_access(origin, room_id)
        found: dict[EventId, StoredEvent] = {}
        frontier = [e for e in from_ids if self._events.events.room_of(e) == room_id]
        while frontier and len(found) < min(limit, MAX_EVENTS):
            event_id = frontier.pop(0)
            stored = self._events.events.get(event_id)
            if stored is None or event_id in found:
                continue
            found[event_id] = stored
            frontier.extend(prev_event_ids(stored.pdu))
        ordered = sorted(found.values(), key=lambda e: -e.stream_ordering)
        return [e.pdu for e in ordered]

    def missing_events(self, origin: str, room_id: RoomId, earliest: list[EventId],
                       latest: list[EventId], limit: int, min_depth: int) -> list[JsonDict]:
        """Events between `earliest` and `latest` (exclusive), oldest first."""
        self.check_access(origin, room_id)
        stop, found = set(earliest), {}
        frontier = [p for e in latest if (s := self._events.events.get(e))
                    for p in prev_event_ids(s.pdu)]
        while frontier and len(found) < min(limit, MAX_EVENTS):
            event_id = frontier.pop(0)
            if event_id in stop or event_id in found:
                continue
            stored = self._events.events.get(event_id)
            if stored is None or stored.pdu.get("depth", 0) < min_depth:
                continue
            found[event_id] = stored
            frontier.extend(prev_event_ids(stored.pdu))
        return [e.pdu for e in sorted(found.values(), key=lambda e: e.stream_ordering)]

    def auth_chain(self, pdus: list[JsonDict]) -> list[JsonDict]:
        return [self._events.events.get(e).pdu for e in self.auth_chain_ids(pdus)]

    def auth_chain_ids(self, pdus: list[JsonDict]) -> list[EventId]:
        seen: list[EventId] = []
        todo = [a for p in pdus for a in auth_event_ids(p)]
        while todo:
            event_id = todo.pop()
            if event_id in seen:
                continue
            stored = self._events.events.get(event_id)
            if stored is not None:
                seen.append(event_id)
                todo.extend(auth_event_ids(stored.pdu))
        return seen

    def _event_in_room(self, room_id: RoomId, event_id: EventId) -> StoredEvent:
        stored = self._events.events.get(event_id)
        if stored is None or self._events.events.room_of(event_id) != room_id:
            raise errors.not_found("Unknown event in this room.")
        return stored
