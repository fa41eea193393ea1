# SPDX-License-Identifier: Apache-2.0
"""Membership changes asked for by clients: join, invite, leave, kick, ban, unban, forget.

The authorization rules have the last word on every transition; this module only adds
what the client-server API says on top (existence checks, the profile in join events,
stripped state for invitees, forgetting).
"""
from __future__ import annotations

from collections.abc import Callable

from .. import errors
from ..protocol.power_levels import named_power_level, power_level_of
from ..storage.database import Database
from ..storage.rooms import AliasStore
from ..types import EventId, JsonDict, RoomId, UserId
from .events import NewEvent, RoomEvents

# Spec (client-server, stripped state): what an invitee may see of the room.
STRIPPED_STATE_TYPES = ("m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
                        "m.room.canonical_alias", "m.room.encryption", "m.room.topic")


class MembershipService:
    def __init__(self, *, db: Database, room_events: RoomEvents, aliases: AliasStore,
                 profile_of: Callable[[UserId], JsonDict], user_exists: Callable[[UserId], bool],
                 is_local: Callable[[UserId], bool]) -> None:
        self._db = db
        self._events = room_events
        self._aliases = aliases
        self._profile = profile_of
        self._user_exists = user_exists
        self._is_local = is_local

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
        if current != "invite":
            authoriser = self._restricted_join_authoriser(room_id, user_id)
            if authoriser is not None:
                content["join_authorised_via_users_server"] = authoriser
        self._send(room_id, user_id, content, user_id)
        return room_id

    def knock(self, user_id: UserId, room_id_or_alias: str, *, reason: str | None = None
              ) -> RoomId:
        """Ask to join (client-server, knocking); the room's rules decide if knocking is allowed."""
        room_id = self.resolve_room(room_id_or_alias)
        current = self._membership(room_id, user_id)
        if current in ("join", "invite", "ban"):
            raise errors.forbidden(f"You cannot knock while your membership is {current}.")
        content = {"membership": "knock", **self._profile(user_id)}
        if reason:
            content["reason"] = reason
        self._send(room_id, user_id, content, user_id)
        return room_id

    def _restricted_join_authoriser(self, room_id: RoomId, user_id: UserId) -> UserId | None:
        """For restricted rooms (v8+): a local member able to invite, if the user meets an
        `allow` condition (spec: client-server, restricted rooms). None when not restricted."""
        version = self._events.version(room_id)
        rules = self._events.current_state_event(room_id, "m.room.join_rules")
        rule = rules["content"].get("join_rule") if rules else None
        restricted = (rule == "restricted" and version.restricted_join_rule) or (
            rule == "knock_restricted" and version.knock_restricted_join_rule)
        if not restricted:
            return None
        allowed = [entry.get("room_id") for entry in rules["content"].get("allow", [])
                   if isinstance(entry, dict) and entry.get("type") == "m.room_membership"]
        if not any(self._membership(r, user_id) == "join" for r in allowed
                   if isinstance(r, str)):
            return None  # the auth rules will refuse the join (unless the rule also allows it)
        return self._member_who_can_invite(room_id, version)

    def _member_who_can_invite(self, room_id: RoomId, version) -> UserId | None:
        power = self._events.current_state_event(room_id, "m.room.power_levels")
        create = self._events.current_state_event(room_id, "m.room.create")
        content = power["content"] if power else None
        needed = named_power_level("invite", content, version)
        for member in self._events.state.joined_members(room_id):
            if self._is_local(member) and power_level_of(member, content, create, version) >= needed:
                return member
        return None

    def invite(self, sender: UserId, room_id: RoomId, target: UserId, *,
               reason: str | None = None, is_direct: bool = False) -> None:
        content = self.invite_content(sender, room_id, target, reason=reason, is_direct=is_direct)
        self._send(room_id, sender, content, target)

    def invite_content(self, sender: UserId, room_id: RoomId, target: UserId, *,
                       reason: str | None = None, is_direct: bool = False) -> JsonDict:
        """The invite's content, after the client-API checks (the auth rules come later)."""
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
        return content

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

    def pending_invite(self, room_id: RoomId, user_id: UserId) -> JsonDict | None:
        """The invite event, when the user's current membership is an invite."""
        return self._membership_event(room_id, user_id, "invite")

    def pending_knock(self, room_id: RoomId, user_id: UserId) -> JsonDict | None:
        """The knock event, when the user's current membership is a knock."""
        return self._membership_event(room_id, user_id, "knock")

    def _membership_event(self, room_id: RoomId, user_id: UserId,
                          membership: str) -> JsonDict | None:
        found = self._events.state.membership(room_id, user_id)
        if not found or found[0] != membership:
            return None
        stored = self._events.events.get(found[1])
        return stored.pdu if stored else None

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

    def invite_room_state(self, room_id: RoomId) -> list[JsonDict]:
        """The same state as full PDUs, as an invite to another server carries it (server-
        server, inviting to a room: `invite_room_state`, in the room version's format)."""
        found = (self._events.current_state_event(room_id, t) for t in STRIPPED_STATE_TYPES)
        return [pdu for pdu in found if pdu is not None]

    def _send(self, room_id: RoomId, sender: UserId, content: JsonDict, target: UserId) -> EventId:
        stored = self._events.append(
            room_id, NewEvent(sender, "m.room.member", content, state_key=target))
        return stored.event_id


def _with_reason(content: JsonDict, reason: str | None) -> JsonDict:
    if reason:
        content["reason"] = reason
    return content
