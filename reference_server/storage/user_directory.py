# SPDX-License-Identifier: Apache-2.0
"""The reads the user directory needs: who is joined where, and which rooms are open."""
from __future__ import annotations

import json

from ..types import JsonDict, RoomId, UserId
from .database import Database

_OPENNESS_TYPES = ("m.room.join_rules", "m.room.history_visibility")


class UserDirectoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def openness_state(self) -> list[tuple[RoomId, str, JsonDict]]:
        """(room, type, content) of every room's current join rules and history visibility."""
        rows = self._db.all(
            "SELECT cs.room_id, cs.type, e.json FROM current_state cs"
            " JOIN events e ON e.event_id = cs.event_id"
            " WHERE cs.state_key = '' AND cs.type IN (?, ?)", _OPENNESS_TYPES)
        return [(r["room_id"], r["type"], json.loads(r["json"]).get("content") or {})
                for r in rows]

    def joined_rooms(self, user_id: UserId) -> set[RoomId]:
        rows = self._db.all("SELECT room_id FROM memberships WHERE user_id = ?"
                            " AND membership = 'join'", (user_id,))
        return {r["room_id"] for r in rows}

    def joined_members(self) -> list[tuple[RoomId, UserId, JsonDict]]:
        """(room, user, member event content) for every joined membership."""
        rows = self._db.all(
            "SELECT m.room_id, m.user_id, e.json FROM memberships m"
            " JOIN events e ON e.event_id = m.event_id WHERE m.membership = 'join'")
        return [(r["room_id"], r["user_id"], json.loads(r["json"]).get("content") or {})
                for r in rows]
