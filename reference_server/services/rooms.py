# SPDX-License-Identifier: Apache-2.0
"""Creating rooms: the initial events of `createRoom`, in the spec's order."""
from __future__ import annotations

from collections.abc import Callable

from .. import errors
from ..protocol.event_ids import room_id_for_create_event
from ..protocol.room_versions import DEFAULT_ROOM_VERSION, RoomVersion, room_version
from ..storage.database import Database
from ..storage.rooms import AliasStore, RoomStore
from ..types import JsonDict, RoomId, UserId
from .clock import now_ms, random_string
from .events import NewEvent, RoomEvents

# Spec (client-server, createRoom): the state each preset implies.
PRESETS: dict[str, dict[str, str]] = {
    "private_chat": {"join_rule": "invite", "history": "shared", "guest": "can_join"},
    "trusted_private_chat": {"join_rule": "invite", "history": "shared", "guest": "can_join"},
    "public_chat": {"join_rule": "public", "history": "shared", "guest": "forbidden"},
}


class RoomCreator:
    def __init__(self, *, db: Database, rooms: RoomStore, aliases: AliasStore,
                 room_events: RoomEvents, server_name: str,
                 profile_of: Callable[[UserId], JsonDict],
                 check_alias: Callable[[UserId, str, str | None], None] | None = None) -> None:
        self._check_alias = check_alias
        self._db = db
        self._rooms = rooms
        self._aliases = aliases
        self._events = room_events
        self._server_name = server_name
        self._profile = profile_of

    def create(self, creator: UserId, body: JsonDict, *,
               appservice_id: str | None = None) -> RoomId:
        """`appservice_id`: the application service making the request, if one is."""
        version = self._version(body.get("room_version"))
        visibility = body.get("visibility", "private")
        preset_name = body.get("preset") or (
            "public_chat" if visibility == "public" else "private_chat")
        preset = PRESETS[preset_name]
        alias = self._reserve_alias_name(body.get("room_alias_name"))
        if alias is not None and self._check_alias is not None:
            self._check_alias(creator, alias, appservice_id)
        room_id = self._create_event(creator, version, body)
        self._rooms.set_public(room_id, visibility == "public")
        self._send(room_id, creator, "m.room.member", {"membership": "join", **self._profile(creator)},
                   creator)
        self._send(room_id, creator, "m.room.power_levels",
                   self._power_levels(creator, version, body, preset_name), "")
        if alias:
            with self._db.transaction():
                if not self._aliases.create(alias, room_id, creator):
                    raise errors.MatrixError(400, "M_ROOM_IN_USE", "That alias is taken.")
            self._send(room_id, creator, "m.room.canonical_alias", {"alias": alias}, "")
        initial = {(e["type"], e.get("state_key", "")): e["content"]
                   for e in body.get("initial_state", [])}
        defaults = {
            ("m.room.join_rules", ""): {"join_rule": preset["join_rule"]},
            ("m.room.history_visibility", ""): {"history_visibility": preset["history"]},
        }
        if preset["guest"] == "can_join":
            defaults[("m.room.guest_access", "")] = {"guest_access": "can_join"}
        for (event_type, state_key), content in {**defaults, **initial}.items():
            self._send(room_id, creator, event_type, content, state_key)
        if "name" in body:
            self._send(room_id, creator, "m.room.name", {"name": body["name"]}, "")
        if "topic" in body:
            self._send(room_id, creator, "m.room.topic", {"topic": body["topic"]}, "")
        for invitee in body.get("invite", []):
            content = {"membership": "invite"}
            if body.get("is_direct"):
                content["is_direct"] = True
            self._send(room_id, creator, "m.room.member", content, invitee)
        return room_id

    def _version(self, requested: str | None) -> RoomVersion:
        identifier = requested or DEFAULT_ROOM_VERSION
        version = room_version(identifier)
        if version is None:
            raise errors.unsupported_room_version(identifier)
        return version

    def _reserve_alias_name(self, name: str | None) -> str | None:
        if name is None:
            return None
        alias = f"#{name}:{self._server_name}"
        if ":" in name or len(alias.encode()) > 255 or any(c.isspace() for c in name):
            raise errors.MatrixError(400, "M_INVALID_PARAM", "Invalid room_alias_name.")
        if self._aliases.get(alias) is not None:
            raise errors.MatrixError(400, "M_ROOM_IN_USE", "That room alias is already in use.")
        return alias

    def _create_event(self, creator: UserId, version: RoomVersion, body: JsonDict) -> RoomId:
        content = dict(body.get("creation_content") or {})
        content["room_version"] = version.identifier
        if not version.implicit_room_creator:
            content["creator"] = creator
        if version.room_id_from_create_event:
            additional = list(content.get("additional_creators") or [])
            if body.get("preset") == "trusted_private_chat":
                # createRoom step 3: invitees SHOULD be appended to additional_creators.
                additional += [u for u in body.get("invite", []) if u not in additional]
            if additional:
                content["additional_creators"] = additional
            new = NewEvent(creator, "m.room.create", content, state_key="")
            event_id, pdu = self._events.build(None, version, new, {}, [])
            room_id = room_id_for_create_event(pdu, version)
        else:
            room_id = f"!{random_string(18)}:{self._server_name}"
            new = NewEvent(creator, "m.room.create", content, state_key="")
            event_id, pdu = self._events.build(room_id, version, new, {}, [])
        with self._db.transaction():
            self._rooms.create(room_id, version.identifier, creator, now_ms=now_ms())
            self._events.persist(room_id, event_id, pdu)
        return room_id

    def _power_levels(self, creator: UserId, version: RoomVersion, body: JsonDict,
                      preset: str) -> JsonDict:
        users: JsonDict = {}
        if not version.creators_have_infinite_power:
            users[creator] = 100
        if preset == "trusted_private_chat" and not version.creators_have_infinite_power:
            for invitee in body.get("invite", []):
                users[invitee] = 100
        content: JsonDict = {
            "users": users, "users_default": 0, "events_default": 0, "state_default": 50,
            "ban": 50, "kick": 50, "redact": 50, "invite": 0,
            "events": {
                "m.room.name": 50, "m.room.power_levels": 100, "m.room.history_visibility": 100,
                "m.room.canonical_alias": 50, "m.room.avatar": 50, "m.room.tombstone": 100,
                "m.room.server_acl": 100, "m.room.encryption": 100,
            },
            "notifications": {"room": 50},
        }
        override = body.get("power_level_content_override") or {}
        content.update(override)
        return content

    def _send(self, room_id: RoomId, sender: UserId, event_type: str, content: JsonDict,
              state_key: str) -> None:
        self._events.append(room_id, NewEvent(sender, event_type, content, state_key=state_key))
