# SPDX-License-Identifier: Apache-2.0
"""Room aliases and the public room directory."""
from __future__ import annotations

from .. import errors
from ..protocol.auth_rules import power_level_of
from ..storage.database import Database
from ..storage.rooms import AliasStore, RoomStore
from ..types import JsonDict, RoomId, UserId
from .events import RoomEvents


class DirectoryService:
    def __init__(self, *, db: Database, aliases: AliasStore, rooms: RoomStore,
                 room_events: RoomEvents, server_name: str, appservices) -> None:
        self._appservices = appservices
        self._db = db
        self._aliases = aliases
        self._rooms = rooms
        self._events = room_events
        self._server_name = server_name

    def set_alias(self, user_id: UserId, alias: str, room_id: RoomId, *,
                  appservice_id: str | None = None) -> None:
        self._check_local(alias)
        self.check_alias_not_reserved(user_id, alias, appservice_id=appservice_id)
        self._events.version(room_id)
        with self._db.transaction():
            if not self._aliases.create(alias, room_id, user_id):
                raise errors.MatrixError(409, "M_UNKNOWN", "That alias already exists.")

    def resolve(self, alias: str) -> JsonDict:
        found = self._aliases.get(alias)
        if found is None:
            raise errors.not_found("No room has that alias.")
        return {"room_id": found[0], "servers": [self._server_name]}

    def delete_alias(self, user_id: UserId, alias: str) -> None:
        found = self._aliases.get(alias)
        if found is None:
            raise errors.not_found("No room has that alias.")
        room_id, creator = found
        if user_id != creator and not self._can_moderate(room_id, user_id):
            raise errors.forbidden("Only the alias's creator or a room moderator may delete it.")
        with self._db.transaction():
            self._aliases.delete(alias)

    def local_aliases(self, user_id: UserId, room_id: RoomId) -> list[str]:
        self._events.version(room_id)
        membership = self._events.state.membership(room_id, user_id)
        if not membership or membership[0] != "join":
            visibility = self._events.current_state_event(room_id, "m.room.history_visibility")
            if not visibility or visibility["content"].get("history_visibility") != "world_readable":
                raise errors.forbidden("You are not joined to this room.")
        return self._aliases.for_room(room_id)

    def _can_moderate(self, room_id: RoomId, user_id: UserId) -> bool:
        version = self._events.version(room_id)
        power = self._events.current_state_event(room_id, "m.room.power_levels")
        create = self._events.current_state_event(room_id, "m.room.create")
        content = power["content"] if power else {}
        needed = content.get("events", {}).get("m.room.canonical_alias",
                                                 content.get("state_default", 50))
        return power_level_of(user_id, content, create, version) >= needed

    def check_alias_not_reserved(self, user_id: UserId, alias: str, *,
                                 appservice_id: str | None = None) -> None:
        """Spec: M_EXCLUSIVE for aliases an application service claims, unless it is theirs,
        and for aliases outside the namespaces of the service making the request."""
        service = self._appservices.by_id(appservice_id) if appservice_id else None
        if service is not None and not service.owns_alias(alias):
            raise errors.MatrixError(400, "M_EXCLUSIVE",
                                     "That alias is outside the application service's namespace.")
        owner = self._appservices.exclusive_alias_owner(alias)
        if owner is not None and not owner.owns_user(user_id):
            raise errors.MatrixError(400, "M_EXCLUSIVE",
                                     "That alias is reserved by an application service.")

    def _check_local(self, alias: str) -> None:
        if not alias.endswith(":" + self._server_name):
            raise errors.invalid_param("Aliases must be on this server.")

    # public room list ----------------------------------------------------------------
    def visibility(self, room_id: RoomId) -> str:
        self._events.version(room_id)
        return "public" if self._rooms.is_public(room_id) else "private"

    def set_visibility(self, user_id: UserId, room_id: RoomId, visibility: str) -> None:
        self._events.version(room_id)
        if not self._can_moderate(room_id, user_id):
            raise errors.forbidden("You may not change this room's directory listing.")
        with self._db.transaction():
            self._rooms.set_public(room_id, visibility == "public")

    def publish(self, service_id: str, network_id: str, room_id: RoomId, public: bool) -> None:
        """List or unlist a room in an application service's network directory, which is
        apart from the server's own (spec: application service API, published room
        directories); no power check, as the service is trusted."""
        self._events.version(room_id)
        with self._db.transaction():
            self._rooms.set_network_listing(service_id, network_id, room_id, public)

    def public_rooms_query(self, query: JsonDict, body: JsonDict | None) -> JsonDict:
        """GET (query string) or POST (body with `filter`) /publicRooms, for clients and servers."""
        if body is None:
            return self.public_rooms(limit=query.get("limit"), since=query.get("since"),
                                     search=None)
        search = (body.get("filter") or {}).get("generic_search_term")
        return self.public_rooms(limit=body.get("limit"), since=body.get("since"), search=search,
                                 all_networks=body.get("include_all_networks") is True,
                                 network=body.get("third_party_instance_id"))

    def _listed_rooms(self, all_networks: bool, network: str | None) -> list[RoomId]:
        """The server's directory, every network's too, or one network's only."""
        if network and not all_networks:
            return self._rooms.network_rooms(network)
        rooms = self._rooms.public_rooms()
        if all_networks:
            listed = set(rooms)
            rooms += [r for r in self._rooms.network_rooms() if r not in listed]
        return rooms

    def public_rooms(self, *, limit: int | None, since: str | None,
                     search: str | None, all_networks: bool = False,
                     network: str | None = None) -> JsonDict:
        chunks = [self.room_chunk(r) for r in self._listed_rooms(all_networks, network)]
        if search:
            needle = search.lower()
            chunks = [c for c in chunks if needle in (c.get("name", "") + " " +
                      c.get("topic", "") + " " + c.get("canonical_alias", "")).lower()]
        chunks.sort(key=lambda c: -c["num_joined_members"])
        start = int(since[1:]) if since and since[1:].isdigit() else 0
        end = len(chunks) if not limit else start + limit
        body: JsonDict = {"chunk": chunks[start:end], "total_room_count_estimate": len(chunks)}
        if end < len(chunks):
            body["next_batch"] = f"n{end}"
        if start > 0:
            body["prev_batch"] = f"n{max(0, start - (limit or start))}"
        return body

    def room_chunk(self, room_id: RoomId) -> JsonDict:
        """The room as the published room directory lists it (also used by space summaries)."""
        chunk: JsonDict = {
            "room_id": room_id,
            "num_joined_members": len(self._events.state.joined_members(room_id)),
            "world_readable": False, "guest_can_join": False,
        }
        fields = {"m.room.name": ("name", "name"), "m.room.topic": ("topic", "topic"),
                  "m.room.canonical_alias": ("alias", "canonical_alias"),
                  "m.room.avatar": ("url", "avatar_url"),
                  "m.room.join_rules": ("join_rule", "join_rule")}
        for event_type, (key, out) in fields.items():
            pdu = self._events.current_state_event(room_id, event_type)
            if pdu and isinstance(pdu["content"].get(key), str):
                chunk[out] = pdu["content"][key]
        hv = self._events.current_state_event(room_id, "m.room.history_visibility")
        chunk["world_readable"] = bool(hv and hv["content"].get("history_visibility") == "world_readable")
        ga = self._events.current_state_event(room_id, "m.room.guest_access")
        chunk["guest_can_join"] = bool(ga and ga["content"].get("guest_access") == "can_join")
        create = self._events.current_state_event(room_id, "m.room.create")
        if create and "type" in create["content"]:
            chunk["room_type"] = create["content"]["type"]
        return chunk
