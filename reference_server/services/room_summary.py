# SPDX-License-Identifier: Apache-2.0
"""Rooms as the space hierarchy describes them, and who may see those descriptions.

Spec (client-server, spaces; GET /hierarchy): a room is shown to a user who is joined
to it or may join it (invited, public, restricted with a condition met), when it can be
knocked on, or when its history is world-readable. Over federation (server-server,
spaces) the same question is asked of a whole server: does any of its users stand in
such a relation to the room?
"""
from __future__ import annotations

from ..types import JsonDict, RoomId, UserId
from .events import RoomEvents

SPACE = "m.space"
MAX_ORDER_LENGTH = 50


class RoomSummaries:
    def __init__(self, *, room_events: RoomEvents, room_chunk, is_resident) -> None:
        self._events = room_events
        self._room_chunk = room_chunk  # room ID -> the published-directory entry
        self._is_resident = is_resident

    def known(self, room_id: RoomId) -> bool:
        """This server is in the room and can describe it from its own state."""
        return self._is_resident(room_id)

    def summary(self, room_id: RoomId) -> JsonDict:
        """The directory entry plus the keys the hierarchy adds (version, encryption, ...)."""
        entry = dict(self._room_chunk(room_id))
        entry["join_rule"] = self._join_rule(room_id)
        entry["room_version"] = self._events.version(room_id).identifier
        encryption = self._content(room_id, "m.room.encryption").get("algorithm")
        if encryption == "m.megolm.v1.aes-sha2":
            entry["encryption"] = encryption
        allowed = self._allowed_rooms(room_id)
        if allowed:
            entry["allowed_room_ids"] = allowed
        return entry

    def children_state(self, room_id: RoomId, *, suggested_only: bool) -> list[JsonDict]:
        """The space's valid `m.space.child` events, stripped, in the spec's order;
        empty when the room is not a space."""
        if self._content(room_id, "m.room.create").get("type") != SPACE:
            return []
        children = []
        for (event_type, state_key), event_id in \
                self._events.state.current_state(room_id).items():
            if event_type != "m.space.child":
                continue
            pdu = self._events.events.get(event_id).pdu
            children.append({"type": event_type, "state_key": state_key,
                             "sender": pdu["sender"], "content": pdu["content"],
                             "origin_server_ts": pdu["origin_server_ts"]})
        return order_children(children, suggested_only=suggested_only)

    # who may see a room -----------------------------------------------------------------
    def user_may_see(self, room_id: RoomId, user_id: UserId) -> bool:
        if self._open(room_id):
            return True
        if self._membership(room_id, user_id) in ("join", "invite"):
            return True
        return any(self._membership(r, user_id) == "join" for r in self._allowed_rooms(room_id))

    def server_may_see(self, room_id: RoomId, origin: str) -> bool:
        """Some user of `origin` is joined or invited, or could join through a restricted
        rule's room that `origin` is in (the asking server filters for its users)."""
        if self._open(room_id):
            return True
        if self._server_has(room_id, origin, ("join", "invite")):
            return True
        return any(self._server_has(r, origin, ("join",)) for r in self._allowed_rooms(room_id))

    def _open(self, room_id: RoomId) -> bool:
        """Anyone may see it: public or knockable, or its history is world-readable."""
        version = self._events.version(room_id)
        rule = self._join_rule(room_id)
        if rule == "public" or (rule == "knock" and version.knock_join_rule) or \
                (rule == "knock_restricted" and version.knock_restricted_join_rule):
            return True
        return self._content(room_id, "m.room.history_visibility").get(
            "history_visibility") == "world_readable"

    def _allowed_rooms(self, room_id: RoomId) -> list[RoomId]:
        """The rooms of a restricted (or knock_restricted) join rule's `allow` list."""
        version = self._events.version(room_id)
        content = self._content(room_id, "m.room.join_rules")
        rule = content.get("join_rule")
        if not ((rule == "restricted" and version.restricted_join_rule) or
                (rule == "knock_restricted" and version.knock_restricted_join_rule)):
            return []
        allow = content.get("allow") if isinstance(content.get("allow"), list) else []
        return [entry["room_id"] for entry in allow if isinstance(entry, dict)
                and entry.get("type") == "m.room_membership"
                and isinstance(entry.get("room_id"), str)]

    def _server_has(self, room_id: RoomId, origin: str, memberships: tuple[str, ...]) -> bool:
        suffix = ":" + origin
        return any(self._membership(room_id, user) in memberships
                   for user in self._members_of(room_id) if user.endswith(suffix))

    def _members_of(self, room_id: RoomId) -> list[UserId]:
        return [key for (event_type, key) in self._events.state.current_state(room_id)
                if event_type == "m.room.member"]

    def _membership(self, room_id: RoomId, user_id: UserId) -> str | None:
        found = self._events.state.membership(room_id, user_id)
        return found[0] if found else None

    def _join_rule(self, room_id: RoomId) -> str:
        return self._content(room_id, "m.room.join_rules").get("join_rule") or "invite"

    def _content(self, room_id: RoomId, event_type: str) -> JsonDict:
        pdu = self._events.current_state_event(room_id, event_type)
        content = pdu["content"] if pdu else {}
        return content if isinstance(content, dict) else {}


def has_valid_via(child: JsonDict) -> bool:
    """Spec (m.space.child): a child without a non-empty `via` is not a child."""
    via = (child.get("content") or {}).get("via")
    return isinstance(via, list) and bool(via) and all(isinstance(s, str) for s in via)


def order_children(children: list[JsonDict], *, suggested_only: bool) -> list[JsonDict]:
    """Valid children (suggested ones only, if asked) in the spec's order: those with a
    valid `order` by it, then by the child event's timestamp, then by room ID."""
    kept = [c for c in children if has_valid_via(c) and
            (not suggested_only or (c.get("content") or {}).get("suggested") is True)]
    return sorted(kept, key=_ordering_key)


def _ordering_key(child: JsonDict) -> tuple:
    order = (child.get("content") or {}).get("order")
    valid = isinstance(order, str) and len(order) <= MAX_ORDER_LENGTH and \
        all("\x20" <= ch <= "\x7e" for ch in order)
    timestamp = child.get("origin_server_ts")
    return (0 if valid else 1, order if valid else "",
            timestamp if isinstance(timestamp, int) else 0, str(child.get("state_key")))
