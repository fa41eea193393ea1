# SPDX-License-Identifier: Apache-2.0
"""/sync: what changed for a user since a token, waiting for changes when asked to.

A token is `s<stream>_<typing>`: every persisted change (events, receipts, account
data) has a position on the one stream; typing has its own serial. When an answer left
to-device messages for later, the token ends with `_<to-device position>`, the stream
position up to which the device has been given its messages.
"""
from __future__ import annotations

from dataclasses import dataclass

import trio

from .. import errors
from ..storage.database import Database
from ..storage.events import StoredEvent
from ..types import JsonDict, RoomId, UserId
from .ephemeral import AccountDataService, ReceiptService
from .events import RoomEvents
from .filtering import event_allowed, room_allowed
from .notifier import Notifier
from .timeline import RoomReader
from .typing import TypingService

DEFAULT_TIMELINE_LIMIT = 10


@dataclass(frozen=True)
class SyncToken:
    stream: int
    typing: int
    to_device: int | None = None  # None: the same as `stream`

    def encode(self) -> str:
        tail = "" if self.to_device is None else f"_{self.to_device}"
        return f"s{self.stream}_{self.typing}{tail}"

    @property
    def to_device_position(self) -> int:
        return self.stream if self.to_device is None else self.to_device

    @staticmethod
    def parse(text: str) -> SyncToken:
        parts = text[1:].split("_") if text.startswith("s") else []
        try:
            if len(parts) not in (2, 3):
                raise ValueError(text)
            numbers = [int(part) for part in parts]
        except ValueError:
            raise errors.invalid_param(f"Unrecognised sync token {text!r}.") from None
        return SyncToken(*numbers)


@dataclass(frozen=True)
class SyncRequest:
    user_id: UserId
    device_id: str | None
    since: SyncToken | None
    timeout_ms: int
    full_state: bool
    sync_filter: JsonDict


class SyncService:
    def __init__(self, *, db: Database, room_events: RoomEvents, reader: RoomReader,
                 typing: TypingService, receipts: ReceiptService,
                 account_data: AccountDataService, notifier: Notifier,
                 stripped_state, presence=None, e2ee=None) -> None:
        self._presence = presence
        self._e2ee = e2ee  # E2eeSync: to-device messages, device lists, key counts
        self._db = db
        self._events = room_events
        self._reader = reader
        self._typing = typing
        self._receipts = receipts
        self._account_data = account_data
        self._notifier = notifier
        self._stripped_state = stripped_state

    async def sync(self, request: SyncRequest) -> JsonDict:
        deadline_s = max(0, min(request.timeout_ms, 300_000)) / 1000
        while True:
            generation = self._notifier.generation()
            body, has_updates = self._compute(request)
            if has_updates or request.since is None or deadline_s <= 0:
                return body
            started = trio.current_time()
            await self._notifier.wait(generation, timeout_s=deadline_s)
            deadline_s -= trio.current_time() - started

    def _compute(self, request: SyncRequest) -> tuple[JsonDict, bool]:
        now = SyncToken(self._db.current_stream_id(), self._typing.serial)
        since = request.since
        rooms: JsonDict = {"join": {}, "invite": {}, "leave": {}, "knock": {}}
        room_filter = request.sync_filter.get("room", {})
        memberships = self._events.state.rooms_for_user(request.user_id)
        for room_id, (membership, event_id, stream) in memberships.items():
            if not room_allowed(room_filter, room_id):
                continue
            if since and stream > now.stream:
                continue
            self._room_section(request, rooms, room_id, membership, event_id, stream, since, now)
        account_data = self._global_account_data(request, since)
        presence = self._presence_events(request, memberships, since)
        body: JsonDict = {
            "next_batch": now.encode(),
            "rooms": {k: v for k, v in rooms.items() if v},
            "account_data": {"events": account_data},
            "presence": {"events": presence},
            "to_device": {"events": []},
            "device_lists": {"changed": [], "left": []},
            "device_one_time_keys_count": {},
        }
        has_updates = bool(account_data) or bool(presence) or any(rooms.values())
        if self._e2ee is not None:
            sections, e2ee_updates, to_device_at = self._e2ee.sections(
                request.user_id, request.device_id, since.stream if since else None, now.stream,
                to_device_since=since.to_device_position if since else None)
            body.update(sections)
            has_updates = has_updates or e2ee_updates
            if to_device_at < now.stream:
                body["next_batch"] = SyncToken(now.stream, now.typing, to_device_at).encode()
        return body, has_updates

    def _presence_events(self, request: SyncRequest, memberships: dict,
                         since: SyncToken | None) -> list[JsonDict]:
        """Presence of the user and of everyone sharing a joined room with them."""
        if self._presence is None:
            return []
        presence_filter = request.sync_filter.get("presence")
        users = {request.user_id}
        for room_id, (membership, _, _) in memberships.items():
            if membership == "join":
                users.update(self._events.state.joined_members(room_id))
        return [e for e in self._presence.changed_since(users, since.stream if since else 0)
                if event_allowed(presence_filter, e)]

    def _global_account_data(self, request: SyncRequest, since: SyncToken | None) -> list[JsonDict]:
        changed = self._account_data.changed_since(request.user_id, since.stream if since else 0)
        ad_filter = request.sync_filter.get("account_data")
        return [{"type": t, "content": c} for t, c in changed.get("", {}).items()
                if event_allowed(ad_filter, {"type": t})]

    def _room_section(self, request: SyncRequest, rooms: JsonDict, room_id: RoomId,
                      membership: str, event_id: str, stream: int, since: SyncToken | None,
                      now: SyncToken) -> None:
        since_stream = since.stream if since else 0
        changed = since is None or stream > since_stream
        if membership == "join":
            section = self._joined_room(request, room_id, since, now)
            if section is not None:
                rooms["join"][room_id] = section
        elif membership == "invite" and changed:
            invite = self._events.events.get(event_id)
            # A remote server's invite carries the room's stripped state with it.
            remote_state = [_stripped(e) for e in
                            invite.pdu.get("unsigned", {}).get("invite_room_state") or []]
            state = (remote_state or self._stripped_state(room_id)) + [_stripped(invite.pdu)]
            rooms["invite"][room_id] = {"invite_state": {"events": state}}
        elif membership == "knock" and changed:
            knock = self._events.events.get(event_id)
            # A knock on another server's room keeps the stripped state it answered with.
            remote_state = [_stripped(e) for e in
                            knock.pdu.get("unsigned", {}).get("knock_room_state") or []
                            if _is_state_event(e)]
            state = (remote_state or self._stripped_state(room_id)) + [_stripped(knock.pdu)]
            rooms["knock"][room_id] = {"knock_state": {"events": state}}
        elif membership in ("leave", "ban"):
            include_leave = request.sync_filter.get("room", {}).get("include_leave", False)
            if (since is not None and changed) or (since is None and include_leave):
                rooms["leave"][room_id] = self._left_room(request, room_id, event_id, stream, since)

    def _timeline_filter(self, request: SyncRequest) -> JsonDict:
        return request.sync_filter.get("room", {}).get("timeline", {}) or {}

    def _timeline(self, request: SyncRequest, room_id: RoomId, *, after: int, upto: int
                  ) -> tuple[list[StoredEvent], bool]:
        timeline_filter = self._timeline_filter(request)
        limit = int(timeline_filter.get("limit", DEFAULT_TIMELINE_LIMIT) or DEFAULT_TIMELINE_LIMIT)
        batch = self._events.events.room_events(room_id, after=after, upto=upto,
                                                limit=limit + 1, backwards=True)
        limited = len(batch) > limit
        batch = list(reversed(batch[:limit]))
        batch = [e for e in batch if event_allowed(timeline_filter, e.pdu, room_id)]
        return self._reader.visible(room_id, request.user_id, batch), limited

    def _joined_room(self, request: SyncRequest, room_id: RoomId, since: SyncToken | None,
                     now: SyncToken) -> JsonDict | None:
        since_stream = since.stream if since else 0
        batch, limited = self._timeline(request, room_id, after=since_stream, upto=now.stream)
        ephemeral = self._ephemeral(request, room_id, since)
        room_account_data = self._room_account_data(request, room_id, since)
        if since is not None and not batch and not ephemeral and not room_account_data \
                and not request.full_state:
            return None
        state = self._state_section(request, room_id, batch, since, limited, now)
        return {
            "timeline": self._timeline_json(request, room_id, batch, limited, now),
            "state": {"events": state},
            "ephemeral": {"events": ephemeral},
            "account_data": {"events": room_account_data},
            "unread_notifications": {},
            "summary": {},
        }

    def _left_room(self, request: SyncRequest, room_id: RoomId, leave_event_id: str,
                   leave_stream: int, since: SyncToken | None) -> JsonDict:
        since_stream = since.stream if since else 0
        batch, limited = self._timeline(request, room_id, after=since_stream, upto=leave_stream)
        state = self._state_section(request, room_id, batch, since, limited,
                                    SyncToken(leave_stream, 0))
        return {
            "timeline": self._timeline_json(request, room_id, batch, limited,
                                             SyncToken(leave_stream, 0)),
            "state": {"events": state},
            "account_data": {"events": []},
        }

    def _timeline_json(self, request: SyncRequest, room_id: RoomId, batch: list[StoredEvent],
                       limited: bool, now: SyncToken) -> JsonDict:
        events = [self._reader.format(room_id, e, request.user_id, request.device_id)
                  for e in batch]
        for event in events:
            event.pop("room_id", None)
        prev = (batch[0].stream_ordering - 1) if batch else now.stream
        return {"events": events, "limited": limited, "prev_batch": f"t{prev}"}

    def _state_section(self, request: SyncRequest, room_id: RoomId, batch: list[StoredEvent],
                       since: SyncToken | None, limited: bool, now: SyncToken) -> list[JsonDict]:
        """State up to the start of the timeline that the client does not already have."""
        if batch:
            start_state = self._events.state_before(batch[0])
        else:
            start_state = self._events.state.current_state(room_id)
        if since is not None and not request.full_state:
            if not limited:
                return []
            previous = self._state_at_stream(room_id, since.stream)
            start_state = {k: v for k, v in start_state.items() if previous.get(k) != v}
        in_timeline = {e.event_id for e in batch}
        state_filter = request.sync_filter.get("room", {}).get("state")
        out = []
        for event_id in start_state.values():
            if event_id in in_timeline:
                continue
            stored = self._events.events.get(event_id)
            if not event_allowed(state_filter, stored.pdu, room_id):
                continue
            event = self._reader.format(room_id, stored, request.user_id, None)
            event.pop("room_id", None)
            out.append(event)
        return out

    def _state_at_stream(self, room_id: RoomId, stream: int) -> dict:
        before = self._events.events.room_events(room_id, after=0, upto=stream, limit=1,
                                                 backwards=True)
        return self._events.state_after(before[0]) if before else {}

    def _ephemeral(self, request: SyncRequest, room_id: RoomId, since: SyncToken | None
                   ) -> list[JsonDict]:
        events: list[JsonDict] = []
        if since is None or self._typing.changed_since(room_id, since.typing):
            users = self._typing.typing_users(room_id)
            if since is not None or users:
                events.append({"type": "m.typing", "content": {"user_ids": users}})
        receipt = self._receipts.receipt_event(room_id, since.stream if since else 0,
                                               request.user_id)
        if receipt is not None:
            events.append(receipt)
        return events

    def _room_account_data(self, request: SyncRequest, room_id: RoomId,
                           since: SyncToken | None) -> list[JsonDict]:
        changed = self._account_data.changed_since(request.user_id, since.stream if since else 0)
        return [{"type": t, "content": c} for t, c in changed.get(room_id, {}).items()]


def _is_state_event(entry) -> bool:
    """Whether another server's stripped-state entry has what a stripped event needs."""
    return isinstance(entry, dict) and isinstance(entry.get("content"), dict) and all(
        isinstance(entry.get(key), str) for key in ("type", "state_key", "sender"))


def _stripped(pdu: JsonDict) -> JsonDict:
    return {"type": pdu["type"], "state_key": pdu["state_key"], "sender": pdu["sender"],
            "content": pdu["content"]}
