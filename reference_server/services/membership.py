# SPDX-License-Identifier: Apache-2.0
"""Membership changes asked for by clients: join, invite, leave, kick, ban, unban, forget.

The authorization rules have the last word on every transition; this module only adds
what the client-server API says on top (existence checks, the profile in join events,
stripped state for invitees, forgetting).
"""
from __future__ import annotations

from collections.abc import Callable

from .. import errors
from ..storage.database import Database
from ..storage.rooms import AliasStore
from ..types import EventId, JsonDict, RoomId, UserId
from .events import NewEvent, RoomEvents

# Spec (client-server, stripped state): what an invitee may see of the room.
STRIPPED_STATE_TYPES = ("m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
                        "m.room.canonical_alias", "m.room.encryption", "m.room.topic")


class MembershipService:
    def __init__(self, *, db: Database, room_events: RoomEvents, aliases: AliasStore,
                 profile_of: Callable[[UserId], JsonDict], user_exists: Callable[[UserId], bool]
                 ) -> None:
        self._db = db
        self._events = room_events
        self._aliases = aliases
        self._profile = profile_of
        self._user_exists = user_exists

    def resolve_room(self, room_id_or_alias: str) -> RoomId:
        if room_id_or_alias.startswith("#"):
            found = self._aliases.get(room_id_or_alias)
            if found is None:
                raise errors.not_found("No room has that alias.")
            return found[0]
        self._events.version(room_id_or_alias)
        return room_id_or_alias

    def join(self, user_id: UserId, room_id_or_alias: str, *, reason: str | None = None) -> RoomId:
        room_id = self.resolve_room(room_id_or_alias)
        current = self._membership(room_id, user_id)
        content = {"membership": "join", **self._profile(user_id)}
        if reason:
            content["reason"] = reason
        if current == "join":
            return room_id  # joining again is a no-op the spec allows
        self._send(room_id, user_id, content, user_id)
        return room_id

    def invite(self, sender: UserId, room_id: RoomId, target: UserId, *,
               reason: str | None = None, is_direct: bool = False) -> None:
        self._events.version(room_id)
        if self._membership(room_id, sender) != "join":
            raise errors.forbidden("You are not joined to this room.")
        current = self._membership(room_id, target)
        if current == "join":
            raise errors.forbidden(f"{target} is already in the room.")
        if current == "ban":
            raise errors.forbidden(f"{target} is banned from the room.")
        content: JsonDict = {"membership": "invite", **self._profile(target)}
        if reason:
            content["reason"] = reason
        if is_direct:
            content["is_direct"] = True
        self._send(room_id, sender, content, target)

    def leave(self, user_id: UserId, room_id: RoomId, *, reason: str | None = None) -> None:
        self._events.version(room_id)
        current = self._membership(room_id, user_id)
        if current in (None, "leave"):
            if current is None:
                raise errors.forbidden("You are not in this room.")
            return
        if current == "ban":
            raise errors.forbidden("You are banned from this room.")
        self._send(room_id, user_id, _with_reason({"membership": "leave"}, reason), user_id)

    def kick(self, sender: UserId, room_id: RoomId, target: UserId, reason: str | None) -> None:
        self._events.version(room_id)
        if self._membership(room_id, target) not in ("join", "invite", "knock"):
            raise errors.forbidden(f"{target} is not in the room.")
        self._send(room_id, sender, _with_reason({"membership": "leave"}, reason), target)

    def ban(self, sender: UserId, room_id: RoomId, target: UserId, reason: str | None) -> None:
        self._events.version(room_id)
        self._send(room_id, sender, _with_reason({"membership": "ban"}, reason), target)

    def unban(self, sender: UserId, room_id: RoomId, target: UserId, reason: str | None) -> None:
        self._events.version(room_id)
        if self._membership(room_id, target) != "ban":
            raise errors.forbidden(f"{target} is not banned.")
        self._send(room_id, sender, _with_reason({"membership": "leave"}, reason), target)

    def forget(self, user_id: UserId, room_id: RoomId) -> None:
        current = self._events.state.membership(room_id, user_id)
        if current is None:
            raise errors.not_found("You have never been in this room.")
        if current[0] in ("join", "invite", "knock"):
            raise errors.MatrixError(400, "M_UNKNOWN", "Leave the room before forgetting it.")
        with self._db.transaction():
            self._events.state.forget(room_id, user_id)

    def membership(self, room_id: RoomId, user_id: UserId) -> str | None:
        return self._membership(room_id, user_id)

    def _membership(self, room_id: RoomId, user_id: UserId) -> str | None:
        found = self._events.state.membership(room_id, user_id)
        return found[0] if found else None

    def stripped_state(self, room_id: RoomId) -> list[JsonDict]:
        """The room's stripped state for invite and knock previews (MSC4311: with the create event)."""
        stripped = []
        for event_type in STRIPPED_STATE_TYPES:
            pdu = self._events.current_state_event(room_id, event_type)
            if pdu is not None:
                stripped.append({"type": event_type, "state_key": pdu["state_key"],
                                 "sender": pdu["sender"], "content": pdu["content"]})
        return stripped

    def _send(self, room_id: RoomId, sender: UserId, content: JsonDict, target: UserId) -> EventId:
        stored = self._events.append(
            room_id, NewEvent(sender, "m.room.member", content, state_key=target))
        return stored.event_id


def _with_reason(content: JsonDict, reason: str | None) -> JsonDict:
    if reason:
        content["reason"] = reason
    return content
