# SPDX-License-Identifier: Apache-2.0
"""Reading rooms: single events, state, members and paginated history."""
from __future__ import annotations

from .. import errors
from ..storage.events import StoredEvent
from ..storage.state import StateMap
from ..types import EventId, JsonDict, RoomId, UserId
from .client_events import ClientEventFormatter
from .events import RoomEvents
from .visibility import Visibility


def parse_stream_token(token: str) -> int:
    """Our tokens are `s<stream>_<typing>` (sync) or `t<stream>` (pagination)."""
    if len(token) < 2 or token[0] not in "st":
        raise errors.invalid_param(f"Unrecognised pagination token {token!r}.")
    try:
        return int(token[1:].split("_", 1)[0])
    except ValueError:
        raise errors.invalid_param(f"Unrecognised pagination token {token!r}.") from None


class RoomReader:
    def __init__(self, *, room_events: RoomEvents, formatter: ClientEventFormatter,
                 visibility: Visibility, current_stream: callable) -> None:
        self._events = room_events
        self._format = formatter
        self._visibility = visibility
        self._current_stream = current_stream

    def _membership(self, room_id: RoomId, user_id: UserId) -> tuple[str, EventId, int] | None:
        return self._events.state.membership(room_id, user_id)

    def _state_for_reader(self, room_id: RoomId, user_id: UserId) -> StateMap:
        """Current state for members; the state when they left for former members."""
        membership = self._membership(room_id, user_id)
        if membership and membership[0] == "join":
            return self._events.state.current_state(room_id)
        if self._world_readable(room_id):
            return self._events.state.current_state(room_id)
        if membership and membership[0] in ("leave", "ban"):
            left = self._events.events.get(membership[1])
            return self._events.state_after(left)
        raise errors.forbidden("You are not a member of this room.")

    def _world_readable(self, room_id: RoomId) -> bool:
        pdu = self._events.current_state_event(room_id, "m.room.history_visibility")
        return bool(pdu) and pdu["content"].get("history_visibility") == "world_readable"

    def format(self, room_id: RoomId, stored: StoredEvent, user_id: UserId,
               device_id: str | None) -> JsonDict:
        version = self._events.version(room_id)
        membership = self._membership(room_id, user_id)
        return self._format.format(stored, version, room_id, txn_owner=(user_id, device_id),
                                   membership=membership[0] if membership else "leave")

    def event(self, room_id: RoomId, event_id: EventId, user_id: UserId,
              device_id: str | None) -> JsonDict:
        self._events.version(room_id)
        stored = self._events.events.get(event_id)
        if stored is None or stored.soft_failed or stored.pdu.get("room_id", room_id) != room_id \
                or self._room_of(stored) != room_id:
            # A soft-failed event is never relayed to clients (server-server, soft failure).
            raise errors.not_found("Event not found.")
        if not self._visibility.can_see(user_id, stored, joined_now=self._joined(room_id, user_id)):
            raise errors.not_found("Event not found (or you may not see it).")
        return self.format(room_id, stored, user_id, device_id)

    def _room_of(self, stored: StoredEvent) -> RoomId:
        return self._events.events.room_of(stored.event_id)

    def visible(self, room_id: RoomId, user_id: UserId,
                events: list[StoredEvent]) -> list[StoredEvent]:
        """The events this user may see under the room's history visibility rules."""
        joined_now = self._joined(room_id, user_id)
        return [e for e in events if self._visibility.can_see(user_id, e, joined_now=joined_now)]

    def _joined(self, room_id: RoomId, user_id: UserId) -> bool:
        membership = self._membership(room_id, user_id)
        return bool(membership) and membership[0] == "join"

    def state(self, room_id: RoomId, user_id: UserId) -> list[JsonDict]:
        self._events.version(room_id)
        state = self._state_for_reader(room_id, user_id)
        return [self.format(room_id, self._events.events.get(e), user_id, None)
                for e in state.values()]

    def state_event(self, room_id: RoomId, user_id: UserId, event_type: str,
                    state_key: str) -> StoredEvent:
        self._events.version(room_id)
        state = self._state_for_reader(room_id, user_id)
        event_id = state.get((event_type, state_key))
        if event_id is None:
            raise errors.not_found("No such state event.")
        return self._events.events.get(event_id)

    def members(self, room_id: RoomId, user_id: UserId, *, membership: str | None = None,
                not_membership: str | None = None) -> list[JsonDict]:
        self._events.version(room_id)
        state = self._state_for_reader(room_id, user_id)
        found = []
        for (event_type, _), event_id in state.items():
            if event_type != "m.room.member":
                continue
            stored = self._events.events.get(event_id)
            value = stored.pdu["content"].get("membership")
            if membership and value != membership or not_membership and value == not_membership:
                continue
            found.append(self.format(room_id, stored, user_id, None))
        return found

    def joined_members(self, room_id: RoomId, user_id: UserId) -> JsonDict:
        self._events.version(room_id)
        if not self._joined(room_id, user_id):
            raise errors.forbidden("You are not joined to this room.")
        joined: JsonDict = {}
        for member in self._events.state.joined_members(room_id):
            event_id = self._events.state.current_event_id(room_id, "m.room.member", member)
            content = self._events.events.get(event_id).pdu["content"]
            # RoomMember names the member event's `displayname` as `display_name`.
            joined[member] = {out: content[k] for k, out in (("displayname", "display_name"),
                                                             ("avatar_url", "avatar_url"))
                              if isinstance(content.get(k), str)}
        return joined

    def messages(self, room_id: RoomId, user_id: UserId, device_id: str | None, *,
                 from_token: str | None, to_token: str | None, backwards: bool,
                 limit: int, event_filter: callable = None) -> JsonDict:
        self._events.version(room_id)
        membership = self._membership(room_id, user_id)
        if membership is None and not self._world_readable(room_id):
            raise errors.forbidden("You are not a member of this room.")
        now = self._current_stream()
        start = parse_stream_token(from_token) if from_token else (now if backwards else 0)
        bound = parse_stream_token(to_token) if to_token else None
        limit = max(1, min(limit, 1000))
        if backwards:
            low = bound if bound is not None else 0
            batch = self._events.events.room_events(room_id, after=low, upto=start,
                                                    limit=limit, backwards=True)
        else:
            high = bound if bound is not None else now
            batch = self._events.events.room_events(room_id, after=start, upto=high,
                                                    limit=limit, backwards=False)
        joined_now = membership is not None and membership[0] == "join"
        chunk = [self.format(room_id, e, user_id, device_id) for e in batch
                 if self._visibility.can_see(user_id, e, joined_now=joined_now)
                 and (event_filter is None or event_filter(e.pdu))]
        body: JsonDict = {"start": from_token or f"t{start}", "chunk": chunk}
        if len(batch) == limit:
            last = batch[-1].stream_ordering
            body["end"] = f"t{last - 1}" if backwards else f"t{last}"
        return body

    def context(self, room_id: RoomId, event_id: EventId, user_id: UserId,
                device_id: str | None, *, limit: int, event_filter: callable = None) -> JsonDict:
        """Events before and after one event, and the state at it (client-server, context)."""
        self.event(room_id, event_id, user_id, device_id)  # existence and visibility
        anchor = self._events.events.get(event_id)
        membership = self._membership(room_id, user_id)
        joined_now = membership is not None and membership[0] == "join"
        half = max(0, min(limit, 1000)) // 2
        before = self._events.events.room_events(
            room_id, after=0, upto=anchor.stream_ordering - 1, limit=half, backwards=True)
        after = self._events.events.room_events(
            room_id, after=anchor.stream_ordering, upto=self._current_stream(),
            limit=max(0, limit - half), backwards=False)

        def shown(batch: list[StoredEvent]) -> list[JsonDict]:
            return [self.format(room_id, e, user_id, device_id) for e in batch
                    if self._visibility.can_see(user_id, e, joined_now=joined_now)
                    and (event_filter is None or event_filter(e.pdu))]
        state = self._events.state_after(after[-1] if after else anchor)
        return {
            "event": self.format(room_id, anchor, user_id, device_id),
            "events_before": shown(before),
            "events_after": shown(after),
            "start": f"t{(before[-1].stream_ordering if before else anchor.stream_ordering) - 1}",
            "end": f"t{after[-1].stream_ordering if after else anchor.stream_ordering}",
            "state": [self.format(room_id, self._events.events.get(e), user_id, None)
                      for e in state.values()],
        }
