# SPDX-License-Identifier: Apache-2.0
"""Room upgrades (client-server, room upgrades): replace a room by one of a new version.

The new room starts with the old room's carried-over state and a `predecessor`; the old
room gets an `m.room.tombstone` naming its replacement and is then restricted so that
ordinary members can no longer speak or invite there.
"""
from __future__ import annotations

import copy

from .. import errors
from ..protocol.auth_rules import power_level_of, required_power_level
from ..protocol.room_versions import room_version
from ..storage.database import Database
from ..storage.rooms import AliasStore
from ..types import JsonDict, RoomId, UserId
from .events import NewEvent, RoomEvents
from .rooms import RoomCreator

# State that moves to the replacement room (power levels are handled separately).
CARRIED_STATE = ("m.room.server_acl", "m.room.encryption", "m.room.name", "m.room.avatar",
                 "m.room.topic", "m.room.guest_access", "m.room.history_visibility",
                 "m.room.join_rules")


class RoomUpgrader:
    def __init__(self, *, db: Database, room_events: RoomEvents, creator: RoomCreator,
                 aliases: AliasStore) -> None:
        self._db = db
        self._events = room_events
        self._creator = creator
        self._aliases = aliases

    def upgrade(self, user_id: UserId, old_room: RoomId, new_version_id: str,
                additional_creators: list[UserId] | None = None) -> RoomId:
        old_version = self._events.version(old_room)
        new_version = room_version(new_version_id)
        if new_version is None:
            raise errors.unsupported_room_version(new_version_id)
        self._check_can_tombstone(user_id, old_room, old_version)
        body = self._replacement_body(user_id, old_room, new_version_id, additional_creators)
        new_room = self._creator.create(user_id, body)
        self._move_aliases(old_room, new_room, user_id)
        self._send(old_room, user_id, "m.room.tombstone",
                   {"body": "This room has been replaced", "replacement_room": new_room})
        self._restrict_old_room(old_room, user_id)
        return new_room

    def _check_can_tombstone(self, user_id: UserId, room_id: RoomId, version) -> None:
        membership = self._events.state.membership(room_id, user_id)
        if not membership or membership[0] != "join":
            raise errors.forbidden("You are not joined to this room.")
        power = self._state_content(room_id, "m.room.power_levels")
        create = self._events.current_state_event(room_id, "m.room.create")
        needed = required_power_level("m.room.tombstone", state_key="",
                                      power_levels_content=power, version=version)
        if power_level_of(user_id, power, create, version) < needed:
            raise errors.forbidden("You need the power to send m.room.tombstone to upgrade.")

    def _replacement_body(self, user_id: UserId, old_room: RoomId, new_version_id: str,
                          additional_creators: list[UserId] | None) -> JsonDict:
        new_version = room_version(new_version_id)
        old_create = self._state_content(old_room, "m.room.create") or {}
        creation_content: JsonDict = {"predecessor": {"room_id": old_room}}
        for key in ("type", "m.federate"):
            if key in old_create:
                creation_content[key] = old_create[key]
        initial_state = []
        for event_type in CARRIED_STATE:
            content = self._state_content(old_room, event_type)
            if content is not None:
                initial_state.append({"type": event_type, "state_key": "", "content": content})
        power = copy.deepcopy(self._state_content(old_room, "m.room.power_levels") or {})
        users = power.setdefault("users", {})
        creators = {user_id, *(additional_creators or [])}
        if new_version.creators_have_infinite_power:
            for creator in creators:
                users.pop(creator, None)
        else:
            users[user_id] = max(int(users.get(user_id, 0)), 100)
        if additional_creators and new_version.room_id_from_create_event:
            creation_content["additional_creators"] = list(additional_creators)
        return {"room_version": new_version_id, "creation_content": creation_content,
                "initial_state": initial_state, "power_level_content_override": power}

    def _move_aliases(self, old_room: RoomId, new_room: RoomId, user_id: UserId) -> None:
        canonical = self._state_content(old_room, "m.room.canonical_alias")
        with self._db.transaction():
            for alias in self._aliases.for_room(old_room):
                _, alias_creator = self._aliases.get(alias)
                self._aliases.delete(alias)
                self._aliases.create(alias, new_room, alias_creator)
        if canonical:
            self._send(new_room, user_id, "m.room.canonical_alias", canonical)
            self._send(old_room, user_id, "m.room.canonical_alias", {})

    def _restrict_old_room(self, room_id: RoomId, user_id: UserId) -> None:
        """Spec: raise events_default and invite to max(50, users_default + 1) in the old room."""
        power = copy.deepcopy(self._state_content(room_id, "m.room.power_levels") or {})
        restricted = max(50, int(power.get("users_default", 0)) + 1)
        power["events_default"] = max(int(power.get("events_default", 0)), restricted)
        power["invite"] = max(int(power.get("invite", 0)), restricted)
        try:
            self._send(room_id, user_id, "m.room.power_levels", power)
        except errors.MatrixError:
            pass  # the upgrader may lack the power to change power levels; the tombstone stands

    def _state_content(self, room_id: RoomId, event_type: str) -> JsonDict | None:
        pdu = self._events.current_state_event(room_id, event_type)
        return pdu["content"] if pdu else None

    def _send(self, room_id: RoomId, sender: UserId, event_type: str, content: JsonDict) -> None:
        self._events.append(room_id, NewEvent(sender, event_type, content, state_key=""))
